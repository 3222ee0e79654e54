package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// concretePath fills a route pattern's wildcards with placeholder values.
func concretePath(pattern string) string {
	r := strings.NewReplacer("{name...}", "some/model", "{name}", "some-name", "{id}", "some-id")
	return r.Replace(pattern)
}

// TestEveryRouteRejectsUnauthenticated enumerates the route table and
// checks that every route but /healthz and /login answers 401 to a call
// without credentials, with a bad bearer token, and with an unknown
// session cookie.
func TestEveryRouteRejectsUnauthenticated(t *testing.T) {
	e := newEnv(t, envOptions{})
	routes := e.api.routes()
	if len(routes) < 40 {
		t.Fatalf("only %d routes; the table looks incomplete", len(routes))
	}
	seen := map[string]bool{}
	for _, rt := range routes {
		key := rt.method + " " + rt.pattern
		if seen[key] {
			t.Fatalf("route %s is declared twice", key)
		}
		seen[key] = true
		t.Run(key, func(t *testing.T) {
			path := concretePath(rt.pattern)
			if rt.public {
				if rt.pattern != "/healthz" && rt.pattern != "/api/v1/login" {
					t.Fatalf("route %s is public; only /healthz and /api/v1/login may be", key)
				}
				rep := e.do(req{method: rt.method, path: path, noAuth: true, body: "{}"})
				if rep.status == http.StatusUnauthorized {
					t.Fatalf("public route answered 401")
				}
				return
			}
			for _, c := range []struct {
				name string
				r    req
			}{
				{"no credentials", req{method: rt.method, path: path, noAuth: true, body: "{}"}},
				{"bad bearer token", req{method: rt.method, path: path, auth: "not-a-token", body: "{}"}},
				{"malformed authorization", req{method: rt.method, path: path, noAuth: true, body: "{}",
					header: map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}}},
				{"unknown session", req{method: rt.method, path: path, body: "{}",
					cookies: []*http.Cookie{{Name: sessionCookie, Value: "forged"}},
					header:  map[string]string{csrfHeader: "forged"}}},
			} {
				rep := e.do(c.r)
				if rep.status != http.StatusUnauthorized {
					t.Fatalf("%s: status %d, want 401\n%s", c.name, rep.status, rep.body)
				}
				if rep.code(t) != "unauthorized" || rep.header.Get("WWW-Authenticate") == "" {
					t.Fatalf("%s: code %q, WWW-Authenticate %q", c.name, rep.code(t), rep.header.Get("WWW-Authenticate"))
				}
			}
		})
	}
	// Paths outside the table do not tell an anonymous caller whether
	// they exist either.
	for _, p := range []string{"/api/v1/nothing", "/api/v2/routes", "/"} {
		if rep := e.do(req{method: "GET", path: p, noAuth: true}); rep.status != http.StatusUnauthorized {
			t.Fatalf("GET %s: status %d, want 401", p, rep.status)
		}
	}
	if rep := e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/nothing"}); rep.code(t) != "not_found" {
		t.Fatalf("code %q", rep.code(t))
	}
	// A method a path does not take is 405 naming those it does, once
	// authenticated.
	e.must(http.StatusUnauthorized, req{method: "PATCH", path: "/api/v1/routes/r", noAuth: true})
	rep := e.must(http.StatusMethodNotAllowed, req{method: "PATCH", path: "/api/v1/routes/r"})
	if rep.header.Get("Allow") != "GET, PUT, DELETE" {
		t.Fatalf("Allow %q", rep.header.Get("Allow"))
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, envOptions{})
	rep := e.must(http.StatusOK, req{method: "GET", path: "/healthz", noAuth: true})
	if string(rep.body) != "ok\n" {
		t.Fatalf("body %q", rep.body)
	}
}

func TestAdminTokenOnlyWhenConfigured(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/status", auth: testAdminToken})
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/status", auth: testAdminToken + "x"})
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/status", auth: testAdminToken[:len(testAdminToken)-1]})

	// Without SLUICE_ADMIN_TOKEN, no bearer value is the admin token, not
	// even the empty one.
	api, err := New(Options{Store: e.store, Keys: e.api.keys, Config: e.cfg})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(api.Handler())
	t.Cleanup(e.srv.Close)
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/status", auth: testAdminToken})
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/status", noAuth: true,
		header: map[string]string{"Authorization": "Bearer "}})
}

func TestNewRequiresOptions(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, c := range []struct {
		name string
		o    Options
	}{
		{"no store", Options{Keys: e.api.keys, Config: e.cfg}},
		{"no keys", Options{Store: e.store, Config: e.cfg}},
		{"no config", Options{Store: e.store, Keys: e.api.keys}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(c.o); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}
