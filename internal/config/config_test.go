package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// contractEnv sets the variables the contract example names.
func contractEnv(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"ALICE_KEY":         "alice-key",
		"ALICE_JWT_SECRET":  "alice-jwt-secret",
		"ALICE_PASSWORD":    "alice-password",
		"ANTHROPIC_API_KEY": "sk-ant-test",
		"OPENAI_API_KEY":    "sk-openai-test",
	} {
		t.Setenv(k, v)
	}
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", path, err)
	}
	return c
}

func TestContractExample(t *testing.T) {
	contractEnv(t)
	c := mustLoad(t, "testdata/contract.yaml")

	u := c.Upstreams[0]
	if u.Name != "orders" || len(u.Targets) != 2 || u.Targets[1].URL != "http://127.0.0.1:9002" || u.Targets[1].Weight != 100 {
		t.Errorf("upstream = %+v", u)
	}
	if u.HashOn != "header:X-User-Id" || u.Retries != 2 || !reflect.DeepEqual(u.RetryOnStatus, []int{502, 503, 504}) {
		t.Errorf("upstream balancing/retries = %q %d %v", u.HashOn, u.Retries, u.RetryOnStatus)
	}
	wantTimeouts := Timeouts{Connect: Duration(2 * time.Second), Read: Duration(time.Minute), Write: Duration(time.Minute), Total: Duration(90 * time.Second)}
	if u.Timeouts != wantTimeouts {
		t.Errorf("timeouts = %+v, want %+v (total from the default)", u.Timeouts, wantTimeouts)
	}
	if a := u.HealthCheck.Active; a == nil || a.Path != "/healthz" || a.Interval.D() != 2*time.Second || a.Healthy != 2 || a.Unhealthy != 3 {
		t.Errorf("active check = %+v", a)
	}
	if p := u.HealthCheck.Passive; p == nil || p.Unhealthy != 5 || p.Cooldown.D() != 30*time.Second {
		t.Errorf("passive check = %+v", p)
	}

	r := c.Routes[0]
	if r.Upstream != "orders" || r.AI != nil || r.Match.Headers["X-Api-Version"] != "2" || !reflect.DeepEqual(r.Match.Methods, []string{"GET", "POST"}) {
		t.Errorf("route = %+v", r)
	}
	wantPlugins := map[string]map[string]any{
		"key-auth":          {},
		"rate-limit":        {"limit": 100, "window": "1m", "by": "consumer"},
		"request-transform": {"add_headers": map[string]any{"X-Custom-Header": "Custom Value"}},
	}
	if !reflect.DeepEqual(r.Plugins, wantPlugins) {
		t.Errorf("route plugins = %#v\nwant %#v", r.Plugins, wantPlugins)
	}

	creds := c.Consumers[0].Credentials
	if creds[0].Key != "alice-key" || creds[1].Secret != "alice-jwt-secret" || creds[2].Password != "alice-password" {
		t.Errorf("credentials not expanded from the environment: %+v", creds)
	}
	if got := c.AI.Providers[0].APIKeys; !reflect.DeepEqual(got, []string{"sk-ant-test"}) {
		t.Errorf("anthropic api_keys = %v", got)
	}
	if p := c.AI.Prices["anthropic/claude-sonnet-4-5"]; p.Input != 3 || p.Output != 15 {
		t.Errorf("price = %+v", p)
	}
	if c.Storage.DSN != "sluice-data/sluice.db" || c.Redis.URL != "redis://127.0.0.1:6379/0" {
		t.Errorf("storage/redis = %+v %+v", c.Storage, c.Redis)
	}
	if c.File() != "testdata/contract.yaml" {
		t.Errorf("File() = %q", c.File())
	}
}

// The contract's example as printed has two mistakes the validator must
// catch; TestContractExample runs the corrected copy.
func TestContractExampleVerbatim(t *testing.T) {
	contractEnv(t)
	_, err := Load("testdata/contract_verbatim.yaml")
	want := "testdata/contract_verbatim.yaml:21: upstreams[0].hash_on: only used with balancer: hash (this upstream uses round_robin)\n" +
		`testdata/contract_verbatim.yaml:69: ai.models[1].targets[0].provider: provider "openai" is not defined`
	if err == nil || err.Error() != want {
		t.Errorf("Load = %v\nwant:\n%s", err, want)
	}
}

