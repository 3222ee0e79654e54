package authtest_test

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	_ "github.com/sluicegw/sluice/internal/plugins/acl"
	_ "github.com/sluicegw/sluice/internal/plugins/basicauth"
	_ "github.com/sluicegw/sluice/internal/plugins/jwtauth"
	_ "github.com/sluicegw/sluice/internal/plugins/keyauth"
	"github.com/sluicegw/sluice/internal/testkit"
)

const (
	goodKey = "good-key-6f1d2c9a8b7e"
	bobKey  = "bob-key-0a9b8c7d6e5f"
)

// bypassGateway is a node with an open /public route and key-auth on
// /private, each with its own upstream, plus a method-split /docs and an
// ACL-guarded /vault in front of the private upstream.
func bypassGateway(t *testing.T) (g *gatewaytest.Gateway, pub, priv *testkit.Upstream) {
	pub = testkit.Start(t, testkit.Echo)
	priv = testkit.Start(t, testkit.Echo)
	g = gatewaytest.Start(t, `upstreams:
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
    plugins:
      key-auth: {}
  - name: docs-read
    match: { paths: ["/docs"], methods: [GET, HEAD] }
    upstream: public
  - name: docs-write
    match: { paths: ["/docs"], methods: [POST, PUT, PATCH, DELETE] }
    upstream: private
    plugins:
      key-auth: {}
  - name: vault
    match: { paths: ["/vault"] }
    upstream: private
    plugins:
      key-auth: {}
      acl: { allow: [gold] }
consumers:
  - name: alice
    groups: [gold]
    credentials: [{ type: key-auth, key: "`+goodKey+`" }]
  - name: bob
    credentials: [{ type: key-auth, key: "`+bobKey+`" }]
`)
	return g, pub, priv
}

