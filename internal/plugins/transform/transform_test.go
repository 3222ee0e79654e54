package transform_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	_ "github.com/sluicegw/sluice/internal/plugins/transform"
	"github.com/sluicegw/sluice/internal/testkit"
)

const routesYAML = `
routes:
  - name: api
    match: { paths: ["/api"] }
    upstream: u
  - name: special
    match: { paths: ["/special"] }
    upstream: u
    plugins:
      request-transform:
        set_headers: { X-Scope: route }
      response-transform:
        set_headers: { X-Resp-Scope: route }
plugins:
  request-transform:
    remove_headers: [X-Debug]
    rename_headers: { X-Old-Name: X-New-Name }
    set_headers:
      X-Scope: global
      X-Route: "$(route.name)"
      X-Client: "$(client.ip)"
      X-Tenant: "tenant-$(request.header.X-Tenant-Id)"
      X-Host: "$(request.header.Host)"
      X-Consumer: "$(consumer.name)"
    add_headers: { X-Custom-Header: "Custom Value" }
    remove_query: [debug]
    rename_query: { q: query }
    set_query: { source: gateway }
    add_query: { tenant: "$(request.header.X-Tenant-Id)" }
  response-transform:
    remove_headers: [X-Powered-By]
    rename_headers: { X-Upstream-Time: X-Backend-Time }
    set_headers: { X-Resp-Scope: global, X-Route: "$(route.name)" }
    add_headers: { X-Served-For: "$(request.header.X-Tenant-Id)" }
`

func node(t *testing.T, b testkit.Behavior) (*gatewaytest.Gateway, *testkit.Upstream) {
	t.Helper()
	u := testkit.Start(t, b)
	g := gatewaytest.Start(t, `upstreams:
  - name: u
    targets: [{ url: "`+u.URL+`" }]
`+routesYAML)
	return g, u
}

func TestRequestTransformThroughGateway(t *testing.T) {
	cases := []struct {
		name      string
		path      string
		hdr       map[string]string
		wantHdr   map[string]string // "" means absent
		wantQuery string
	}{
		{
			name: "global operations and templates",
			path: "/api/orders?q=shoes&debug=1&keep=%7E",
			hdr:  map[string]string{"Host": "shop.example.com", "X-Debug": "1", "X-Old-Name": "v", "X-Tenant-Id": "acme", "X-Custom-Header": "client"},
			wantHdr: map[string]string{
				"X-Debug": "", "X-Old-Name": "", "X-New-Name": "v",
				"X-Scope": "global", "X-Route": "api", "X-Client": "127.0.0.1", "X-Tenant": "tenant-acme",
				"X-Host": "shop.example.com", "X-Consumer": "",
			},
			wantQuery: "query=shoes&keep=%7E&source=gateway&tenant=acme",
		},
		{
			name:      "missing template source skips the operation",
			path:      "/api/orders",
			hdr:       map[string]string{"Host": "shop.example.com"},
			wantHdr:   map[string]string{"X-Tenant": "tenant-", "X-Consumer": ""},
			wantQuery: "source=gateway",
		},
		{
			name:      "route config overrides global",
			path:      "/special/x?q=1",
			hdr:       map[string]string{"X-Debug": "1", "X-Tenant-Id": "acme"},
			wantHdr:   map[string]string{"X-Scope": "route", "X-Debug": "1", "X-Route": "", "X-Tenant": ""},
			wantQuery: "q=1",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, u := node(t, testkit.Echo)
			resp, body := g.Get(tc.path, tc.hdr)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got := u.LastRequest()
			for k, want := range tc.wantHdr {
				vs := got.Values(k)
				switch {
				case want == "" && len(vs) > 0:
					t.Errorf("%s = %q, want absent", k, vs)
				case want != "" && (len(vs) != 1 || vs[0] != want):
					t.Errorf("%s = %q, want %q", k, vs, want)
				}
			}
			if q := got.RawQuery(); q != tc.wantQuery {
				t.Errorf("upstream query = %q, want %q", q, tc.wantQuery)
			}
		})
	}
}

