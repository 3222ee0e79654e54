package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestEntityCRUD runs create, read, update, list and delete through the
// API for every kind.
func TestEntityCRUD(t *testing.T) {
	cases := []struct {
		kind   Kind
		name   string
		create map[string]any
		update map[string]any
		// check is a field and the value update gives it.
		field string
		want  any
	}{
		{KindRoutes, "r1",
			map[string]any{"name": "r1", "match": map[string]any{"paths": []string{"/r1"}}, "upstream": "file-up"},
			map[string]any{"name": "r1", "match": map[string]any{"paths": []string{"/r1"}}, "upstream": "file-up2", "strip_path": true},
			"upstream", "file-up2"},
		{KindUpstreams, "u1",
			map[string]any{"name": "u1", "targets": []any{map[string]any{"url": "http://127.0.0.1:8000"}}},
			map[string]any{"name": "u1", "targets": []any{map[string]any{"url": "http://127.0.0.1:8000"}}, "retries": 3},
			"retries", 3.0},
		{KindConsumers, "c1",
			map[string]any{"name": "c1", "groups": []string{"gold"}},
			map[string]any{"groups": []string{"gold", "beta"}}, // the name comes from the path
			"groups", []any{"gold", "beta"}},
		{KindPlugins, "request-size-limit",
			map[string]any{"name": "request-size-limit", "config": map[string]any{"max": "1MiB"}},
			map[string]any{"name": "request-size-limit", "config": map[string]any{"max": "2MiB"}},
			"config", map[string]any{"max": "2MiB"}},
		{KindAIProviders, "p1",
			map[string]any{"name": "p1", "type": "openai", "api_keys": []string{"sk-test-0123456789abcdef"}},
			map[string]any{"name": "p1", "type": "openai-compatible", "base_url": "https://llm.example.com/v1",
				"api_keys": []string{"sk-test-0123456789abcdef"}},
			"base_url", "https://llm.example.com/v1"},
		{KindAIModels, "meta/llama-3",
			map[string]any{"name": "meta/llama-3", "targets": []any{map[string]any{"provider": "file-prov", "model": "llama3"}}},
			map[string]any{"name": "meta/llama-3", "targets": []any{map[string]any{"provider": "file-prov", "model": "llama3"}},
				"fallbacks": []string{"file-model"}},
			"fallbacks", []any{"file-model"}},
	}
	e := newEnv(t, envOptions{})
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			base := "/api/v1/" + string(c.kind)
			item := base + "/" + url.PathEscape(c.name)
			before := e.configVersion()

			rep := e.must(http.StatusCreated, req{method: "POST", path: base, body: c.create})
			if loc := rep.header.Get("Location"); loc != item {
				t.Fatalf("Location %q, want %q", loc, item)
			}
			got := rep.json(t)
			if got["source"] != "api" || got["version"] != 1.0 || got["created_at"] == nil || got["name"] != c.name {
				t.Fatalf("created %v", got)
			}
			if e.configVersion() <= before {
				t.Fatal("create did not bump the config version")
			}
			e.must(http.StatusConflict, req{method: "POST", path: base, body: c.create})

			rep = e.must(http.StatusOK, req{method: "GET", path: item})
			if rep.header.Get("ETag") != `"1"` {
				t.Fatalf("ETag %q", rep.header.Get("ETag"))
			}
			rep = e.must(http.StatusOK, req{method: "PUT", path: item, body: c.update})
			got = rep.json(t)
			if got["version"] != 2.0 || !reflect.DeepEqual(got[c.field], c.want) {
				t.Fatalf("updated %s = %#v (version %v), want %#v", c.field, got[c.field], got["version"], c.want)
			}
			rep = e.must(http.StatusOK, req{method: "GET", path: base})
			if names := listNames(t, rep); !slices.Contains(names, c.name) {
				t.Fatalf("list %v lacks %q", names, c.name)
			}
			e.must(http.StatusNoContent, req{method: "DELETE", path: item})
			e.must(http.StatusNotFound, req{method: "GET", path: item})
			e.must(http.StatusNotFound, req{method: "DELETE", path: item})

			// PUT creates what does not exist.
			rep = e.must(http.StatusCreated, req{method: "PUT", path: item, body: c.create})
			if rep.header.Get("Location") != item {
				t.Fatalf("Location %q", rep.header.Get("Location"))
			}
			e.must(http.StatusNoContent, req{method: "DELETE", path: item})
		})
	}
}

