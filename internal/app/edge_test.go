package app

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/testkit"
)

// TestForwardingHeaders: forwarding headers are set by the gateway and a
// client outside trusted_proxies cannot forge them; hop-by-hop headers,
// including those named in Connection, never reach the upstream.
func TestForwardingHeaders(t *testing.T) {
	u := testkit.Start(t, testkit.Echo)
	h := startGateway(t, oneTarget("", u.URL))
	raw := "GET /h HTTP/1.1\r\nHost: api.example.com\r\n" +
		"X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\nForwarded: for=6.6.6.6\r\n" +
		"X-Real-Ip: 6.6.6.6\r\nConnection: keep-alive, X-Secret-Hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\n" +
		"Proxy-Authorization: Basic Zm9vOmJhcg==\r\nTE: trailers\r\nX-Custom: kept\r\n\r\n"
	head, _, err := testkit.RawRequest(t, h.app.ProxyAddr(), raw)
	if err != nil || !strings.HasPrefix(head, "HTTP/1.1 200") {
		t.Fatalf("response %q, %v", head, err)
	}
	got := u.LastRequest()
	want := map[string]string{
		"X-Forwarded-For":   "127.0.0.1",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Host":  "api.example.com",
		"X-Real-Ip":         "127.0.0.1",
		"X-Custom":          "kept",
		"Host":              strings.TrimPrefix(u.URL, "http://"),
	}
	for k, v := range want {
		if g := got.Get(k); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	for _, k := range []string{"Forwarded", "X-Secret-Hop", "Keep-Alive", "Proxy-Authorization", "Te"} {
		if vs := got.Values(k); len(vs) > 0 {
			t.Errorf("%s reached the upstream: %q", k, vs)
		}
	}
	if n := len(got.Values("X-Forwarded-For")); n != 1 {
		t.Errorf("X-Forwarded-For sent %d times", n)
	}
}

// TestTrustedProxyHeadersExtended: a trusted peer's X-Forwarded-For is
// extended and its scheme believed.
func TestTrustedProxyHeadersExtended(t *testing.T) {
	u := testkit.Start(t, testkit.Echo)
	h := startGateway(t, `server:
  listen: "127.0.0.1:0"
  admin_listen: "127.0.0.1:0"
  trusted_proxies: ["127.0.0.1/32"]
`+oneTarget("", u.URL))
	_, _, err := h.do("GET", "/t", nil, map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
	if err != nil {
		t.Fatal(err)
	}
	got := u.LastRequest()
	if g := got.Get("X-Forwarded-For"); g != "203.0.113.9, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q", g)
	}
	if g := got.Get("X-Forwarded-Proto"); g != "https" {
		t.Errorf("X-Forwarded-Proto = %q", g)
	}
	if g := got.Get("X-Real-Ip"); g != "203.0.113.9" {
		t.Errorf("X-Real-Ip = %q", g)
	}
}

// TestStripPathAndPreserveHost checks the route options.
func TestStripPathAndPreserveHost(t *testing.T) {
	u := testkit.Start(t, testkit.Echo)
	h := startGateway(t, `upstreams:
  - name: u
    targets: [{ url: "`+u.URL+`" }]
routes:
  - name: strip
    match: { paths: ["/svc"] }
    strip_path: true
    upstream: u
  - name: keep
    match: { paths: ["/keep"] }
    preserve_host: true
    upstream: u
`)
	cases := []struct{ path, wantPath string }{
		{"/svc/a/b?q=1", "/a/b"},
		{"/svc", "/"},
		{"/svc/", "/"},
		{"/keep/x", "/keep/x"},
	}
	for _, c := range cases {
		if resp, body, err := h.do("GET", c.path, nil, map[string]string{"Host": "front.example"}); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %s", c.path, err, body)
		}
		if got := u.LastRequest().Path(); got != c.wantPath {
			t.Errorf("%s forwarded as %q, want %q", c.path, got, c.wantPath)
		}
	}
	if got := u.LastRequest().Get("Host"); got != "front.example" {
		t.Errorf("preserve_host: Host = %q", got)
	}
	h.do("GET", "/svc/x", nil, map[string]string{"Host": "front.example"})
	if got := u.LastRequest().Get("Host"); got == "front.example" {
		t.Errorf("without preserve_host the client's Host was sent")
	}
}

