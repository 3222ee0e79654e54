package admin

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// importDoc declares one API entity of every kind, and a section the
// import ignores.
const importDoc = `server:
  listen: ":9999"
upstreams:
  - name: imp-up
    targets: [{url: "http://127.0.0.1:7001"}]
routes:
  - name: imp-route
    match: {paths: [/imp]}
    upstream: imp-up
consumers:
  - name: imp-c
    groups: [gold]
    credentials:
      - {type: key-auth, key: imp-key-0123456789abcdef}
      - {type: basic-auth, username: imp-user, password: imp-password-0123456789}
plugins:
  request-size-limit: {max: 1MiB}
ai:
  providers:
    - {name: imp-prov, type: openai, api_keys: [sk-imported-provider-key-0123456789]}
  models:
    - {name: imp-model, targets: [{provider: imp-prov, model: gpt-4o}]}
`

func importReq(doc string, query string) req {
	return req{method: "POST", path: "/api/v1/config" + query, body: doc, header: map[string]string{"Content-Type": "application/yaml"}}
}

func TestConfigImport(t *testing.T) {
	e := newEnv(t, envOptions{})
	wantCreated := map[string]any{
		"upstreams": []any{"imp-up"}, "routes": []any{"imp-route"}, "consumers": []any{"imp-c"},
		"plugins": []any{"request-size-limit"}, "ai/providers": []any{"imp-prov"}, "ai/models": []any{"imp-model"},
	}

	// A dry run reports and writes nothing.
	got := e.must(http.StatusOK, importReq(importDoc, "?dry_run=true")).json(t)
	if got["dry_run"] != true || !reflect.DeepEqual(got["created"], wantCreated) || e.configVersion() != 0 {
		t.Fatalf("dry run: %v, config version %d", got, e.configVersion())
	}
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/upstreams/imp-up"})

	got = e.must(http.StatusOK, importReq(importDoc, "")).json(t)
	if !reflect.DeepEqual(got["created"], wantCreated) || !reflect.DeepEqual(got["ignored"], []any{"server"}) {
		t.Fatalf("import: %v", got)
	}
	if v := e.configVersion(); v != 1 || got["config_version"] != 1.0 {
		t.Fatalf("config version %d after one import, want 1 (one transaction)", v)
	}
	for _, p := range []string{"/api/v1/upstreams/imp-up", "/api/v1/routes/imp-route", "/api/v1/consumers/imp-c",
		"/api/v1/plugins/request-size-limit", "/api/v1/ai/providers/imp-prov", "/api/v1/ai/models/imp-model"} {
		if e.must(http.StatusOK, req{method: "GET", path: p}).json(t)["source"] != "api" {
			t.Fatalf("%s is not stored", p)
		}
	}
	// The defaults of the file format apply.
	up := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/upstreams/imp-up"}).json(t)
	if up["retries"] != 2.0 || up["targets"].([]any)[0].(map[string]any)["weight"] != 100.0 {
		t.Fatalf("imported upstream lacks defaults: %v", up)
	}
	// The credentials can be found as the gateway finds them.
	ctx := context.Background()
	if sc, err := e.store.Credentials().FindByDigest(ctx, "key-auth", e.api.keys.Digest("imp-key-0123456789abcdef")); err != nil || sc.Consumer != "imp-c" {
		t.Fatalf("imported key: %v %v", sc, err)
	}
	if got["credentials"].(map[string]any)["created"] != 2.0 {
		t.Fatalf("credentials %v", got["credentials"])
	}

	// The same document again changes nothing.
	got = e.must(http.StatusOK, importReq(importDoc, "")).json(t)
	if len(got["created"].(map[string]any)) != 0 || len(got["updated"].(map[string]any)) != 0 || e.configVersion() != 1 {
		t.Fatalf("re-import: %v, version %d", got, e.configVersion())
	}
	if c := got["credentials"].(map[string]any); c["kept"] != 2.0 || c["created"] != 0.0 {
		t.Fatalf("re-import credentials %v", c)
	}

	// A changed entity and a changed password are updated.
	doc := strings.Replace(importDoc, `targets: [{url: "http://127.0.0.1:7001"}]`, `targets: [{url: "http://127.0.0.1:7001"}]
    retries: 5`, 1)
	doc = strings.Replace(doc, "imp-password-0123456789", "imp-password-changed-99", 1)
	got = e.must(http.StatusOK, importReq(doc, "")).json(t)
	if !reflect.DeepEqual(got["updated"], map[string]any{"upstreams": []any{"imp-up"}}) || got["credentials"].(map[string]any)["replaced"] != 1.0 {
		t.Fatalf("update import: %v", got)
	}
	sc, err := e.store.Credentials().FindByDigest(ctx, "basic-auth", e.api.keys.Digest("imp-user"))
	if err != nil || !reflect.DeepEqual(sc.Secret, e.api.keys.Digest("imp-password-changed-99")) {
		t.Fatalf("password not replaced: %v", err)
	}
}