// listNames returns the names of a list answer, in order.
func listNames(t *testing.T, rep *reply) []string {
	t.Helper()
	var names []string
	for _, d := range rep.json(t)["data"].([]any) {
		names = append(names, d.(map[string]any)["name"].(string))
	}
	return names
}

func TestPagination(t *testing.T) {
	t.Run("store only", func(t *testing.T) {
		e := newEnv(t, envOptions{file: "log: {level: info}"})
		for i := range 5 {
			e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers", body: map[string]any{"name": fmt.Sprintf("c%d", 4-i)}})
		}
		cases := []struct {
			query string
			want  []string
		}{
			{"", []string{"c0", "c1", "c2", "c3", "c4"}},
			{"?size=2", []string{"c0", "c1"}},
			{"?size=2&offset=2", []string{"c2", "c3"}},
			{"?offset=4&size=10", []string{"c4"}},
			{"?offset=9", nil},
		}
		for _, c := range cases {
			rep := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/consumers" + c.query})
			if got := listNames(t, rep); !reflect.DeepEqual(got, c.want) || rep.json(t)["total"] != 5.0 {
				t.Fatalf("%s: %v (total %v), want %v", c.query, got, rep.json(t)["total"], c.want)
			}
		}
	})
	t.Run("file and store merged", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		for _, n := range []string{"z-up", "a-up", "g-up"} {
			e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/upstreams",
				body: map[string]any{"name": n, "targets": []any{map[string]any{"url": "http://127.0.0.1:1"}}}})
		}
		cases := []struct {
			query string
			want  []string
		}{
			{"", []string{"a-up", "file-up", "file-up2", "g-up", "z-up"}},
			{"?size=2&offset=1", []string{"file-up", "file-up2"}},
			{"?size=5&offset=3", []string{"g-up", "z-up"}},
		}
		for _, c := range cases {
			rep := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/upstreams" + c.query})
			if got := listNames(t, rep); !reflect.DeepEqual(got, c.want) || rep.json(t)["total"] != 5.0 {
				t.Fatalf("%s: %v (total %v), want %v", c.query, got, rep.json(t)["total"], c.want)
			}
		}
		rep := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/upstreams"})
		for _, d := range rep.json(t)["data"].([]any) {
			m := d.(map[string]any)
			wantSource := "api"
			if strings.HasPrefix(m["name"].(string), "file-") {
				wantSource = "file"
			}
			if m["source"] != wantSource || (wantSource == "file") != (m["version"] == nil) {
				t.Fatalf("entry %v: want source %s", m, wantSource)
			}
		}
	})
	t.Run("bad parameters", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		for _, q := range []string{"size=0", "size=1001", "size=x", "offset=-1"} {
			rep := e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/routes?" + q})
			ps := rep.problems(t)
			if len(ps) != 1 || ps[0].Path != strings.Split(q, "=")[0] {
				t.Fatalf("%s: problems %+v", q, ps)
			}
		}
	})
}

