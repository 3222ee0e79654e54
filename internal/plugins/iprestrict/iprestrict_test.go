package iprestrict_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/plugins/iprestrict"
	"github.com/sluicegw/sluice/internal/testkit"
)

// gatewayYAML is a node with routes /open and /closed on one upstream;
// the client connects from 127.0.0.1.
func gatewayYAML(trusted, global, closed, open string) string {
	return `server:
  listen: "127.0.0.1:0"
  admin_listen: "127.0.0.1:0"
  trusted_proxies: ` + trusted + `
upstreams:
  - name: u
    targets: [{ url: "UPSTREAM" }]
routes:
  - name: closed
    match: { paths: ["/closed"] }
    upstream: u
    plugins:
      ` + closed + `
  - name: open
    match: { paths: ["/open"] }
    upstream: u
    plugins:
      ` + open + `
plugins:
  ` + global + `
`
}

// TestIPRestrictionThroughGateway drives the plugin through the real
// listener, including the route scope overriding the global one and
// X-Forwarded-For from trusted and untrusted peers.
func TestIPRestrictionThroughGateway(t *testing.T) {
	cases := []struct {
		name    string
		trusted string
		global  string
		closed  string
		open    string
		path    string
		xff     string
		allowed bool
	}{
		{
			name: "deny loopback", trusted: "[]",
			global: `ip-restriction: { deny: ["127.0.0.1"] }`, closed: `{}`, open: `{}`,
			path: "/closed", allowed: false,
		},
		{
			name: "allow loopback network", trusted: "[]",
			global: `ip-restriction: { allow: ["127.0.0.0/8"] }`, closed: `{}`, open: `{}`,
			path: "/closed", allowed: true,
		},
		{
			name: "route config overrides global deny", trusted: "[]",
			global: `ip-restriction: { deny: ["127.0.0.0/8"] }`, closed: `{}`,
			open: `ip-restriction: { allow: ["127.0.0.1"] }`,
			path: "/open", allowed: true,
		},
		{
			name: "global deny still applies to other routes", trusted: "[]",
			global: `ip-restriction: { deny: ["127.0.0.0/8"] }`, closed: `{}`,
			open: `ip-restriction: { allow: ["127.0.0.1"] }`,
			path: "/closed", allowed: false,
		},
		{
			name: "route-only restriction", trusted: "[]", global: `{}`,
			closed: `ip-restriction: { allow: ["192.0.2.0/24"] }`, open: `{}`,
			path: "/closed", allowed: false,
		},
		{
			name: "spoofed X-Forwarded-For from untrusted peer is ignored", trusted: `["10.9.9.9/32"]`,
			global: `ip-restriction: { allow: ["203.0.113.0/24"] }`, closed: `{}`, open: `{}`,
			path: "/closed", xff: "203.0.113.5", allowed: false,
		},
		{
			name: "spoofed X-Forwarded-For cannot escape a deny", trusted: "[]",
			global: `ip-restriction: { deny: ["127.0.0.1"] }`, closed: `{}`, open: `{}`,
			path: "/closed", xff: "198.51.100.1", allowed: false,
		},
		{
			name: "trusted peer's X-Forwarded-For is believed", trusted: `["127.0.0.1/32"]`,
			global: `ip-restriction: { allow: ["203.0.113.0/24"] }`, closed: `{}`, open: `{}`,
			path: "/closed", xff: "203.0.113.5", allowed: true,
		},
		{
			name: "client-prepended entry through a trusted proxy is ignored", trusted: `["127.0.0.1/32"]`,
			global: `ip-restriction: { allow: ["203.0.113.0/24"] }`, closed: `{}`, open: `{}`,
			path: "/closed", xff: "203.0.113.5, 198.51.100.7", allowed: false,
		},
		{
			name: "IPv6 client through a trusted proxy", trusted: `["127.0.0.1/32"]`,
			global: `ip-restriction: { deny: ["2001:db8::/32"] }`, closed: `{}`, open: `{}`,
			path: "/closed", xff: "2001:db8::7", allowed: false,
		},
		{
			name: "IPv6 client outside the denied prefix", trusted: `["127.0.0.1/32"]`,
			global: `ip-restriction: { deny: ["2001:db8::/32"] }`, closed: `{}`, open: `{}`,
			path: "/closed", xff: "2001:db9::7", allowed: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := testkit.Start(t, testkit.Echo)
			yaml := strings.ReplaceAll(gatewayYAML(tc.trusted, tc.global, tc.closed, tc.open), "UPSTREAM", u.URL)
			g := gatewaytest.Start(t, yaml)
			hdr := map[string]string{}
			if tc.xff != "" {
				hdr["X-Forwarded-For"] = tc.xff
			}
			resp, body := g.Get(tc.path, hdr)
			if tc.allowed {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d, want 200: %s", resp.StatusCode, body)
				}
				if u.Hits() != 1 {
					t.Errorf("upstream hits = %d, want 1", u.Hits())
				}
				return
			}
			gatewaytest.CheckProblem(t, resp, body, 403, "forbidden")
			if u.Hits() != 0 {
				t.Errorf("a refused request reached the upstream (%d hits)", u.Hits())
			}
		})
	}
}

// TestRefusalIsLoggedWithoutDetailInBody: the public body is the generic
// 403; the rule that refused is only in the log.
func TestRefusalIsLoggedWithoutDetailInBody(t *testing.T) {
	u := testkit.Start(t, testkit.Echo)
	g := gatewaytest.Start(t, strings.ReplaceAll(gatewayYAML("[]", `ip-restriction: { deny: ["127.0.0.0/8"] }`, "{}", "{}"), "UPSTREAM", u.URL))
	resp, body := g.Get("/closed", nil)
	p := gatewaytest.CheckProblem(t, resp, body, 403, "forbidden")
	if strings.Contains(string(body), "127.0.0") {
		t.Errorf("public body names the rule: %s", body)
	}
	line := g.LogFor(p.RequestID)
	if line["status"] != float64(403) {
		t.Errorf("access log status = %v", line["status"])
	}
}

// BenchmarkAccess measures the per-request path with a realistic rule set:
// 200 prefixes of mixed lengths in both families.
func BenchmarkAccess(b *testing.B) {
	var allowList, denyList []any
	for i := 0; i < 100; i++ {
		allowList = append(allowList, netip.AddrFrom4([4]byte{10, byte(i), 0, 0}).String()+"/16")
		denyList = append(denyList, netip.AddrFrom4([4]byte{10, byte(i), 7, byte(i)}).String())
	}
	allowList = append(allowList, "2001:db8::/32", "192.168.0.0/24")
	inst, err := iprestrict.New(map[string]any{"allow": allowList, "deny": denyList}, plugin.Env{})
	if err != nil {
		b.Fatal(err)
	}
	a := inst.(plugin.Access)
	for _, bc := range []struct{ name, ip string }{
		{"admitted v4", "10.42.1.1"},
		{"admitted v6", "2001:db8::1"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := &plugin.Ctx{X: &exchange.Exchange{ClientIP: netip.MustParseAddr(bc.ip)}}
			b.ReportAllocs()
			for b.Loop() {
				if err := a.Access(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