func TestContractExampleNeedsItsEnvironment(t *testing.T) {
	for _, name := range []string{"ALICE_KEY", "ALICE_JWT_SECRET", "ALICE_PASSWORD", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	_, err := Load("testdata/contract.yaml")
	var problems Problems
	if !errors.As(err, &problems) {
		t.Fatalf("Load = %v, want Problems", err)
	}
	if len(problems) != 5 {
		t.Errorf("got %d problems, want one per unset variable:\n%v", len(problems), err)
	}
	for _, p := range problems {
		if !strings.Contains(p.Message, "is not set") || p.Line == 0 {
			t.Errorf("problem %+v is not about an unset variable with its line", p)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "sluice.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load = %v, want fs.ErrNotExist", err)
	}
}

func TestEmptyDocumentsAreDefaults(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":         "",
		"comments only": "# nothing yet\n\n",
		"null":          "~\n",
		"document mark": "---\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("empty.yaml", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			want.file = "empty.yaml"
			want.lines = map[string]int{}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("Parse = %+v\nwant %+v", c, want)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Server.Listen != ":8080" || c.Server.AdminListen != "127.0.0.1:8081" || c.Storage.Driver != "sqlite" ||
		c.Log.Level != "info" || c.Log.Access != "stdout" || c.Server.MaxHeaderBytes != 32*KiB || c.Server.MaxURLBytes != 8*KiB ||
		c.Server.ReadHeaderTimeout.D() != 10*time.Second || c.Server.IdleTimeout.D() != 75*time.Second ||
		c.Server.ShutdownTimeout.D() != 30*time.Second || c.Server.TLS != nil || c.Server.H2C {
		t.Errorf("Default() = %+v", c)
	}
	if p := c.Validate(); p != nil {
		t.Errorf("Default() is invalid:\n%v", p)
	}
	if Default() == c {
		t.Error("Default returned the same Config twice")
	}
}

// TestDefaultsVersusExplicitZero checks that an absent key takes its default
// while an explicit zero (or empty list) is kept, and null acts as absent.
func TestDefaultsVersusExplicitZero(t *testing.T) {
	c, err := Parse("d.yaml", yamlLines(
		"upstreams:",
		"  - name: absent",
		`    targets: [{url: "http://a"}]`,
		"    health_check: {active: {}, passive: {}}",
		"  - name: zero",
		`    targets: [{url: "http://b", weight: 0}]`,
		"    retries: 0",
		"    retry_on_status: []",
		"    keep_alive: {max_idle: 0}",
		"  - name: nulls",
		`    targets: [{url: "http://c", weight: ~}]`,
		"    retries: ~",
		"    timeouts: ~",
		"    tls: ~",
		"routes:",
		"  - {name: r, upstream: absent, plugins: {key-auth: , cors: {}}}",
		"ai:",
		"  providers: [{name: p, type: ollama}]",
		"  models: [{name: m, targets: [{provider: p, model: llama3}]}]",
	))
	if err != nil {
		t.Fatal(err)
	}
	absent, zero, null := c.Upstreams[0], c.Upstreams[1], c.Upstreams[2]
	if absent.Retries != 2 || absent.Targets[0].Weight != 100 || len(absent.RetryOnStatus) != 3 || absent.KeepAlive.MaxIdle != 64 || absent.RetryBuffer != 64*KiB {
		t.Errorf("absent keys did not take defaults: %+v", absent)
	}
	if a := absent.HealthCheck.Active; a == nil || !reflect.DeepEqual(*a, ActiveCheck{Path: "/", Interval: Duration(5 * time.Second), Timeout: Duration(time.Second), Healthy: 2, Unhealthy: 3}) {
		t.Errorf("active: {} = %+v, want the defaults", a)
	}
	if p := absent.HealthCheck.Passive; p == nil || *p != (PassiveCheck{Unhealthy: 5, Cooldown: Duration(30 * time.Second)}) {
		t.Errorf("passive: {} = %+v, want the defaults", p)
	}
	if zero.Retries != 0 || zero.Targets[0].Weight != 0 || zero.RetryOnStatus == nil || len(zero.RetryOnStatus) != 0 || zero.KeepAlive.MaxIdle != 0 {
		t.Errorf("explicit zeros were replaced: %+v", zero)
	}
	if zero.KeepAlive.IdleTimeout.D() != time.Minute {
		t.Errorf("keep_alive.idle_timeout = %v, want the default kept beside an explicit max_idle", zero.KeepAlive.IdleTimeout)
	}
	if null.Retries != 2 || null.Targets[0].Weight != 100 || null.Timeouts.Total.D() != 90*time.Second || null.TLS != nil {
		t.Errorf("null did not act as absent: %+v", null)
	}
	if c.Upstreams[0].HealthCheck.Active == nil || zero.HealthCheck.Active != nil {
		t.Error("health checks: want on only where written")
	}
	if ka, ok := c.Routes[0].Plugins["key-auth"]; !ok || ka == nil || len(ka) != 0 {
		t.Errorf("key-auth with no value = %#v, want an empty map", ka)
	}
	if w := c.AI.Models[0].Targets[0].Weight; w != 1 {
		t.Errorf("model target weight = %d, want default 1", w)
	}
}

// TestEnvExpansionTyping checks that an expanded value is typed by what it
// expands to in typed fields, and that quoting keeps plugin values strings.
func TestEnvExpansionTyping(t *testing.T) {
	t.Setenv("N", "5")
	t.Setenv("HOST", "api.example.com")
	c, err := Parse("env.yaml", yamlLines(
		"upstreams:",
		"  - name: u",
		`    targets: [{url: "http://${HOST}:${PORT:-9001}", weight: "${N}"}]`,
		"    retries: ${N}",
		`    timeouts: {connect: "${N}s"}`,
		"routes:",
		"  - name: r",
		"    upstream: u",
		`    match: {hosts: ["${HOST}"], headers: {X-Literal: "$${HOST}", X-Dollar: "a$b"}}`,
		"    plugins:",
		"      rate-limit:",
		"        limit: ${N}", // plain: typed by its value
		`        quoted: "${N}"`,
		`        window: "${WINDOW:-1m}"`,
	))
	if err != nil {
		t.Fatal(err)
	}
	u := c.Upstreams[0]
	if u.Targets[0].URL != "http://api.example.com:9001" || u.Targets[0].Weight != 5 || u.Retries != 5 || u.Timeouts.Connect.D() != 5*time.Second {
		t.Errorf("upstream = %+v", u)
	}
	r := c.Routes[0]
	if r.Match.Hosts[0] != "api.example.com" || r.Match.Headers["X-Literal"] != "${HOST}" || r.Match.Headers["X-Dollar"] != "a$b" {
		t.Errorf("match = %+v", r.Match)
	}
	want := map[string]any{"limit": 5, "quoted": "5", "window": "1m"}
	if got := r.Plugins["rate-limit"]; !reflect.DeepEqual(got, want) {
		t.Errorf("plugin config = %#v, want %#v", got, want)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	c, err := Parse("merge.yaml", yamlLines(
		"upstreams:",
		"  - &base",
		"    name: a",
		`    targets: [{url: "http://a"}]`,
		"    timeouts: &fast {connect: 1s, total: 3s}",
		"    retries: 4",
		"  - <<: *base",
		"    name: b",
		"    timeouts: *fast",
		"    retries: 1",
		"routes:",
		"  - name: r",
		"    upstream: b",
		"    plugins: {cors: &cors {origins: [x]}}",
		"  - name: s",
		"    upstream: a",
		"    plugins: {cors: *cors}",
	))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Upstreams[1]
	if b.Name != "b" || b.Retries != 1 || b.Targets[0].URL != "http://a" || b.Timeouts.Connect.D() != time.Second || b.Timeouts.Total.D() != 3*time.Second || b.Timeouts.Read.D() != time.Minute {
		t.Errorf("merged upstream = %+v", b)
	}
	if !reflect.DeepEqual(c.Routes[0].Plugins, c.Routes[1].Plugins) {
		t.Errorf("aliased plugin configs differ: %v vs %v", c.Routes[0].Plugins, c.Routes[1].Plugins)
	}
	if got := c.Line("upstreams[1].targets[0].url"); got != 4 {
		t.Errorf("merged key line = %d, want 4 (where it is written)", got)
	}
}

func TestAliasExpansionIsBounded(t *testing.T) {
	// A "billion laughs" document: nine levels of ten aliases.
	doc := "plugins:\n  cors:\n    l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i < 9; i++ {
		doc += "    l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " ["
		doc += strings.Repeat("*l"+string(rune('0'+i-1))+", ", 9) + "*l" + string(rune('0'+i-1)) + "]\n"
	}
	_, err := Parse("laughs.yaml", []byte(doc))
	if err == nil || !strings.Contains(err.Error(), "the document expands to too many values") {
		t.Errorf("Parse = %v, want the expansion refused", err)
	}
}

func TestLine(t *testing.T) {
	contractEnv(t)
	c := mustLoad(t, "testdata/contract.yaml")
	tests := []struct {
		path string
		want int
	}{
		{"upstreams[0]", 15},
		{"upstreams[0].name", 15},
		{"upstreams[0].targets[1].url", 18},
		{"upstreams[0].retry_buffer", 15}, // default: the upstream's line
		{"routes", 29},
		{"routes[0].plugins.rate-limit.window", 41},
		{`ai.prices["anthropic/claude-sonnet-4-5"]`, 73},
		{`ai.prices["anthropic/claude-sonnet-4-5"].input`, 73},
		{"nosuch", 0},
		{"", 0},
		{`ai.prices["unterminated`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := c.Line(tt.path); got != tt.want {
				t.Errorf("Line(%q) = %d, want %d", tt.path, got, tt.want)
			}
		})
	}
	if Default().Line("server.listen") != 0 || (*Config)(nil).Line("server") != 0 {
		t.Error("Line on a config not from a file: want 0")
	}
}

func TestTrustedProxiesNormalised(t *testing.T) {
	c, err := Parse("p.yaml", []byte(`server: {trusted_proxies: ["10.1.2.3/8", "192.168.0.1", "2001:db8::1", "fd00::/8"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.168.0.1/32", "2001:db8::1/128", "fd00::/8"}
	if !reflect.DeepEqual(c.Server.TrustedProxies, want) {
		t.Errorf("trusted_proxies = %v, want %v", c.Server.TrustedProxies, want)
	}
}

func TestProblemsError(t *testing.T) {
	ps := Problems{
		{File: "f.yaml", Line: 9, Message: "ninth"},
		{File: "f.yaml", Line: 0, Message: "no line"},
		{File: "f.yaml", Line: 2, Message: "second a"},
		{File: "f.yaml", Line: 2, Message: "second b"},
		{Line: 3, Message: "no file"},
		{Message: "neither"},
	}
	want := "neither\nline 3: no file\nf.yaml: no line\nf.yaml:2: second a\nf.yaml:2: second b\nf.yaml:9: ninth"
	if got := ps.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if ps[0].Message != "ninth" {
		t.Error("Error() reordered the receiver")
	}
}

func TestValidateConfigBuiltInCode(t *testing.T) {
	c := Default()
	c.Upstreams = []Upstream{{Name: "u", Balancer: "round_robin", Timeouts: Timeouts{Connect: 1, Read: 1, Write: 1, Total: 1}}}
	c.Routes = []Route{{Name: "r", Upstream: "u"}, {Name: "r", Upstream: "v"}}
	want := "upstreams[0].targets: an upstream needs at least one target\n" +
		`routes[1].name: route "r" is defined twice` + "\n" +
		`routes[1].upstream: upstream "v" is not defined`
	if got := c.Validate().Error(); got != want {
		t.Errorf("Validate() =\n%s\nwant\n%s", got, want)
	}
}

// TestMarshalRoundTrip checks that exporting a config as YAML (what the
// admin API's GET /config does) gives a file that parses back to the same
// config.
func TestMarshalRoundTrip(t *testing.T) {
	c := mustLoad(t, "testdata/full.yaml")
	first, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("exported.yaml", first)
	if err != nil {
		t.Fatalf("exported config does not parse:\n%v\n%s", err, first)
	}
	second, err := yaml.Marshal(again)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Errorf("round trip changed the config:\n%s\nthen\n%s", first, second)
	}
	if again.Upstreams[0].Retries != 0 || len(again.Upstreams[0].RetryOnStatus) != 0 || again.Upstreams[0].Targets[1].Weight != 0 {
		t.Errorf("explicit zeros lost in the round trip: %+v", again.Upstreams[0])
	}
}