// TestFileOwnedReadOnly checks that the config file's entities are listed
// and readable, marked as the file's, and that every write to them is 409.
func TestFileOwnedReadOnly(t *testing.T) {
	e := newEnv(t, envOptions{})
	files := []struct {
		kind Kind
		name string
		body map[string]any
	}{
		{KindRoutes, "file-route", map[string]any{"name": "file-route", "match": map[string]any{"paths": []string{"/x"}}, "upstream": "file-up"}},
		{KindUpstreams, "file-up", map[string]any{"name": "file-up", "targets": []any{map[string]any{"url": "http://127.0.0.1:1"}}}},
		{KindConsumers, "file-consumer", map[string]any{"name": "file-consumer"}},
		{KindPlugins, "cors", map[string]any{"name": "cors", "config": map[string]any{}}},
		{KindAIProviders, "file-prov", map[string]any{"name": "file-prov", "type": "openai"}},
		{KindAIModels, "file-model", map[string]any{"name": "file-model", "targets": []any{map[string]any{"provider": "file-prov", "model": "m"}}}},
	}
	for _, f := range files {
		t.Run(string(f.kind), func(t *testing.T) {
			item := "/api/v1/" + string(f.kind) + "/" + f.name
			got := e.must(http.StatusOK, req{method: "GET", path: item}).json(t)
			if got["source"] != "file" || got["name"] != f.name {
				t.Fatalf("GET %s = %v", item, got)
			}
			for _, w := range []req{
				{method: "POST", path: "/api/v1/" + string(f.kind), body: f.body},
				{method: "PUT", path: item, body: f.body},
				{method: "DELETE", path: item},
			} {
				rep := e.must(http.StatusConflict, w)
				if rep.code(t) != "read_only" || !strings.Contains(string(rep.body), "config file") {
					t.Fatalf("%s %s: %s", w.method, w.path, rep.body)
				}
			}
		})
	}
	// The file consumer's credentials are listed, masked, and read-only.
	rep := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/consumers/file-consumer/credentials"})
	if strings.Contains(string(rep.body), "plaintext") || !strings.Contains(string(rep.body), `"source":"file"`) {
		t.Fatalf("file credentials: %s", rep.body)
	}
	e.must(http.StatusConflict, req{method: "POST", path: "/api/v1/consumers/file-consumer/credentials", body: map[string]any{"type": "key-auth"}})
	e.must(http.StatusConflict, req{method: "DELETE", path: "/api/v1/consumers/file-consumer/credentials/file-0"})
	// The file's provider key is masked too.
	rep = e.must(http.StatusOK, req{method: "GET", path: "/api/v1/ai/providers/file-prov"})
	if strings.Contains(string(rep.body), "sk-file-provider-plaintext-key") {
		t.Fatalf("file provider key shown: %s", rep.body)
	}
	// No file entity reached the store.
	if e.configVersion() != 0 {
		t.Fatalf("config version %d after refused writes", e.configVersion())
	}
}