// TestPathTricksOverRawTCP: every spelling of a path is routed, and
// forwarded, as its one canonical form, so no trick reaches a route other
// than the one the plain path would.
func TestPathTricksOverRawTCP(t *testing.T) {
	pub := testkit.Start(t, testkit.Echo)
	priv := testkit.Start(t, testkit.Echo)
	h := startGateway(t, `upstreams:
  - name: public
    targets: [{ url: "`+pub.URL+`" }]
  - name: private
    targets: [{ url: "`+priv.URL+`" }]
routes:
  - name: public
    match: { paths: ["/public"] }
    upstream: public
  - name: private
    match: { paths: ["/private"] }
    upstream: private
`)
	cases := []struct {
		path     string
		status   string // status line prefix
		upstream *testkit.Upstream
		wantPath string
	}{
		{"/public/x", "HTTP/1.1 200", pub, "/public/x"},
		{"/public/%2e%2e/private", "HTTP/1.1 200", priv, "/private"},
		{"/public/%2E%2E/private/a", "HTTP/1.1 200", priv, "/private/a"},
		{"/public/../private", "HTTP/1.1 200", priv, "/private"},
		{"/public/./../private", "HTTP/1.1 200", priv, "/private"},
		{"//private", "HTTP/1.1 200", priv, "/private"},
		{"/public//x", "HTTP/1.1 200", pub, "/public/x"},
		{"/%70rivate", "HTTP/1.1 200", priv, "/private"},
		{"/public%2F..%2Fprivate", "HTTP/1.1 400", nil, ""},
		{"/public%2Fx", "HTTP/1.1 404", nil, ""},
		{"/public/..;/private", "HTTP/1.1 400", nil, ""},
		{"/public/%00/x", "HTTP/1.1 400", nil, ""},
		{"/Private", "HTTP/1.1 404", nil, ""},
		{"/public/x%zz", "HTTP/1.1 400", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			beforePub, beforePriv := pub.Hits(), priv.Hits()
			head, _, err := testkit.RawRequest(t, h.app.ProxyAddr(), "GET "+c.path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(head, c.status) {
				t.Fatalf("status line %q, want %q", strings.SplitN(head, "\r\n", 2)[0], c.status)
			}
			dPub, dPriv := pub.Hits()-beforePub, priv.Hits()-beforePriv
			switch c.upstream {
			case nil:
				if dPub+dPriv != 0 {
					t.Errorf("request reached an upstream")
				}
			case pub:
				if dPub != 1 || dPriv != 0 {
					t.Errorf("hits public %d private %d, want public", dPub, dPriv)
				}
			case priv:
				if dPriv != 1 || dPub != 0 {
					t.Errorf("hits public %d private %d, want private", dPub, dPriv)
				}
			}
			if c.upstream != nil {
				if got := c.upstream.LastRequest().Path(); got != c.wantPath {
					t.Errorf("forwarded path %q, want %q", got, c.wantPath)
				}
			}
		})
	}
}

// TestSmugglingRejected: ambiguous framing never reaches an upstream.
func TestSmugglingRejected(t *testing.T) {
	u := testkit.Start(t, testkit.Echo)
	h := startGateway(t, oneTarget("", u.URL))
	cases := []struct{ name, raw, status string }{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 400"},
		{"TE not chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501"},
		{"two CLs", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "HTTP/1.1 400"},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc", "HTTP/1.1 400"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", "HTTP/1.1 400"},
		{"no host", "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400"},
		{"huge header", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 40<<10) + "\r\n\r\n", "HTTP/1.1 431"},
		{"huge url", "GET /" + strings.Repeat("a", 9<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 414"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			head, body, err := testkit.RawRequest(t, h.app.ProxyAddr(), c.raw)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(head, c.status) {
				t.Fatalf("status line %q, want %q", strings.SplitN(head, "\r\n", 2)[0], c.status)
			}
			if !strings.Contains(strings.ToLower(head), "sluice-error:") || !strings.Contains(string(body), `"code"`) {
				t.Errorf("not a gateway problem response: %q %s", head, body)
			}
		})
	}
	if u.Hits() != 0 {
		t.Fatalf("%d malformed requests reached the upstream", u.Hits())
	}
}
