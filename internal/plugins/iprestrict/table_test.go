package iprestrict

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugin"
)

func mustTable(t *testing.T, allowList, denyList []string) *Restriction {
	t.Helper()
	inst, err := New(map[string]any{"allow": toAny(allowList), "deny": toAny(denyList)}, plugin.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return inst.(*Restriction)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func TestDecide(t *testing.T) {
	cases := []struct {
		name        string
		allow, deny []string
		ip          string
		want        bool
	}{
		{"allow list admits member", []string{"10.0.0.0/8"}, nil, "10.1.2.3", true},
		{"allow list refuses outsider", []string{"10.0.0.0/8"}, nil, "11.0.0.1", false},
		{"deny list refuses member", nil, []string{"192.0.2.0/24"}, "192.0.2.200", false},
		{"deny list admits outsider", nil, []string{"192.0.2.0/24"}, "192.0.3.1", true},
		{"single address rule", nil, []string{"192.0.2.7"}, "192.0.2.7", false},
		{"single address rule neighbour", nil, []string{"192.0.2.7"}, "192.0.2.8", true},
		{"hole in allowed network", []string{"10.0.0.0/8"}, []string{"10.66.0.0/16"}, "10.66.1.1", false},
		{"outside the hole", []string{"10.0.0.0/8"}, []string{"10.66.0.0/16"}, "10.65.1.1", true},
		{"exception in denied network", []string{"10.1.2.3"}, []string{"10.0.0.0/8"}, "10.1.2.3", true},
		{"rest of denied network", []string{"10.1.2.3"}, []string{"10.0.0.0/8"}, "10.1.2.4", false},
		{"allow plus deny, uncovered address", []string{"10.1.2.3"}, []string{"10.0.0.0/8"}, "8.8.8.8", false},
		{"deny everything v4", nil, []string{"0.0.0.0/0"}, "1.1.1.1", false},
		{"deny all v4 leaves v6", nil, []string{"0.0.0.0/0"}, "2001:db8::1", true},
		{"v6 prefix", []string{"2001:db8::/32"}, nil, "2001:db8:ffff::1", true},
		{"v6 outsider", []string{"2001:db8::/32"}, nil, "2001:db9::1", false},
		{"v6 single", nil, []string{"2001:db8::1"}, "2001:db8::1", false},
		{"v4 rule does not match v6", []string{"10.0.0.0/8"}, nil, "::a00:1", false},
		{"mapped client address is v4", []string{"10.0.0.0/8"}, nil, "::ffff:10.0.0.1", true},
		{"mapped rule is v4", []string{"::ffff:10.0.0.0/104"}, nil, "10.9.9.9", true},
		{"unknown address refused with deny list only", nil, []string{"10.0.0.0/8"}, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustTable(t, tc.allow, tc.deny)
			var a netip.Addr
			if tc.ip != "" {
				a = netip.MustParseAddr(tc.ip)
			}
			got, reason := r.t.decide(a)
			if got != tc.want {
				t.Errorf("decide(%s) = %v (%s), want %v", tc.ip, got, reason, tc.want)
			}
			if !got && reason == "" {
				t.Error("a refusal has no reason")
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
		{"empty", map[string]any{}, "at least one"},
		{"empty lists", map[string]any{"allow": []any{}, "deny": []any{}}, "at least one"},
		{"garbage", map[string]any{"allow": []any{"10.0.0"}}, `allow[0]: "10.0.0" is not an IP`},
		{"host bits", map[string]any{"deny": []any{"10.0.0.1/8"}}, "deny[0]: \"10.0.0.1/8\" has host bits set; write 10.0.0.0/8"},
		{"bad prefix length", map[string]any{"deny": []any{"10.0.0.0/33"}}, "deny[0]"},
		{"conflict", map[string]any{"allow": []any{"10.0.0.0/8"}, "deny": []any{"10.0.0.0/8"}}, "both allowed and denied"},
		{"mapped conflict", map[string]any{"allow": []any{"::ffff:10.0.0.0/104"}, "deny": []any{"10.0.0.0/8"}}, "both allowed and denied"},
		{"zone", map[string]any{"allow": []any{"fe80::1%eth0"}}, "zone"},
		{"unknown key", map[string]any{"whitelist": []any{"10.0.0.0/8"}}, "unknown key"},
		{"wrong type", map[string]any{"allow": "10.0.0.0/8"}, "allow"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, plugin.Env{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