// TestAuthBypass sends requests that try to reach the private upstream
// without a valid key. None may: each is answered 4xx by the gateway,
// the private upstream sees nothing, and anything the public upstream
// receives has a path that does not lead to the private resource.
func TestAuthBypass(t *testing.T) {
	g, pub, priv := bypassGateway(t)
	const host = "Host: api.example\r\n"
	get := func(target, headers string) string {
		return "GET " + target + " HTTP/1.1\r\n" + host + headers + "Connection: close\r\n\r\n"
	}
	cases := []struct {
		name string
		raw  string
	}{
		// Paths.
		{"dot-dot", get("/public/../private", "")},
		{"encoded dot-dot", get("/public/%2e%2e/private", "")},
		{"upper-case encoded dot-dot", get("/public/%2E%2E/private/x", "")},
		{"encoded slash", get("/public%2f..%2fprivate", "")},
		{"encoded slash after dots", get("/public/..%2fprivate", "")},
		{"encoded backslash", get("/public/..%5cprivate", "")},
		{"raw backslash", get("/public\\..\\private", "")},
		{"double slash", get("//private", "")},
		{"triple slash", get("///private/x", "")},
		{"dot segment", get("/./private", "")},
		{"upper case", get("/PRIVATE", "")},
		{"mixed case", get("/Private/x", "")},
		{"semicolon parameter", get("/private;x=1", "")},
		{"semicolon segment", get("/private/;/x", "")},
		{"tomcat dot-dot-semicolon", get("/public/..;/private", "")},
		{"encoded semicolon", get("/public/..%3b/private", "")},
		{"encoded letter", get("/%70rivate", "")},
		{"encoded NUL", get("/private%00", "")},
		{"trailing encoded space", get("/private%20", "")},
		{"absolute form", get("http://api.example/private", "")},
		{"absolute form, other host", get("http://evil.example/private", "")},
		{"query lookalike", get("/private?/public", "")},
		{"fullwidth letter", get("/\xef\xbd\x90rivate", "")},
		// Methods.
		{"HEAD", "HEAD /private HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"},
		{"OPTIONS", "OPTIONS /private HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"},
		{"lower-case method", "get /private HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"},
		{"override to GET", "POST /private HTTP/1.1\r\n" + host + "X-HTTP-Method-Override: GET\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{"override headers on the private route", get("/private", "X-HTTP-Method-Override: OPTIONS\r\nX-HTTP-Method: OPTIONS\r\nX-Method-Override: OPTIONS\r\n")},
		{"override from an open method", get("/docs", "X-HTTP-Method-Override: DELETE\r\n")},
		{"DELETE without a key", "DELETE /docs HTTP/1.1\r\n" + host + "X-HTTP-Method-Override: GET\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.0", "GET /private HTTP/1.0\r\n\r\n"},
		// Credentials.
		{"no key", get("/private", "")},
		{"empty Authorization", get("/private", "Authorization:\r\n")},
		{"blank Authorization", get("/private", "Authorization:  \r\n")},
		{"bare Bearer", get("/private", "Authorization: Bearer\r\n")},
		{"bad then good Authorization", get("/private", "Authorization: Bearer bad\r\nAuthorization: Bearer "+goodKey+"\r\n")},
		{"good then bad Authorization", get("/private", "Authorization: Bearer "+goodKey+"\r\nAuthorization: Bearer bad\r\n")},
		{"good twice in one Authorization", get("/private", "Authorization: Bearer "+goodKey+", Bearer "+goodKey+"\r\n")},
		{"empty Authorization beside a good key", get("/private", "Authorization:\r\nX-Api-Key: "+goodKey+"\r\n")},
		{"good key and a bad one", get("/private", "X-Api-Key: "+goodKey+"\r\nX-Api-Key: bad\r\n")},
		{"two valid keys of two consumers", get("/private", "X-Api-Key: "+goodKey+"\r\nAuthorization: Bearer "+bobKey+"\r\n")},
		{"empty key beside a good one", get("/private", "X-Api-Key: "+goodKey+"\r\nX-Api-Key:\r\n")},
		{"key in the query", get("/private?x-api-key="+goodKey, "")},
		{"key in a cookie", get("/private", "Cookie: x-api-key="+goodKey+"\r\n")},
		{"key as Proxy-Authorization", get("/private", "Proxy-Authorization: Bearer "+goodKey+"\r\n")},
		{"key as Basic", get("/private", "Authorization: Basic "+goodKey+"\r\n")},
		{"key with a suffix", get("/private", "X-Api-Key: "+goodKey+"x\r\n")},
		{"key prefix", get("/private", "X-Api-Key: "+goodKey[:len(goodKey)-1]+"\r\n")},
		{"space before colon", get("/private", "X-Api-Key : "+goodKey+"\r\n")},
		{"obs-fold key", get("/private", "X-Api-Key:\r\n "+goodKey+"\r\n")},
		{"Connection names Authorization", get("/private", "Connection: Authorization\r\n")},
		{"Connection names a bad Authorization", get("/private", "Connection: keep-alive, Authorization\r\nAuthorization: Bearer bad\r\n")},
		{"Connection names X-Api-Key", get("/private", "Connection: X-Api-Key\r\nX-Api-Key: bad\r\n")},
		// A credential the client itself declares hop-by-hop is dropped
		// before auth runs: the request fails closed.
		{"Connection names a valid Authorization", "GET /private HTTP/1.1\r\n" + host + "Connection: Authorization, close\r\nAuthorization: Bearer " + goodKey + "\r\n\r\n"},
		{"spoofed X-Forwarded-For", get("/private", "X-Forwarded-For: 127.0.0.1\r\nX-Real-IP: 127.0.0.1\r\nForwarded: for=127.0.0.1\r\n")},
		{"spoofed consumer", get("/private", "X-Consumer-Name: alice\r\nX-Consumer-Groups: gold\r\n")},
		{"spoofed groups with a key outside the group", get("/vault", "X-Api-Key: "+bobKey+"\r\nX-Consumer-Groups: gold\r\n")},
		{"spoofed credential id", get("/private", "X-Credential-Identifier: alice\r\nX-Anonymous-Consumer: false\r\n")},
		{"rewrite headers", get("/public", "X-Original-URL: /private\r\nX-Rewrite-URL: /private\r\n")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			beforePub, beforePriv := pub.Hits(), priv.Hits()
			head, _, err := testkit.RawRequest(t, g.Addr, tc.raw)
			if err != nil && head == "" {
				t.Fatalf("no response: %v", err)
			}
			status := statusOf(head)
			if priv.Hits() != beforePriv {
				t.Fatalf("reached the private upstream (status %d)", status)
			}
			if pub.Hits() != beforePub {
				got := pub.LastRequest()
				if p, _ := url.PathUnescape(got.Path()); strings.Contains(strings.ToLower(p), "private") {
					t.Errorf("the public upstream was sent path %q", got.Path())
				}
				if v := got.Values("X-Consumer-Name"); len(v) > 0 {
					t.Errorf("the public upstream got X-Consumer-Name %q", v)
				}
				return
			}
			if status < 400 || status > 499 {
				t.Errorf("status %d, want a 4xx refusal (head %q)", status, head)
			}
		})
	}
}