// TestConfigImportAllOrNothing checks that a document with anything wrong
// changes nothing, and that its problems name the place in the document.
func TestConfigImportAllOrNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers", body: map[string]any{"name": "owner"}})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers/owner/credentials",
		body: map[string]any{"type": "key-auth", "key": "taken-key-0123456789"}})
	before := e.configVersion()
	cases := []struct {
		name string
		doc  string
		path string
		line int
		msg  string
	}{
		{"dangling reference", `upstreams:
  - name: good-up
    targets: [{url: "http://127.0.0.1:7001"}]
routes:
  - name: good-route
    match: {paths: [/good]}
    upstream: good-up
  - name: bad-route
    match: {paths: [/bad]}
    upstream: missing-up
`, "routes[1].upstream", 10, `upstream "missing-up" is not defined`},
		{"wrong type", `upstreams:
  - name: good-up
    targets: [{url: "http://127.0.0.1:7001"}]
    retries: many
`, "upstreams[0].retries", 4, "whole number"},
		{"unknown field", `routes:
  - name: r
    upstream: file-up
    strip_pth: true
`, "routes[0].strip_pth", 4, `did you mean "strip_path"`},
		{"changed file entity", `upstreams:
  - name: new-up
    targets: [{url: "http://127.0.0.1:7001"}]
  - name: file-up
    targets: [{url: "http://127.0.0.1:1234"}]
`, "upstreams[1]", 4, "declared in the config file"},
		{"duplicate", `consumers:
  - name: twin
  - name: twin
`, "consumers[1]", 3, "already declared"},
		{"taken key", `consumers:
  - name: thief
    credentials: [{type: key-auth, key: taken-key-0123456789}]
`, "consumers[0].credentials[0]", 3, `already used by consumer "owner"`},
		{"invalid credential", `consumers:
  - name: c
    credentials: [{type: jwt, issuer: i, algorithm: RS256}]
`, "consumers[0].credentials[0].public_key", 3, "required"},
		{"masked password for nothing", `consumers:
  - name: owner
    credentials: [{type: basic-auth, username: nobody, password: "***"}]
`, "consumers[0].credentials[0]", 3, "no stored one"},
		{"unknown section", "upstream:\n  - name: x\n", "upstream", 1, `did you mean "upstreams"`},
		{"not a mapping", "- a\n- b\n", "", 1, "mapping"},
		{"two documents", "routes: []\n---\nroutes: []\n", "", 2, "single YAML document"},
		{"bad YAML", "routes: [\n", "", 0, "not valid YAML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := e.must(http.StatusBadRequest, importReq(c.doc, ""))
			ps := rep.problems(t)
			if len(ps) != 1 || ps[0].Path != c.path || ps[0].Line != c.line || !strings.Contains(ps[0].Message, c.msg) {
				t.Fatalf("problems %+v, want one at %q line %d saying %q", ps, c.path, c.line, c.msg)
			}
			if v := e.configVersion(); v != before {
				t.Fatalf("config version %d, want %d: a refused import wrote", v, before)
			}
		})
	}
	for _, p := range []string{"/api/v1/upstreams/good-up", "/api/v1/routes/good-route", "/api/v1/upstreams/new-up", "/api/v1/consumers/twin"} {
		e.must(http.StatusNotFound, req{method: "GET", path: p})
	}
}

