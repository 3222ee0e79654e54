package snapshot

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/upstream"
)

func parse(t *testing.T, y string) *config.Config {
	t.Helper()
	c, err := config.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBuild(t *testing.T) {
	cfg := parse(t, `server:
  trusted_proxies: ["10.0.0.0/8", "192.0.2.1"]
upstreams:
  - name: u
    balancer: hash
    hash_on: "header:x-user-id"
    retry_on_status: [500, 503]
    targets: [{ url: "http://127.0.0.1:9" }]
routes:
  - name: r
    match: { paths: ["/api"] }
    strip_path: true
    upstream: u
`)
	reg := upstream.NewRegistry(nil)
	defer reg.Close()
	s, err := Build(cfg, reg, 7, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 7 || len(s.Routes) != 1 || s.Routes[0].Backend == nil || !s.Routes[0].StripPath {
		t.Fatalf("snapshot %+v", s)
	}
	b := s.Backends["u"]
	if b.HashOn.Kind != "header" || b.HashOn.Header != "X-User-Id" {
		t.Errorf("hash_on = %+v", b.HashOn)
	}
	if !b.RetryOnStatus.Has(500) || !b.RetryOnStatus.Has(503) || b.RetryOnStatus.Has(502) {
		t.Error("retry_on_status not compiled")
	}
	if !s.Trusted(netip.MustParseAddr("10.4.4.4")) || !s.Trusted(netip.MustParseAddr("192.0.2.1")) || s.Trusted(netip.MustParseAddr("192.0.2.2")) {
		t.Error("trusted proxies")
	}
	if m, ok := s.Router.Match("x", "/api/v1", "GET", nil); !ok || m.Index != 0 {
		t.Error("router not built")
	}
}

func TestBuildRejectsBadCAFile(t *testing.T) {
	cfg := parse(t, `upstreams:
  - name: u
    targets: [{ url: "https://127.0.0.1:9" }]
    tls: { ca_file: "/nonexistent/ca.pem" }
`)
	reg := upstream.NewRegistry(nil)
	defer reg.Close()
	_, err := Build(cfg, reg, 1, Options{})
	if err == nil || !strings.Contains(err.Error(), `upstream "u"`) || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("err = %v", err)
	}
}