// TestValidationProblemsNameFields checks that invalid bodies are 400
// with problems naming the field in the body.
func TestValidationProblemsNameFields(t *testing.T) {
	e := newEnv(t, envOptions{})
	route := func(extra map[string]any) map[string]any {
		r := map[string]any{"name": "r", "match": map[string]any{"paths": []string{"/r"}}, "upstream": "file-up"}
		for k, v := range extra {
			r[k] = v
		}
		return r
	}
	cases := []struct {
		name string
		r    req
		path string // of the first problem
		msg  string // in its message
	}{
		{"missing upstream", req{method: "POST", path: "/api/v1/routes", body: route(map[string]any{"upstream": "nope"})},
			"upstream", `upstream "nope" is not defined`},
		{"suggested upstream", req{method: "POST", path: "/api/v1/routes", body: route(map[string]any{"upstream": "file-upp"})},
			"upstream", `did you mean "file-up`},
		{"invalid regexp", req{method: "POST", path: "/api/v1/routes",
			body: route(map[string]any{"match": map[string]any{"paths": []string{"/ok", "~^/(unclosed"}}})},
			"match.paths[1]", "does not compile"},
		{"bad plugin config", req{method: "POST", path: "/api/v1/routes",
			body: route(map[string]any{"plugins": map[string]any{"cors": map[string]any{"invalid": true}}})},
			"plugins.cors.invalid", "not valid"},
		{"unknown plugin", req{method: "POST", path: "/api/v1/routes",
			body: route(map[string]any{"plugins": map[string]any{"corz": map[string]any{}}})},
			"plugins.corz", `did you mean "cors"`},
		{"unknown field", req{method: "POST", path: "/api/v1/routes", body: route(map[string]any{"upstreem": "x"})},
			"upstreem", `unknown field "upstreem" (did you mean "upstream"?)`},
		{"wrong type", req{method: "POST", path: "/api/v1/routes", body: route(map[string]any{"strip_path": "yes"})},
			"strip_path", "must be true or false"},
		{"duration without unit", req{method: "POST", path: "/api/v1/upstreams", body: map[string]any{
			"name": "u", "targets": []any{map[string]any{"url": "http://127.0.0.1:1"}}, "timeouts": map[string]any{"connect": 5}}},
			"timeouts.connect", "unit"},
		{"target weight", req{method: "POST", path: "/api/v1/upstreams", body: map[string]any{
			"name": "u", "targets": []any{map[string]any{"url": "http://127.0.0.1:1", "weight": 5000}}}},
			"targets[0].weight", "between 0 and 1000"},
		{"no name", req{method: "POST", path: "/api/v1/consumers", body: map[string]any{"groups": []string{"g"}}},
			"name", "needs a name"},
		{"bad name", req{method: "POST", path: "/api/v1/consumers", body: map[string]any{"name": "a b"}},
			"name", "may only contain"},
		{"inline credentials", req{method: "POST", path: "/api/v1/consumers", body: map[string]any{
			"name": "c", "credentials": []any{map[string]any{"type": "key-auth", "key": "k"}}}},
			"credentials", "/credentials"},
		{"name differs from path", req{method: "PUT", path: "/api/v1/consumers/a", body: map[string]any{"name": "b"}},
			"name", "differs"},
		{"model fallback", req{method: "POST", path: "/api/v1/ai/models", body: map[string]any{
			"name": "m", "targets": []any{map[string]any{"provider": "file-prov", "model": "x"}}, "fallbacks": []string{"ghost"}}},
			"fallbacks[0]", `model "ghost" is not defined`},
		{"provider header name", req{method: "POST", path: "/api/v1/ai/providers", body: map[string]any{
			"name": "p", "type": "openai", "headers": map[string]string{"bad header": "v"}}},
			`headers["bad header"]`, "not a valid header name"},
		{"global plugin name", req{method: "POST", path: "/api/v1/plugins", body: map[string]any{"name": "nonesuch", "config": map[string]any{}}},
			"name", "unknown plugin"},
		{"not JSON", req{method: "POST", path: "/api/v1/routes", body: "{"},
			"", "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := e.must(http.StatusBadRequest, c.r)
			if rep.header.Get("Content-Type") != "application/problem+json" || rep.code(t) != "bad_request" {
				t.Fatalf("answer %s: %s", rep.header.Get("Content-Type"), rep.body)
			}
			ps := rep.problems(t)
			if len(ps) == 0 || ps[0].Path != c.path || !strings.Contains(ps[0].Message, c.msg) {
				t.Fatalf("problems %+v, want the first at %q saying %q", ps, c.path, c.msg)
			}
			if ps[0].Field != firstField(c.path) {
				t.Fatalf("field %q, want %q", ps[0].Field, firstField(c.path))
			}
		})
	}
	if v := e.configVersion(); v != 0 {
		t.Fatalf("config version %d after refused writes", v)
	}
}