func TestConfigExport(t *testing.T) {
	e := newEnv(t, envOptions{file: fileYAML + `
storage: {driver: postgres, dsn: "postgres://sluice:pg-password-secret@db:5432/sluice"}
redis: {url: "redis://:redis-password-secret@cache:6379/0"}
telemetry: {tracing: {headers: {Authorization: "Bearer otlp-token-secret"}}}
`})
	e.must(http.StatusOK, importReq(importDoc, ""))
	gen := e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers/imp-c/credentials",
		body: map[string]any{"type": "jwt", "issuer": "imp-app", "algorithm": "HS256"}}).json(t)

	rep := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/config"})
	out := string(rep.body)
	if !strings.HasPrefix(rep.header.Get("Content-Type"), "application/yaml") || !strings.HasPrefix(out, "# sluice config") ||
		!strings.Contains(out, `Secrets are masked`) {
		t.Fatalf("export head:\n%.400s", out)
	}
	for _, s := range []string{"file-key-plaintext-0001", "file-password-plaintext", "sk-file-provider-plaintext-key",
		"imp-key-0123456789abcdef", "imp-password-0123456789", "sk-imported-provider-key-0123456789",
		str(gen["secret"]), "pg-password-secret", "redis-password-secret", "otlp-token-secret"} {
		if strings.Contains(out, s) {
			t.Errorf("the export holds the secret %q", s)
		}
	}
	var doc struct {
		Upstreams []struct{ Name string } `yaml:"upstreams"`
		Consumers []struct {
			Name        string
			Credentials []map[string]string
		} `yaml:"consumers"`
		AI struct {
			Providers []struct {
				Name    string
				APIKeys []string `yaml:"api_keys"`
			}
		}
	}
	if err := yaml.Unmarshal(rep.body, &doc); err != nil {
		t.Fatal(err)
	}
	var ups []string
	for _, u := range doc.Upstreams {
		ups = append(ups, u.Name)
	}
	if !reflect.DeepEqual(ups, []string{"file-up", "file-up2", "imp-up"}) {
		t.Fatalf("exported upstreams %v", ups)
	}
	for _, c := range doc.Consumers {
		want := map[string]int{"file-consumer": 2, "imp-c": 3}[c.Name]
		if len(c.Credentials) != want {
			t.Fatalf("consumer %s exported with %d credentials, want %d", c.Name, len(c.Credentials), want)
		}
		for _, cr := range c.Credentials {
			for _, f := range []string{"key", "password", "secret"} {
				if v := cr[f]; v != "" && v != masked {
					t.Fatalf("consumer %s: %s = %q", c.Name, f, v)
				}
			}
		}
	}
	for _, p := range doc.AI.Providers {
		if !reflect.DeepEqual(p.APIKeys, []string{masked}) {
			t.Fatalf("provider %s keys %v", p.Name, p.APIKeys)
		}
	}
}

// TestExportImportRoundTrip imports an export unchanged: nothing changes,
// and the masked secrets keep the stored ones.
func TestExportImportRoundTrip(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(http.StatusOK, importReq(importDoc, ""))
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers/imp-c/credentials",
		body: map[string]any{"type": "jwt", "issuer": "imp-app", "algorithm": "HS256"}})
	before := e.configVersion()
	export := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/config"}).body
	got := e.must(http.StatusOK, importReq(string(export), "")).json(t)
	if len(got["created"].(map[string]any)) != 0 || len(got["updated"].(map[string]any)) != 0 {
		t.Fatalf("round trip changed entities: %v", got)
	}
	if c := got["credentials"].(map[string]any); c["created"] != 0.0 || c["replaced"] != 0.0 || c["kept"] != 3.0 {
		t.Fatalf("round trip credentials %v", c)
	}
	if v := e.configVersion(); v != before {
		t.Fatalf("config version %d, want %d", v, before)
	}
	rec, err := e.store.AIProviders().Get(context.Background(), "imp-prov")
	if err != nil || !reflect.DeepEqual(rec.Value.APIKeys, []string{"sk-imported-provider-key-0123456789"}) {
		t.Fatalf("provider keys after the round trip: %v %v", rec.Value.APIKeys, err)
	}
	// An edit of a file entity in the export is refused.
	edited := strings.Replace(string(export), "http://127.0.0.1:9001", "http://127.0.0.1:9009", 1)
	rep := e.must(http.StatusBadRequest, importReq(edited, ""))
	if ps := rep.problems(t); len(ps) != 1 || ps[0].Path != "upstreams[0]" {
		t.Fatalf("problems %+v", ps)
	}
}
