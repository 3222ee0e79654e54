package acl_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/plugin"
	_ "github.com/sluicegw/sluice/internal/plugins/acl"
	_ "github.com/sluicegw/sluice/internal/plugins/keyauth"
	"github.com/sluicegw/sluice/internal/testkit"
)

func TestACL(t *testing.T) {
	u := testkit.Start(t, testkit.Echo)
	g := gatewaytest.Start(t, `upstreams:
  - name: echo
    targets: [{ url: "`+u.URL+`" }]
routes:
  - name: gold-only
    match: { paths: ["/gold"] }
    upstream: echo
    plugins:
      key-auth: {}
      acl: { allow: [gold, platinum] }
  - name: no-banned
    match: { paths: ["/open"] }
    upstream: echo
    plugins:
      key-auth: {}
      acl: { deny: [banned] }
  - name: quiet
    match: { paths: ["/quiet"] }
    upstream: echo
    plugins:
      key-auth: {}
      acl: { allow: [gold], hide_groups_header: true }
  - name: acl-without-auth
    match: { paths: ["/noauth"] }
    upstream: echo
    plugins:
      acl: { allow: [gold] }
consumers:
  - name: alice
    groups: [gold, beta]
    credentials: [{ type: key-auth, key: alice-key }]
  - name: bob
    groups: [silver]
    credentials: [{ type: key-auth, key: bob-key }]
  - name: carol
    credentials: [{ type: key-auth, key: carol-key }]
  - name: mallory
    groups: [gold, banned]
    credentials: [{ type: key-auth, key: mallory-key }]
  - name: dave
    groups: [silver]
    credentials: [{ type: key-auth, key: dave-key }]
    plugins:
      acl: { allow: [silver] }
`)
	cases := []struct {
		name, path, key string
		status          int
		groups          string // X-Consumer-Groups upstream; "-" for none
		reason          string
	}{
		{"allowed by first group", "/gold", "alice-key", 200, "gold, beta", ""},
		{"allowed by second group", "/gold", "mallory-key", 200, "gold, banned", ""},
		{"not in allow list", "/gold", "bob-key", 403, "", "none of the allowed groups: bob"},
		{"no groups at all", "/gold", "carol-key", 403, "", "none of the allowed groups: carol"},
		{"consumer-scoped config replaces the route's", "/gold", "dave-key", 200, "silver", ""},
		{"deny list passes others", "/open", "bob-key", 200, "silver", ""},
		{"deny list passes consumer without groups", "/open", "carol-key", 200, "-", ""},
		{"deny list refuses", "/open", "mallory-key", 403, "", "in a denied group: mallory"},
		{"groups header hidden", "/quiet", "alice-key", 200, "-", ""},
		{"no credential", "/gold", "", 401, "", ""},
		{"acl without auth", "/noauth", "alice-key", 401, "", "no authenticated consumer"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "acl-case-" + strconv.Itoa(i)
			before := u.Hits()
			hdr := map[string]string{"X-Request-Id": id, "X-Consumer-Groups": "admin", "X-Consumer-Name": "root"}
			if tc.key != "" {
				hdr["X-Api-Key"] = tc.key
			}
			resp, body := g.Get(tc.path, hdr)
			switch tc.status {
			case 200:
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				got := u.LastRequest()
				want := []string{tc.groups}
				if tc.groups == "-" {
					want = nil
				}
				if g := got.Values("X-Consumer-Groups"); strings.Join(g, "|") != strings.Join(want, "|") {
					t.Errorf("upstream X-Consumer-Groups = %q, want %q", g, want)
				}
				if n := got.Get("X-Consumer-Name"); n == "root" {
					t.Errorf("spoofed X-Consumer-Name reached the upstream")
				}
			case 401:
				gatewaytest.CheckProblem(t, resp, body, 401, "unauthorized")
			case 403:
				gatewaytest.CheckProblem(t, resp, body, 403, "forbidden")
				if resp.Header.Get("WWW-Authenticate") != "" {
					t.Errorf("a 403 carries a challenge")
				}
			}
			if tc.status != 200 && u.Hits() != before {
				t.Errorf("a refused request reached the upstream")
			}
			if tc.reason != "" {
				if got, _ := g.LogFor(id)["error"].(string); !strings.Contains(got, tc.reason) {
					t.Errorf("access log error = %q, want %q", got, tc.reason)
				}
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"allow", map[string]any{"allow": []any{"gold"}}, ""},
		{"deny", map[string]any{"deny": []any{"banned"}, "hide_groups_header": true}, ""},
		{"neither", nil, "at least one group"},
		{"empty lists", map[string]any{"allow": []any{}, "deny": []any{}}, "at least one group"},
		{"both", map[string]any{"allow": []any{"a"}, "deny": []any{"b"}}, "not both"},
		{"bad group", map[string]any{"deny": []any{"ok", "not ok"}}, "deny[1]"},
		{"empty group", map[string]any{"allow": []any{""}}, "allow[0]"},
		{"unknown key", map[string]any{"whitelist": []any{"a"}}, `unknown key "whitelist"`},
		{"wrong type", map[string]any{"allow": "gold"}, "allow"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := plugin.Build("acl", tc.cfg, plugin.Env{})
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}