// TestAuthBypassControls: the requests the attacks vary reach the private
// upstream with a valid key, so the suite above fails if routing or auth
// stop working rather than passing vacuously.
func TestAuthBypassControls(t *testing.T) {
	g, _, priv := bypassGateway(t)
	cases := []struct{ name, raw string }{
		{"bearer", "GET /private HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + goodKey + "\r\nConnection: close\r\n\r\n"},
		{"x-api-key", "GET /private HTTP/1.1\r\nHost: a\r\nX-Api-Key: " + goodKey + "\r\nConnection: close\r\n\r\n"},
		{"dot-dot with key", "GET /public/%2e%2e/private HTTP/1.1\r\nHost: a\r\nX-Api-Key: " + goodKey + "\r\nConnection: close\r\n\r\n"},
		{"DELETE with key", "DELETE /docs HTTP/1.1\r\nHost: a\r\nX-Api-Key: " + goodKey + "\r\nConnection: close\r\n\r\n"},
		{"vault with gold key", "GET /vault HTTP/1.1\r\nHost: a\r\nX-Api-Key: " + goodKey + "\r\nConnection: close\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := priv.Hits()
			head, _, err := testkit.RawRequest(t, g.Addr, tc.raw)
			if err != nil || statusOf(head) != 200 {
				t.Fatalf("status line %q, err %v", firstLine(head), err)
			}
			if priv.Hits() != before+1 {
				t.Fatal("the private upstream was not reached")
			}
			got := priv.LastRequest()
			if got.Get("X-Consumer-Name") != "alice" {
				t.Errorf("X-Consumer-Name = %q", got.Get("X-Consumer-Name"))
			}
			for _, f := range got.Headers {
				if strings.Contains(f.Value, goodKey) {
					t.Errorf("the key reached the upstream in %s", f.Name)
				}
			}
		})
	}
}

// TestAuthPerRequestOnKeepAlive: on one connection, a valid key on one
// request authenticates nothing after it, in either order, pipelined.
func TestAuthPerRequestOnKeepAlive(t *testing.T) {
	g, _, priv := bypassGateway(t)
	withKey := "GET /private/a HTTP/1.1\r\nHost: a\r\nX-Api-Key: " + goodKey + "\r\n\r\n"
	without := "GET /private/b HTTP/1.1\r\nHost: a\r\n\r\n"
	spoofed := "GET /private/c HTTP/1.1\r\nHost: a\r\nX-Consumer-Name: alice\r\n\r\n"
	cases := []struct {
		name string
		reqs []string
		want []int
	}{
		{"key first", []string{withKey, without, spoofed}, []int{200, 401, 401}},
		{"key last", []string{without, spoofed, withKey}, []int{401, 401, 200}},
		{"alternating", []string{withKey, without, withKey, without}, []int{200, 401, 200, 401}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := priv.Hits()
			c, err := net.Dial("tcp", g.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write([]byte(strings.Join(tc.reqs, ""))); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			oks := 0
			for i, want := range tc.want {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("response %d: %v", i, err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("response %d: status %d, want %d", i, resp.StatusCode, want)
				}
				if want == 200 {
					oks++
				}
			}
			if got := priv.Hits() - before; got != int64(oks) {
				t.Errorf("the private upstream saw %d requests, want %d", got, oks)
			}
		})
	}
}

func statusOf(head string) int {
	_, rest, _ := strings.Cut(head, " ")
	code, _, _ := strings.Cut(rest, " ")
	n := 0
	for _, c := range code {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func firstLine(head string) string {
	l, _, _ := strings.Cut(head, "\r\n")
	return l
}