// TestAddHeaderKeepsClientValue: add appends to what the client sent.
func TestAddHeaderKeepsClientValue(t *testing.T) {
	g, u := node(t, testkit.Echo)
	g.Get("/api/x", map[string]string{"X-Custom-Header": "client"})
	if got := u.LastRequest().Values("X-Custom-Header"); len(got) != 2 || got[0] != "client" || got[1] != "Custom Value" {
		t.Errorf("X-Custom-Header = %q", got)
	}
}

// TestClientCannotSuppressTransformedHeader: a header the transform writes
// reaches the upstream even when the client names it in Connection, while
// the client's own nominated hop-by-hop headers are still dropped.
func TestClientCannotSuppressTransformedHeader(t *testing.T) {
	g, u := node(t, testkit.Echo)
	head, _, err := testkit.RawRequest(t, g.Addr, "GET /api/x HTTP/1.1\r\nHost: a\r\n"+
		"Connection: keep-alive, x-scope, X-Route, X-Hop\r\nX-Hop: 1\r\nX-Scope: client\r\n\r\n")
	if err != nil || !strings.HasPrefix(head, "HTTP/1.1 200") {
		t.Fatalf("head %q: %v", head, err)
	}
	got := u.LastRequest()
	if v := got.Values("X-Scope"); len(v) != 1 || v[0] != "global" {
		t.Errorf("X-Scope = %q, want [global]", v)
	}
	if v := got.Values("X-Route"); len(v) != 1 || v[0] != "api" {
		t.Errorf("X-Route = %q, want [api]", v)
	}
	if v := got.Values("X-Hop"); len(v) != 0 {
		t.Errorf("nominated hop-by-hop X-Hop reached the upstream: %q", v)
	}
}

func TestResponseTransformThroughGateway(t *testing.T) {
	upstreamHdr := http.Header{"X-Powered-By": {"php"}, "X-Upstream-Time": {"12"}, "X-Resp-Scope": {"upstream"}}
	cases := []struct {
		name string
		path string
		want map[string]string // "" means absent
	}{
		{"global", "/api/x", map[string]string{"X-Powered-By": "", "X-Upstream-Time": "", "X-Backend-Time": "12", "X-Resp-Scope": "global", "X-Route": "api", "X-Served-For": "acme"}},
		{"route overrides global", "/special/x", map[string]string{"X-Powered-By": "php", "X-Upstream-Time": "12", "X-Resp-Scope": "route", "X-Route": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := node(t, testkit.Respond(200, upstreamHdr, "ok\n"))
			resp, _ := g.Get(tc.path, map[string]string{"X-Tenant-Id": "acme"})
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			checkResponse(t, resp.Header, tc.want)
		})
	}
}

// TestResponseTransformOnGatewayErrors: the gateway's own error answers
// pass through response-transform too, but keep their contract headers.
func TestResponseTransformOnGatewayErrors(t *testing.T) {
	g := gatewaytest.Start(t, `upstreams:
  - name: u
    targets: [{ url: "http://`+testkit.RefusingAddr(t)+`" }]
    retries: 0
`+routesYAML)
	resp, body := g.Get("/api/x", map[string]string{"X-Tenant-Id": "acme"})
	gatewaytest.CheckProblem(t, resp, body, 502, "upstream_connect_failed")
	checkResponse(t, resp.Header, map[string]string{"X-Resp-Scope": "global", "X-Route": "api", "X-Served-For": "acme"})
}

func checkResponse(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for k, w := range want {
		vs := h.Values(k)
		switch {
		case w == "" && len(vs) > 0:
			t.Errorf("%s = %q, want absent", k, vs)
		case w != "" && (len(vs) != 1 || vs[0] != w):
			t.Errorf("%s = %q, want %q", k, vs, w)
		}
	}
}
