package router

import (
	"errors"
	"net/http"
	"testing"
)

// req is a request as the matcher sees it.
type req struct {
	host, path, method string
	header             http.Header
}

// matchName compiles routes, matches q and returns the name of the matched
// route ("" for none) and the matched prefix.
func matchName(t *testing.T, routes []Route, q req) (string, string) {
	t.Helper()
	r, err := Compile(routes)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	method := q.method
	if method == "" {
		method = http.MethodGet
	}
	m, ok := r.Match(q.host, q.path, method, q.header)
	if !ok {
		return "", ""
	}
	return routes[m.Index].Name, m.Prefix
}

func TestPriority(t *testing.T) {
	get := []string{http.MethodGet}
	tests := []struct {
		name   string
		routes []Route
		req    req
		want   string
	}{
		{
			name: "exact host beats wildcard host",
			routes: []Route{
				{Name: "wild", Hosts: []string{"*.example.com"}},
				{Name: "exact", Hosts: []string{"api.example.com"}},
			},
			req:  req{host: "api.example.com", path: "/x"},
			want: "exact",
		},
		{
			name: "wildcard host beats no host",
			routes: []Route{
				{Name: "any"},
				{Name: "wild", Hosts: []string{"*.example.com"}},
			},
			req:  req{host: "api.example.com", path: "/x"},
			want: "wild",
		},
		{
			name: "longer wildcard suffix wins",
			routes: []Route{
				{Name: "short", Hosts: []string{"*.example.com"}},
				{Name: "long", Hosts: []string{"*.eu.example.com"}},
			},
			req:  req{host: "a.eu.example.com", path: "/"},
			want: "long",
		},
		{
			name: "host outranks a better path",
			routes: []Route{
				{Name: "any-exact-path", Paths: []string{"=/orders/1"}},
				{Name: "host-root", Hosts: []string{"api.example.com"}},
			},
			req:  req{host: "api.example.com", path: "/orders/1"},
			want: "host-root",
		},
		{
			name: "falls through to wildcard when exact host has no path match",
			routes: []Route{
				{Name: "exact", Hosts: []string{"api.example.com"}, Paths: []string{"/a"}},
				{Name: "wild", Hosts: []string{"*.example.com"}, Paths: []string{"/b"}},
			},
			req:  req{host: "api.example.com", path: "/b"},
			want: "wild",
		},
		{
			name: "falls through to longer then shorter wildcard then any",
			routes: []Route{
				{Name: "long", Hosts: []string{"*.eu.example.com"}, Paths: []string{"/a"}},
				{Name: "short", Hosts: []string{"*.example.com"}, Paths: []string{"/b"}},
				{Name: "any", Paths: []string{"/c"}},
			},
			req:  req{host: "x.eu.example.com", path: "/c"},
			want: "any",
		},
		{
			name: "falls through when the method does not match",
			routes: []Route{
				{Name: "exact-post", Hosts: []string{"api.example.com"}, Methods: []string{"POST"}},
				{Name: "any"},
			},
			req:  req{host: "api.example.com", path: "/", method: "GET"},
			want: "any",
		},
		{
			name: "exact path beats earlier regex",
			routes: []Route{
				{Name: "regex", Paths: []string{"~^/orders/[0-9]+$"}},
				{Name: "exact", Paths: []string{"=/orders/1"}},
			},
			req:  req{path: "/orders/1"},
			want: "exact",
		},
		{
			name: "regex beats longer prefix",
			routes: []Route{
				{Name: "prefix", Paths: []string{"/orders/1"}},
				{Name: "regex", Paths: []string{"~^/orders"}},
			},
			req:  req{path: "/orders/1"},
			want: "regex",
		},
		{
			name: "longest prefix wins",
			routes: []Route{
				{Name: "short", Paths: []string{"/orders"}},
				{Name: "long", Paths: []string{"/orders/items"}},
				{Name: "root", Paths: []string{"/"}},
			},
			req:  req{path: "/orders/items/3"},
			want: "long",
		},
		{
			name: "trailing slash prefix beats bare prefix",
			routes: []Route{
				{Name: "bare", Paths: []string{"/orders"}},
				{Name: "slash", Paths: []string{"/orders/"}},
			},
			req:  req{path: "/orders/x"},
			want: "slash",
		},
		{
			name: "trailing slash prefix does not match bare path",
			routes: []Route{
				{Name: "slash", Paths: []string{"/orders/"}},
				{Name: "bare", Paths: []string{"/orders"}},
			},
			req:  req{path: "/orders"},
			want: "bare",
		},
		{
			name: "more conditions win at the same prefix",
			routes: []Route{
				{Name: "plain", Paths: []string{"/orders"}},
				{Name: "get", Paths: []string{"/orders"}, Methods: get},
			},
			req:  req{path: "/orders/1", method: "GET"},
			want: "get",
		},
		{
			name: "fewer conditions when the richer route fails",
			routes: []Route{
				{Name: "plain", Paths: []string{"/orders"}},
				{Name: "get", Paths: []string{"/orders"}, Methods: get},
			},
			req:  req{path: "/orders/1", method: "POST"},
			want: "plain",
		},
		{
			name: "two headers beat methods",
			routes: []Route{
				{Name: "method", Methods: get},
				{Name: "headers", Headers: map[string]string{"X-A": "1", "X-B": "2"}},
			},
			req:  req{path: "/", header: http.Header{"X-A": {"1"}, "X-B": {"2"}}},
			want: "headers",
		},
		{
			name: "method and header beat two headers by config order",
			routes: []Route{
				{Name: "method-header", Methods: get, Headers: map[string]string{"X-A": "1"}},
				{Name: "headers", Headers: map[string]string{"X-A": "1", "X-B": "2"}},
			},
			req:  req{path: "/", header: http.Header{"X-A": {"1"}, "X-B": {"2"}}},
			want: "method-header",
		},
		{
			name: "conditions do not beat a longer prefix",
			routes: []Route{
				{Name: "short-get", Paths: []string{"/orders"}, Methods: get},
				{Name: "long", Paths: []string{"/orders/items"}},
			},
			req:  req{path: "/orders/items"},
			want: "long",
		},
		{
			name: "config order breaks ties",
			routes: []Route{
				{Name: "first", Paths: []string{"/orders"}},
				{Name: "second", Paths: []string{"/orders"}},
			},
			req:  req{path: "/orders"},
			want: "first",
		},
		{
			name: "regexes in config order",
			routes: []Route{
				{Name: "first", Paths: []string{"~^/orders/.*"}},
				{Name: "second", Paths: []string{"~^/orders/[0-9]+$"}},
			},
			req:  req{path: "/orders/12"},
			want: "first",
		},
		{
			name: "regex with more conditions beats earlier regex",
			routes: []Route{
				{Name: "first", Paths: []string{"~^/orders/.*"}},
				{Name: "second-get", Paths: []string{"~^/orders/[0-9]+$"}, Methods: get},
			},
			req:  req{path: "/orders/12"},
			want: "second-get",
		},
		{
			name: "unanchored regex competes with anchored ones",
			routes: []Route{
				{Name: "anchored", Paths: []string{"~^/orders/"}},
				{Name: "loose-get", Paths: []string{"~[0-9]+$"}, Methods: get},
			},
			req:  req{path: "/orders/12"},
			want: "loose-get",
		},
		{
			name: "regex with failing conditions falls back to prefix",
			routes: []Route{
				{Name: "regex-post", Paths: []string{"~^/orders/[0-9]+$"}, Methods: []string{"POST"}},
				{Name: "prefix", Paths: []string{"/orders"}},
			},
			req:  req{path: "/orders/12"},
			want: "prefix",
		},
		{
			name: "exact with failing conditions falls back to regex",
			routes: []Route{
				{Name: "exact-post", Paths: []string{"=/orders/1"}, Methods: []string{"POST"}},
				{Name: "regex", Paths: []string{"~^/orders/[0-9]+$"}},
			},
			req:  req{path: "/orders/1"},
			want: "regex",
		},
		{
			name: "deeper prefix with failing conditions falls back to shorter",
			routes: []Route{
				{Name: "deep-post", Paths: []string{"/a/b/c"}, Methods: []string{"POST"}},
				{Name: "mid-post", Paths: []string{"/a/b"}, Methods: []string{"POST"}},
				{Name: "top", Paths: []string{"/a"}},
			},
			req:  req{path: "/a/b/c/d"},
			want: "top",
		},
		{
			name: "no route",
			routes: []Route{
				{Name: "a", Paths: []string{"/a"}},
				{Name: "host", Hosts: []string{"b.example.com"}},
			},
			req:  req{host: "c.example.com", path: "/b"},
			want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := matchName(t, tt.routes, tt.req); got != tt.want {
				t.Fatalf("matched %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPathSpecs(t *testing.T) {
	tests := []struct {
		name       string
		spec       string
		path       string
		wantMatch  bool
		wantPrefix string
	}{
		{"prefix matches itself", "/orders", "/orders", true, "/orders"},
		{"prefix matches with slash", "/orders", "/orders/", true, "/orders"},
		{"prefix matches below", "/orders", "/orders/1", true, "/orders"},
		{"prefix is segment aware", "/orders", "/ordersX", false, ""},
		{"prefix does not treat encoded slash as separator", "/orders", "/orders%2Fx", false, ""},
		{"slash prefix matches below", "/orders/", "/orders/x", true, "/orders/"},
		{"slash prefix matches itself", "/orders/", "/orders/", true, "/orders/"},
		{"slash prefix needs the slash", "/orders/", "/orders", false, ""},
		{"root matches everything", "/", "/anything/at/all", true, "/"},
		{"root matches root", "/", "/", true, "/"},
		{"prefix spec is canonicalised", "//orders/./v1/../", "/orders/x", true, "/orders/"},
		{"prefix spec escapes are canonicalised", "/%7euser", "/~user/x", true, "/~user"},
		{"prefix with encoded slash", "/a%2fb", "/a%2Fb/c", true, "/a%2Fb"},
		{"exact matches itself", "=/orders", "/orders", true, "/orders"},
		{"exact rejects below", "=/orders", "/orders/1", false, ""},
		{"exact rejects trailing slash", "=/orders", "/orders/", false, ""},
		{"exact spec is canonicalised", "=/a/../orders//", "/orders/", true, "/orders/"},
		{"regex anchored both ends", "~^/orders/[0-9]+$", "/orders/12", true, "/orders/12"},
		{"regex anchored both ends rejects", "~^/orders/[0-9]+$", "/orders/12/x", false, ""},
		{"regex anchored at start reports its match", "~^/orders/[0-9]+", "/orders/12/items", true, "/orders/12"},
		{"regex with partial literal segment", "~^/ord(ers)?/x", "/orders/x", true, "/orders/x"},
		{"regex literal ends inside a segment", "~^/orders/12", "/orders/123", true, "/orders/12"},
		{"regex literal ends at root", "~^/[a-z]+$", "/abc", true, "/abc"},
		{"regex case-insensitive", "~(?i)^/ORDERS", "/orders/1", true, "/orders"},
		{"regex unanchored matching mid-path", "~items$", "/orders/items", true, ""},
		{"regex unanchored matching at start", "~/orders", "/orders/1", true, "/orders"},
		{"regex sees escaped path", "~^/a%2Fb$", "/a%2Fb", true, "/a%2Fb"},
		{"regex alternation of anchors", "~^/a$|^/b$", "/b", true, "/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes := []Route{{Name: "r", Paths: []string{tt.spec}}}
			got, prefix := matchName(t, routes, req{path: tt.path})
			if (got == "r") != tt.wantMatch {
				t.Fatalf("spec %q on %q: matched=%v, want %v", tt.spec, tt.path, got == "r", tt.wantMatch)
			}
			if prefix != tt.wantPrefix {
				t.Fatalf("spec %q on %q: prefix %q, want %q", tt.spec, tt.path, prefix, tt.wantPrefix)
			}
		})
	}
}

func TestHosts(t *testing.T) {
	routes := []Route{
		{Name: "exact", Hosts: []string{"API.Example.com"}},
		{Name: "wild", Hosts: []string{"*.example.org."}},
		{Name: "v6", Hosts: []string{"[0:0::1]"}},
		{Name: "v4", Hosts: []string{"10.0.0.1"}},
	}
	tests := []struct {
		name, host, want string
	}{
		{"exact", "api.example.com", "exact"},
		{"exact upper case", "API.EXAMPLE.COM", "exact"},
		{"exact with port", "api.example.com:8443", "exact"},
		{"exact with trailing dot", "api.example.com.", "exact"},
		{"exact with trailing dot and port", "Api.Example.Com.:80", "exact"},
		{"exact is not a suffix", "x.api.example.com", ""},
		{"wildcard one level", "a.example.org", "wild"},
		{"wildcard several levels", "a.b.c.example.org", "wild"},
		{"wildcard upper case with port", "A.EXAMPLE.ORG:8080", "wild"},
		{"wildcard excludes bare domain", "example.org", ""},
		{"wildcard needs a label boundary", "xexample.org", ""},
		{"wildcard excludes empty label", ".example.org", ""},
		{"ipv6 literal", "[::1]", "v6"},
		{"ipv6 literal with port", "[::1]:8080", "v6"},
		{"ipv6 other address", "[::2]", ""},
		{"ipv4 literal with port", "10.0.0.1:80", "v4"},
		{"empty host", "", ""},
		{"malformed ipv6", "[::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := matchName(t, routes, req{host: tt.host, path: "/"}); got != tt.want {
				t.Fatalf("host %q matched %q, want %q", tt.host, got, tt.want)
			}
		})
	}
}

func TestMethodsAndHeaders(t *testing.T) {
	routes := []Route{
		{Name: "get", Paths: []string{"/m"}, Methods: []string{"get", "HEAD"}},
		{Name: "headers", Paths: []string{"/h"}, Headers: map[string]string{"x-api-version": "2", "X-Tenant": "acme"}},
	}
	tests := []struct {
		name string
		req  req
		want string
	}{
		{"method listed", req{path: "/m", method: "GET"}, "get"},
		{"second method listed", req{path: "/m", method: "HEAD"}, "get"},
		{"method not listed", req{path: "/m", method: "POST"}, ""},
		{"methods compare exactly", req{path: "/m", method: "get"}, ""},
		{"all headers present", req{path: "/h", header: http.Header{"X-Api-Version": {"2"}, "X-Tenant": {"acme"}}}, "headers"},
		{"one of several values", req{path: "/h", header: http.Header{"X-Api-Version": {"1", "2"}, "X-Tenant": {"acme"}}}, "headers"},
		{"one header missing", req{path: "/h", header: http.Header{"X-Api-Version": {"2"}}}, ""},
		{"value differs", req{path: "/h", header: http.Header{"X-Api-Version": {"3"}, "X-Tenant": {"acme"}}}, ""},
		{"values compare case-sensitively", req{path: "/h", header: http.Header{"X-Api-Version": {"2"}, "X-Tenant": {"ACME"}}}, ""},
		{"nil header", req{path: "/h"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := matchName(t, routes, tt.req); got != tt.want {
				t.Fatalf("matched %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSeveralHostsAndPaths(t *testing.T) {
	routes := []Route{
		{Name: "multi", Hosts: []string{"a.example.com", "*.example.net"}, Paths: []string{"/one", "=/two"}},
		{Name: "fallback"},
	}
	tests := []struct {
		name, host, path, want string
	}{
		{"first host first path", "a.example.com", "/one/x", "multi"},
		{"first host second path", "a.example.com", "/two", "multi"},
		{"second host first path", "b.example.net", "/one", "multi"},
		{"second host second path", "b.example.net", "/two", "multi"},
		{"host without path", "a.example.com", "/three", "fallback"},
		{"path without host", "a.example.org", "/one", "fallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := matchName(t, routes, req{host: tt.host, path: tt.path}); got != tt.want {
				t.Fatalf("matched %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMatchEdges(t *testing.T) {
	var nilRouter *Router
	if _, ok := nilRouter.Match("a", "/", "GET", nil); ok {
		t.Fatal("nil router matched")
	}
	r, err := Compile(nil)
	if err != nil {
		t.Fatalf("Compile(nil): %v", err)
	}
	if _, ok := r.Match("a", "/", "GET", nil); ok {
		t.Fatal("empty router matched")
	}
	r, err = Compile([]Route{{Name: "root"}})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	for _, p := range []string{"", "relative"} {
		if _, ok := r.Match("a", p, "GET", nil); ok {
			t.Fatalf("path %q matched", p)
		}
	}
}

func TestStripPrefix(t *testing.T) {
	tests := []struct {
		name, path, prefix, want string
	}{
		{"below prefix", "/orders/1", "/orders", "/1"},
		{"prefix itself", "/orders", "/orders", "/"},
		{"prefix with trailing slash", "/orders/", "/orders", "/"},
		{"slash prefix below", "/orders/1", "/orders/", "/1"},
		{"slash prefix itself", "/orders/", "/orders/", "/"},
		{"root prefix", "/a/b", "/", "/a/b"},
		{"root itself", "/", "/", "/"},
		{"exact match", "/a/b", "/a/b", "/"},
		{"prefix ends inside a segment", "/orders/123/x", "/orders/12", "/123/x"},
		{"prefix ends inside first segment", "/orders", "/ord", "/orders"},
		{"not a prefix", "/users/1", "/orders", "/users/1"},
		{"empty prefix", "/users/1", "", "/users/1"},
		{"deep", "/a/b/c/d", "/a/b", "/c/d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StripPrefix(tt.path, tt.prefix); got != tt.want {
				t.Fatalf("StripPrefix(%q, %q) = %q, want %q", tt.path, tt.prefix, got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name      string
		route     Route
		wantField string
		wantItem  int
		wantIs    error
	}{
		{"host with port", Route{Hosts: []string{"a.com:80"}}, "hosts", 0, nil},
		{"empty host", Route{Hosts: []string{"ok.com", ""}}, "hosts", 1, nil},
		{"bare star", Route{Hosts: []string{"*"}}, "hosts", 0, nil},
		{"star inside", Route{Hosts: []string{"a.*.com"}}, "hosts", 0, nil},
		{"star not whole label", Route{Hosts: []string{"*a.com"}}, "hosts", 0, nil},
		{"wildcard without domain", Route{Hosts: []string{"*."}}, "hosts", 0, nil},
		{"empty label", Route{Hosts: []string{"a..com"}}, "hosts", 0, nil},
		{"bad host byte", Route{Hosts: []string{"a b.com"}}, "hosts", 0, nil},
		{"ipv6 with port", Route{Hosts: []string{"[::1]:80"}}, "hosts", 0, nil},
		{"ipv6 with zone", Route{Hosts: []string{"[fe80::1%eth0]"}}, "hosts", 0, nil},
		{"bracketed ipv4", Route{Hosts: []string{"[10.0.0.1]"}}, "hosts", 0, nil},
		{"empty path", Route{Paths: []string{""}}, "paths", 0, ErrPathNotAbsolute},
		{"relative path", Route{Paths: []string{"/ok", "orders"}}, "paths", 1, ErrPathNotAbsolute},
		{"empty exact", Route{Paths: []string{"="}}, "paths", 0, ErrPathNotAbsolute},
		{"bad escape", Route{Paths: []string{"/a%zz"}}, "paths", 0, ErrMalformedEscape},
		{"disguised dot segment", Route{Paths: []string{"=/a/..;/b"}}, "paths", 0, ErrDisguisedDotSegment},
		{"query in path", Route{Paths: []string{"/a?b=1"}}, "paths", 0, nil},
		{"empty regex", Route{Paths: []string{"~"}}, "paths", 0, nil},
		{"bad regex", Route{Paths: []string{"~^/(a"}}, "paths", 0, nil},
		{"anchored regex without slash", Route{Paths: []string{"~^orders"}}, "paths", 0, nil},
		{"empty method", Route{Methods: []string{"GET", ""}}, "methods", 1, nil},
		{"bad method", Route{Methods: []string{"GE T"}}, "methods", 0, nil},
		{"bad header name", Route{Headers: map[string]string{"X A": "1"}}, "headers", -1, nil},
		{"host header", Route{Headers: map[string]string{"host": "a.com"}}, "headers", -1, nil},
		{"header value with newline", Route{Headers: map[string]string{"X-A": "1\r\nX-B: 2"}}, "headers", -1, nil},
		{"header value with padding", Route{Headers: map[string]string{"X-A": " 1"}}, "headers", -1, nil},
		{"header twice", Route{Headers: map[string]string{"X-A": "1", "x-a": "2"}}, "headers", -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.route.Name = "bad"
			_, err := Compile([]Route{{Name: "good"}, tt.route})
			if err == nil {
				t.Fatal("Compile succeeded, want an error")
			}
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *CompileError", err)
			}
			if ce.Index != 1 || ce.Route != "bad" || ce.Field != tt.wantField || ce.Item != tt.wantItem {
				t.Fatalf("error %+v, want route 1 %q, field %s, item %d", ce, "bad", tt.wantField, tt.wantItem)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("error %v does not wrap %v", err, tt.wantIs)
			}
			t.Log(err)
		})
	}
}

func TestCompileReportsEveryProblem(t *testing.T) {
	_, err := Compile([]Route{
		{Name: "a", Hosts: []string{"a.com:1"}, Paths: []string{"x"}},
		{Name: "ok"},
		{Hosts: []string{"*"}},
	})
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %v does not join several errors", err)
	}
	var got []string
	for _, e := range joined.Unwrap() {
		var ce *CompileError
		if !errors.As(e, &ce) {
			t.Fatalf("error %v is not a *CompileError", e)
		}
		got = append(got, ce.Error())
	}
	want := []string{
		`route "a": hosts[0] "a.com:1": host must not carry a port`,
		`route "a": paths[0] "x": invalid request path: does not begin with /: "x"`,
		`route #2: hosts[0] "*": "*" is not a host; leave hosts empty to match any host`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors %q, want %q", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("error %d = %s, want %s", i, got[i], want[i])
		}
	}
}
