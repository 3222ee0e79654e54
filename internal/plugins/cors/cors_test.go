package cors_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	_ "github.com/sluicegw/sluice/internal/plugins/cors"
	"github.com/sluicegw/sluice/internal/testkit"
)

const (
	appOrigin  = "https://app.example.com"
	evilOrigin = "https://evil.example.net"
)

// node starts a gateway with the global cors config and, on route "other"
// (paths /other), the route's own cors config when routeCORS is not "".
// The upstream answers with upstreamHeader.
func node(t *testing.T, globalCORS, routeCORS string, upstreamHeader http.Header) (*gatewaytest.Gateway, *testkit.Upstream) {
	t.Helper()
	u := testkit.Start(t, testkit.Respond(200, upstreamHeader, "ok\n"))
	other := ""
	if routeCORS != "" {
		other = "\n    plugins:\n      cors: " + routeCORS
	}
	g := gatewaytest.Start(t, `upstreams:
  - name: u
    targets: [{ url: "`+u.URL+`" }]
routes:
  - name: api
    match: { paths: ["/api"] }
    upstream: u
  - name: other
    match: { paths: ["/other"] }
    upstream: u`+other+`
plugins:
  cors: `+globalCORS+`
`)
	return g, u
}

type want struct {
	status       int
	allowOrigin  string // "" means the header must be absent
	allowCreds   string
	allowMethods string
	allowHeaders string
	expose       string
	maxAge       string
	vary         []string // tokens that must be in Vary
	noVary       bool     // Vary must not mention Origin
	upstreamHits int64
}

