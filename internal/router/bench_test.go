package router

import (
	"fmt"
	"net/http"
	"testing"
)

// benchRoutes returns 10 000 routes shaped like a large deployment: 1 000
// services on exact hosts with 7 prefixes each, 1 000 tenants on wildcard
// hosts, 1 000 regex routes and 1 000 exact paths on any host.
func benchRoutes() []Route {
	routes := make([]Route, 0, 10_000)
	for i := range 1000 {
		host := fmt.Sprintf("svc%d.example.com", i)
		for j := range 7 {
			rt := Route{
				Name:  fmt.Sprintf("svc%d-%d", i, j),
				Hosts: []string{host},
				Paths: []string{fmt.Sprintf("/api/v%d/res%d", j%4, j)},
			}
			if j%3 == 0 {
				rt.Methods = []string{http.MethodGet, http.MethodPost}
			}
			routes = append(routes, rt)
		}
	}
	for i := range 1000 {
		routes = append(routes, Route{
			Name:  fmt.Sprintf("tenant%d", i),
			Hosts: []string{fmt.Sprintf("*.tenant%d.example.net", i)},
			Paths: []string{"/", "/admin"},
		})
	}
	for i := range 1000 {
		routes = append(routes, Route{
			Name:  fmt.Sprintf("regex%d", i),
			Paths: []string{fmt.Sprintf("~^/orders/%d/[0-9]+$", i)},
		})
	}
	for i := range 1000 {
		routes = append(routes, Route{
			Name:  fmt.Sprintf("static%d", i),
			Paths: []string{fmt.Sprintf("=/static/%d/index.html", i)},
		})
	}
	return routes
}

// benchCases are the requests of the Match benchmarks, each with the route
// it must reach in benchRoutes.
var benchCases = []struct {
	name, host, path, want string
}{
	{"ExactHostPrefix", "svc500.example.com:8443", "/api/v2/res6/123/detail", "svc500-6"},
	{"Wildcard", "eu.app.tenant42.example.net", "/admin/users/7", "tenant42"},
	{"Regex", "unknown.example.org", "/orders/420/12345", "regex420"},
	{"ExactPath", "www.example.org", "/static/7/index.html", "static7"},
	{"Miss", "www.example.org", "/nothing/here", ""},
}

func compileBench(tb testing.TB) (*Router, []Route) {
	tb.Helper()
	routes := benchRoutes()
	r, err := Compile(routes)
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	return r, routes
}

// TestMatchDoesNotAllocate pins the allocation-free common case and checks
// that the benchmark requests reach the routes they are meant to.
func TestMatchDoesNotAllocate(t *testing.T) {
	r, routes := compileBench(t)
	h := http.Header{"Accept": {"*/*"}}
	for _, bc := range benchCases {
		t.Run(bc.name, func(t *testing.T) {
			m, ok := r.Match(bc.host, bc.path, http.MethodGet, h)
			got := ""
			if ok {
				got = routes[m.Index].Name
			}
			if got != bc.want {
				t.Fatalf("matched %q, want %q", got, bc.want)
			}
			allocs := testing.AllocsPerRun(100, func() {
				r.Match(bc.host, bc.path, http.MethodGet, h)
			})
			if allocs != 0 {
				t.Fatalf("Match allocated %v times, want 0", allocs)
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	r, _ := compileBench(b)
	h := http.Header{"Accept": {"*/*"}, "User-Agent": {"bench"}}
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Match(bc.host, bc.path, http.MethodGet, h)
			}
		})
	}
}

func BenchmarkMatchUpperCaseHost(b *testing.B) {
	r, _ := compileBench(b)
	b.ReportAllocs()
	for b.Loop() {
		r.Match("SVC500.Example.com", "/api/v2/res6/123", http.MethodGet, nil)
	}
}

func BenchmarkCompile10k(b *testing.B) {
	routes := benchRoutes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(routes); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	cases := []struct{ name, path string }{
		{"Canonical", "/api/v1/orders/12345/items"},
		{"CanonicalEscapes", "/files/a%2Fb/%E2%82%AC;v=1"},
		{"DotSegments", "/api/v1/../v2/./orders//12345/%2e%2e/items"},
		{"LowerHexEscapes", "/files/a%2fb/%e2%82%ac/%7euser"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Canonicalize(c.path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