func TestIfMatch(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := map[string]any{"name": "c", "groups": []string{"a"}}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers", body: body})
	cases := []struct {
		name    string
		method  string
		path    string
		ifMatch string
		want    int
	}{
		{"stale version", "PUT", "/api/v1/consumers/c", `"7"`, http.StatusPreconditionFailed},
		{"current version", "PUT", "/api/v1/consumers/c", `"1"`, http.StatusOK},
		{"unquoted current", "PUT", "/api/v1/consumers/c", `2`, http.StatusOK},
		{"weak etag", "PUT", "/api/v1/consumers/c", `W/"3"`, http.StatusOK},
		{"star on existing", "PUT", "/api/v1/consumers/c", `*`, http.StatusOK},
		{"star on missing", "PUT", "/api/v1/consumers/ghost", `*`, http.StatusPreconditionFailed},
		{"garbage", "PUT", "/api/v1/consumers/c", `abc`, http.StatusBadRequest},
		{"stale delete", "DELETE", "/api/v1/consumers/c", `"1"`, http.StatusPreconditionFailed},
		{"current delete", "DELETE", "/api/v1/consumers/c", `"5"`, http.StatusNoContent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := req{method: c.method, path: c.path, header: map[string]string{"If-Match": c.ifMatch}}
			if c.method == "PUT" {
				r.body = map[string]any{"groups": []string{"a"}}
			}
			rep := e.must(c.want, r)
			if c.want == http.StatusPreconditionFailed && rep.code(t) != "precondition_failed" {
				t.Fatalf("code %q", rep.code(t))
			}
		})
	}
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/consumers/ghost"})
}

// TestDeleteInUse checks that deleting an entity another refers to is
// 409 naming the user, and that nothing is deleted.
func TestDeleteInUse(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/upstreams",
		body: map[string]any{"name": "u", "targets": []any{map[string]any{"url": "http://127.0.0.1:1"}}}})
	// The node has not caught up (the fake's Current holds only the
	// file): the check must still see the new upstream.
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/routes",
		body: map[string]any{"name": "uses-u", "match": map[string]any{"paths": []string{"/u"}}, "upstream": "u"}})
	rep := e.must(http.StatusConflict, req{method: "DELETE", path: "/api/v1/upstreams/u"})
	ps := rep.problems(t)
	if len(ps) != 1 || !strings.HasSuffix(ps[0].ConfigPath, ".upstream") || !strings.Contains(ps[0].Message, `route "uses-u"`) {
		t.Fatalf("problems %+v", ps)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/upstreams/u"})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/routes/uses-u"})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/upstreams/u"})
}

// TestProviderKeysMasked checks that AI provider keys are masked in every
// answer, and that a provider read and written back keeps its keys.
func TestProviderKeysMasked(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := "sk-live-provider-key-0123456789"
	body := map[string]any{"name": "p", "type": "openai", "api_keys": []string{key}, "headers": map[string]string{"X-Org": "org-secret-value-123"}}
	for _, rep := range []*reply{
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/ai/providers", body: body}),
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/ai/providers/p"}),
		e.must(http.StatusOK, req{method: "GET", path: "/api/v1/ai/providers"}),
	} {
		if strings.Contains(string(rep.body), key) || strings.Contains(string(rep.body), "org-secret-value-123") {
			t.Fatalf("secret in answer: %s", rep.body)
		}
	}
	got := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/ai/providers/p"}).json(t)
	delete(got, "version")
	delete(got, "created_at")
	delete(got, "updated_at")
	delete(got, "source")
	e.must(http.StatusOK, req{method: "PUT", path: "/api/v1/ai/providers/p", body: got})
	rec, err := e.store.AIProviders().Get(t.Context(), "p")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.Value.APIKeys, []string{key}) || rec.Value.Headers["X-Org"] != "org-secret-value-123" {
		t.Fatalf("secrets after a masked round trip: %v %v", rec.Value.APIKeys, rec.Value.Headers)
	}
	// A masked key standing for nothing is refused.
	rep := e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/ai/providers",
		body: map[string]any{"name": "p2", "type": "openai", "api_keys": []string{"***"}}})
	if ps := rep.problems(t); len(ps) != 1 || ps[0].Path != "api_keys[0]" {
		t.Fatalf("problems %+v", ps)
	}
}