func TestCORSThroughGateway(t *testing.T) {
	const basic = `{ origins: ["` + appOrigin + `", "~https://[a-z0-9-]+\\.example\\.org"], methods: [GET, POST], headers: [Content-Type, X-Api-Key], exposed_headers: [X-Total-Count], max_age: 10m }`
	cases := []struct {
		name      string
		global    string
		route     string
		upstream  http.Header
		method    string
		path      string
		hdr       map[string]string
		want      want
		problem   string // gateway error code expected
		wantNoHdr []string
	}{
		{
			name: "preflight from allowed origin answered at the edge", global: basic,
			method: "OPTIONS", path: "/api/x",
			hdr: map[string]string{"Origin": appOrigin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
			want: want{status: 204, allowOrigin: appOrigin, allowMethods: "GET, POST", allowHeaders: "Content-Type, X-Api-Key",
				maxAge: "600", vary: []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"}},
		},
		{
			name: "preflight from pattern origin", global: basic,
			method: "OPTIONS", path: "/api/x",
			hdr:  map[string]string{"Origin": "https://shop.example.org", "Access-Control-Request-Method": "GET"},
			want: want{status: 204, allowOrigin: "https://shop.example.org", allowMethods: "GET, POST", allowHeaders: "Content-Type, X-Api-Key", maxAge: "600"},
		},
		{
			name: "preflight from disallowed origin refused, never forwarded", global: basic,
			method: "OPTIONS", path: "/api/x",
			hdr:     map[string]string{"Origin": evilOrigin, "Access-Control-Request-Method": "GET"},
			problem: "forbidden", want: want{status: 403},
		},
		{
			name: "pattern is anchored", global: basic,
			method: "OPTIONS", path: "/api/x",
			hdr:     map[string]string{"Origin": "https://shop.example.org.attacker.net", "Access-Control-Request-Method": "GET"},
			problem: "forbidden", want: want{status: 403},
		},
		{
			name: "preflight echoes requested headers when headers unset", global: `{ origins: ["` + appOrigin + `"], credentials: true }`,
			method: "OPTIONS", path: "/api/x",
			hdr: map[string]string{"Origin": appOrigin, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-foo, content-type"},
			want: want{status: 204, allowOrigin: appOrigin, allowCreds: "true", allowMethods: "GET, HEAD, PUT, PATCH, POST, DELETE",
				allowHeaders: "x-foo, content-type"},
		},
		{
			name: "OPTIONS without Access-Control-Request-Method is forwarded", global: basic,
			method: "OPTIONS", path: "/api/x", hdr: map[string]string{"Origin": appOrigin},
			want: want{status: 200, allowOrigin: appOrigin, expose: "X-Total-Count", vary: []string{"Origin"}, upstreamHits: 1},
		},
		{
			name: "actual request from allowed origin replaces upstream CORS headers", global: basic,
			upstream: http.Header{"Access-Control-Allow-Origin": {"*"}, "Vary": {"Accept-Encoding"}},
			method:   "GET", path: "/api/x", hdr: map[string]string{"Origin": appOrigin},
			want: want{status: 200, allowOrigin: appOrigin, expose: "X-Total-Count", vary: []string{"Accept-Encoding", "Origin"}, upstreamHits: 1},
		},
		{
			name: "actual request from disallowed origin is forwarded without CORS headers", global: basic,
			upstream: http.Header{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Credentials": {"true"}},
			method:   "GET", path: "/api/x", hdr: map[string]string{"Origin": evilOrigin},
			want:      want{status: 200, vary: []string{"Origin"}, upstreamHits: 1},
			wantNoHdr: []string{"Access-Control-Allow-Credentials", "Access-Control-Expose-Headers"},
		},
		{
			name: "request without Origin still varies", global: basic,
			method: "GET", path: "/api/x",
			want: want{status: 200, vary: []string{"Origin"}, upstreamHits: 1},
		},
		{
			name: "origin compared case-insensitively", global: basic,
			method: "GET", path: "/api/x", hdr: map[string]string{"Origin": "HTTPS://App.Example.com"},
			want: want{status: 200, allowOrigin: "HTTPS://App.Example.com", expose: "X-Total-Count", upstreamHits: 1},
		},
		{
			name: "default port in config matches origin without it", global: `{ origins: ["https://app.example.com:443"] }`,
			method: "GET", path: "/api/x", hdr: map[string]string{"Origin": appOrigin},
			want: want{status: 200, allowOrigin: appOrigin, upstreamHits: 1},
		},
		{
			name: "star without credentials answers star and does not vary", global: `{ origins: ["*"] }`,
			method: "GET", path: "/api/x", hdr: map[string]string{"Origin": evilOrigin},
			want: want{status: 200, allowOrigin: "*", noVary: true, upstreamHits: 1},
		},
		{
			name: "star with credentials echoes the exact origin", global: `{ origins: ["*"], credentials: true }`,
			method: "GET", path: "/api/x", hdr: map[string]string{"Origin": evilOrigin},
			want: want{status: 200, allowOrigin: evilOrigin, allowCreds: "true", vary: []string{"Origin"}, upstreamHits: 1},
		},
		{
			name: "star does not admit the null origin", global: `{ origins: ["*"], credentials: true }`,
			method: "OPTIONS", path: "/api/x", hdr: map[string]string{"Origin": "null", "Access-Control-Request-Method": "GET"},
			problem: "forbidden", want: want{status: 403},
		},
		{
			name: "route config overrides global", global: basic, route: `{ origins: ["https://other.example.com"] }`,
			method: "GET", path: "/other/x", hdr: map[string]string{"Origin": "https://other.example.com"},
			want: want{status: 200, allowOrigin: "https://other.example.com", upstreamHits: 1},
		},
		{
			name: "route config replaces, not merges, global origins", global: basic, route: `{ origins: ["https://other.example.com"] }`,
			method: "GET", path: "/other/x", hdr: map[string]string{"Origin": appOrigin},
			want: want{status: 200, vary: []string{"Origin"}, upstreamHits: 1},
		},
		{
			name: "global still applies to other routes", global: basic, route: `{ origins: ["https://other.example.com"] }`,
			method: "GET", path: "/api/x", hdr: map[string]string{"Origin": appOrigin},
			want: want{status: 200, allowOrigin: appOrigin, expose: "X-Total-Count", upstreamHits: 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, u := node(t, tc.global, tc.route, tc.upstream)
			resp, body := g.Do(tc.method, tc.path, nil, tc.hdr)
			if tc.problem != "" {
				gatewaytest.CheckProblem(t, resp, body, tc.want.status, tc.problem)
			} else if resp.StatusCode != tc.want.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want.status, body)
			}
			checkHeaders(t, resp.Header, tc.want)
			for _, k := range tc.wantNoHdr {
				if v, ok := resp.Header[k]; ok {
					t.Errorf("%s = %q, want absent", k, v)
				}
			}
			if u.Hits() != tc.want.upstreamHits {
				t.Errorf("upstream hits = %d, want %d", u.Hits(), tc.want.upstreamHits)
			}
			if resp.Header.Get("X-Request-Id") == "" || !strings.HasPrefix(resp.Header.Get("Server-Timing"), "gateway;dur=") {
				t.Errorf("missing edge headers: X-Request-Id %q, Server-Timing %q", resp.Header.Get("X-Request-Id"), resp.Header.Get("Server-Timing"))
			}
		})
	}
}

func checkHeaders(t *testing.T, h http.Header, w want) {
	t.Helper()
	for _, c := range []struct{ key, want string }{
		{"Access-Control-Allow-Origin", w.allowOrigin},
		{"Access-Control-Allow-Credentials", w.allowCreds},
		{"Access-Control-Allow-Methods", w.allowMethods},
		{"Access-Control-Allow-Headers", w.allowHeaders},
		{"Access-Control-Expose-Headers", w.expose},
		{"Access-Control-Max-Age", w.maxAge},
	} {
		if got := h.Values(c.key); (c.want == "" && len(got) != 0) || (c.want != "" && (len(got) != 1 || got[0] != c.want)) {
			t.Errorf("%s = %q, want %q", c.key, got, c.want)
		}
	}
	vary := varyTokens(h)
	for _, tok := range w.vary {
		if !slices.Contains(vary, tok) {
			t.Errorf("Vary %q lacks %s", h.Values("Vary"), tok)
		}
	}
	if n := count(vary, "Origin"); n > 1 || (w.noVary && n > 0) {
		t.Errorf("Vary = %q (Origin %d times, noVary %v)", h.Values("Vary"), n, w.noVary)
	}
}

func varyTokens(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Vary") {
		for tok := range strings.SplitSeq(v, ",") {
			out = append(out, strings.TrimSpace(tok))
		}
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestCORSOnGatewayErrors: an allowed origin can read the gateway's own
// error responses (here 502 from a refusing upstream), so a browser app
// sees the problem body instead of an opaque CORS failure.
func TestCORSOnGatewayErrors(t *testing.T) {
	g := gatewaytest.Start(t, `upstreams:
  - name: down
    targets: [{ url: "http://`+testkit.RefusingAddr(t)+`" }]
    retries: 0
routes:
  - name: api
    match: { paths: ["/api"] }
    upstream: down
plugins:
  cors: { origins: ["`+appOrigin+`"], credentials: true }
`)
	resp, body := g.Get("/api/x", map[string]string{"Origin": appOrigin})
	gatewaytest.CheckProblem(t, resp, body, 502, "upstream_connect_failed")
	checkHeaders(t, resp.Header, want{allowOrigin: appOrigin, allowCreds: "true", vary: []string{"Origin"}})

	resp, body = g.Get("/api/x", map[string]string{"Origin": evilOrigin})
	gatewaytest.CheckProblem(t, resp, body, 502, "upstream_connect_failed")
	checkHeaders(t, resp.Header, want{vary: []string{"Origin"}})
}

// TestPreflightLoggedAsAnswered: the edge answer is in the access log with
// its status, and the upstream is never contacted, over raw TCP too.
func TestPreflightLoggedAsAnswered(t *testing.T) {
	g, u := node(t, `{ origins: ["`+appOrigin+`"] }`, "", nil)
	head, _, err := testkit.RawRequest(t, g.Addr, "OPTIONS /api/x HTTP/1.1\r\nHost: a\r\nOrigin: "+appOrigin+
		"\r\nAccess-Control-Request-Method: DELETE\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	if err != nil || !strings.HasPrefix(head, "HTTP/1.1 204") {
		t.Fatalf("head %q, %v", head, err)
	}
	id := ""
	for line := range strings.SplitSeq(head, "\r\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && strings.EqualFold(k, "X-Request-Id") {
			id = v
		}
	}
	line := g.LogFor(id)
	if line["status"] != float64(204) || line["route"] != "api" {
		t.Errorf("access log %v", line)
	}
	if u.Hits() != 0 {
		t.Errorf("preflight reached the upstream")
	}
}
