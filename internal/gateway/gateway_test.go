package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/snapshot"
)

func TestClientIP(t *testing.T) {
	s := &snapshot.Snapshot{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"),
	}}
	peer := netip.MustParseAddr("10.1.2.3")
	cases := []struct {
		name    string
		peer    netip.Addr
		trusted bool
		xff     []string
		want    string
	}{
		{"untrusted peer ignores xff", netip.MustParseAddr("203.0.113.5"), false, []string{"1.1.1.1"}, "203.0.113.5"},
		{"trusted, no xff", peer, true, nil, "10.1.2.3"},
		{"trusted, one hop", peer, true, []string{"198.51.100.7"}, "198.51.100.7"},
		{"rightmost untrusted wins", peer, true, []string{"6.6.6.6, 198.51.100.7, 10.9.9.9"}, "198.51.100.7"},
		{"several header lines", peer, true, []string{"6.6.6.6", "198.51.100.7, 127.0.0.1"}, "198.51.100.7"},
		{"garbage stops the walk", peer, true, []string{"6.6.6.6, junk, 10.2.2.2"}, "10.2.2.2"},
		{"all trusted", peer, true, []string{"10.5.5.5, 127.0.0.1"}, "10.5.5.5"},
		{"ipv4-mapped unmapped", peer, true, []string{"::ffff:198.51.100.9"}, "198.51.100.9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := clientIP(c.peer, c.trusted, c.xff, s); got.String() != c.want {
				t.Errorf("clientIP = %s, want %s", got, c.want)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	for _, ok := range []string{"abc", "A-b_c.d:1", strings.Repeat("a", 128)} {
		if got := requestID(ok); got != ok {
			t.Errorf("%q replaced by %q", ok, got)
		}
	}
	seen := map[string]bool{}
	for _, bad := range []string{"", "has space", "semi;colon", strings.Repeat("a", 129), "ünïcode", "new\nline"} {
		got := requestID(bad)
		if got == bad || len(got) != 32 || seen[got] {
			t.Errorf("%q gave %q", bad, got)
		}
		seen[got] = true
	}
}

func TestRawPath(t *testing.T) {
	for uri, want := range map[string]string{"/a/%2e%2e/b?x=1": "/a/%2e%2e/b", "/plain": "/plain"} {
		r := httptest.NewRequest("GET", uri, nil)
		if got := rawPath(r); got != want {
			t.Errorf("rawPath(%q) = %q, want %q", uri, got, want)
		}
	}
	r := httptest.NewRequest("GET", "http://host.example/abs/path?q", nil)
	if got := rawPath(r); got != "/abs/path" {
		t.Errorf("absolute-form: %q", got)
	}
}

func TestSanitizeRequestHeaders(t *testing.T) {
	h := http.Header{
		"X-Consumer-Name":        {"admin"},
		"X-Consumer-Groups":      {"root"},
		"X-Http-Method-Override": {"DELETE"},
		"X-Original-Url":         {"/admin"},
		"Connection":             {"keep-alive, X-Hop, Authorization"},
		"X-Hop":                  {"1"},
		"Authorization":          {"Bearer k"},
		"X-Keep":                 {"yes"},
	}
	sanitizeRequestHeaders(h)
	want := http.Header{"X-Keep": {"yes"}}
	if len(h) != len(want) || h.Get("X-Keep") != "yes" {
		t.Fatalf("after sanitising: %v", h)
	}
	h = http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}}
	sanitizeRequestHeaders(h)
	if h.Get("Connection") != "Upgrade" || h.Get("Upgrade") != "websocket" {
		t.Fatalf("upgrade request: %v", h)
	}
}
