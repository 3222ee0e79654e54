package admin

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/store"
)

// TestDecodeMatchesConfigFile checks that an entity sent as JSON decodes
// to what the same entity written in the config file parses to: the same
// defaults, everywhere they apply.
func TestDecodeMatchesConfigFile(t *testing.T) {
	cases := []struct {
		name string
		json string
		yaml string
		// get returns the entity decoded from JSON and from the file.
		get func(t *testing.T, data []byte, c *config.Config) (any, any)
	}{
		{"upstream", `{"name": "u", "targets": [{"url": "http://a:1"}, {"url": "http://b:2", "weight": 0}],
			"health_check": {"active": {"path": "/h"}, "passive": {}}, "retry_on_status": []}`,
			`upstreams: [{name: u, targets: [{url: "http://a:1"}, {url: "http://b:2", weight: 0}],
			  health_check: {active: {path: /h}, passive: {}}, retry_on_status: []}]`,
			func(t *testing.T, data []byte, c *config.Config) (any, any) {
				var v config.Upstream
				mustDecode(t, data, &v)
				return v, c.Upstreams[0]
			}},
		{"minimal upstream", `{"name": "u", "targets": [{"url": "http://a:1"}]}`,
			`upstreams: [{name: u, targets: [{url: "http://a:1"}]}]`,
			func(t *testing.T, data []byte, c *config.Config) (any, any) {
				var v config.Upstream
				mustDecode(t, data, &v)
				return v, c.Upstreams[0]
			}},
		{"model", `{"name": "m", "targets": [{"provider": "p", "model": "x"}, {"provider": "p", "model": "y", "weight": 3}]}`,
			`{ai: {providers: [{name: p, type: ollama}], models: [{name: m, targets: [{provider: p, model: x}, {provider: p, model: y, weight: 3}]}]}}`,
			func(t *testing.T, data []byte, c *config.Config) (any, any) {
				var v config.Model
				mustDecode(t, data, &v)
				return v, c.AI.Models[0]
			}},
		{"route with plugins", `{"name": "r", "upstream": "u", "match": {"paths": ["/x"], "headers": {"X-A": "1"}},
			"plugins": {"rate-limit": {"limit": 10, "window": "1s", "burst": 1.5, "keys": ["ip"]}}}`,
			`{upstreams: [{name: u, targets: [{url: "http://a:1"}]}], routes: [{name: r, upstream: u, match: {paths: [/x], headers: {X-A: "1"}},
			  plugins: {rate-limit: {limit: 10, window: 1s, burst: 1.5, keys: [ip]}}}]}`,
			func(t *testing.T, data []byte, c *config.Config) (any, any) {
				var v config.Route
				mustDecode(t, data, &v)
				return v, c.Routes[0]
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file, err := config.Parse("t.yaml", []byte(c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got, want := c.get(t, []byte(c.json), file)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded\n%#v\nthe file parses to\n%#v", got, want)
			}
		})
	}
}

func mustDecode(t *testing.T, data []byte, v any) {
	t.Helper()
	if ps := decodeJSON(data, v); len(ps) > 0 {
		t.Fatalf("problems %+v", ps)
	}
}

// TestDecodeProblems checks that every problem of a body is reported at
// once, each at its path.
func TestDecodeProblems(t *testing.T) {
	cases := []struct {
		name string
		json string
		want []string // "path: message fragment"
	}{
		{"several at once", `{"name": 5, "targets": [{"url": "http://a", "wieght": 1}, "x"], "timeouts": {"read": "soon"}, "retries": 1.5}`,
			[]string{"name: must be a string", `targets[0].wieght: unknown field "wieght" (did you mean "weight"?)`,
				"targets[1]: must be an object", "timeouts.read: ", "retries: must be a whole number"}},
		{"not an object", `[1]`, []string{": must be an object"}},
		{"trailing garbage", `{} {}`, []string{": the request body is not valid JSON"}},
		{"empty", ``, []string{": the request body is empty"}},
		{"byte size", `{"name": "u", "retry_buffer": "lots"}`, []string{"retry_buffer: "}},
		{"map of wrong values", `{"name": "u", "health_check": {"active": {"statuses": ["ok"]}}}`, []string{"health_check.active.statuses[0]: must be a whole number"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v config.Upstream
			ps := decodeJSON([]byte(c.json), &v)
			if len(ps) != len(c.want) {
				t.Fatalf("problems %+v, want %d", ps, len(c.want))
			}
			for i, p := range ps {
				path, msg, _ := strings.Cut(c.want[i], ": ")
				if p.Path != path || !strings.Contains(p.Message, msg) {
					t.Fatalf("problem %d = %+v, want at %q with %q", i, p, path, msg)
				}
			}
		})
	}
}

func TestDecodeNull(t *testing.T) {
	var v config.Upstream
	mustDecode(t, []byte(`{"name": "u", "timeouts": null, "retry_on_status": null, "tls": null}`), &v)
	if v.Timeouts.Connect == 0 || v.RetryOnStatus != nil || v.TLS != nil {
		t.Fatalf("null: timeouts %v (want the default), retry_on_status %v, tls %v", v.Timeouts, v.RetryOnStatus, v.TLS)
	}
	var p store.Plugin
	mustDecode(t, []byte(`{"name": "x", "config": {"n": 3, "f": 0.5, "nested": {"m": [1, "a", null]}}}`), &p)
	want := map[string]any{"n": 3, "f": 0.5, "nested": map[string]any{"m": []any{1, "a", nil}}}
	if !reflect.DeepEqual(p.Config, want) {
		t.Fatalf("plugin config %#v", p.Config)
	}
}

func TestSameValue(t *testing.T) {
	cases := []struct {
		name string
		a, b any
		want bool
	}{
		{"nil and empty list", config.Route{Name: "r"}, config.Route{Name: "r", Match: config.RouteMatch{Paths: []string{}}}, true},
		{"int and float", map[string]any{"n": 3}, map[string]any{"n": 3.0}, true},
		{"enabled plugin", config.Route{Plugins: map[string]map[string]any{"cors": {}}}, config.Route{}, false},
		{"different values", config.Route{Name: "a"}, config.Route{Name: "b"}, false},
		{"pointer", config.Upstream{TLS: &config.UpstreamTLS{}}, config.Upstream{}, false},
		{"durations", config.Timeouts{Read: 1}, config.Timeouts{Read: 2}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := same(c.a, c.b); got != c.want {
				t.Fatalf("same = %v, want %v", got, c.want)
			}
		})
	}
}
