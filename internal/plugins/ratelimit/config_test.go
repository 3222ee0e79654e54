package ratelimit_test

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/plugins/ratelimit"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  map[string]any
		err  string // "" when valid
	}{
		{"contract example", map[string]any{"limit": 100, "window": "1m", "by": "consumer"}, ""},
		{"every by", map[string]any{"limit": 1, "window": "1s", "by": "header:X-Api-Key"}, ""},
		{"redis with defaults", map[string]any{"limit": 1, "window": "1s", "redis_url": "redis://127.0.0.1:1/0"}, ""},
		{"redis in full", map[string]any{"limit": 1, "window": "1s", "backend": "redis", "redis_url": "redis://127.0.0.1:1/0",
			"redis_prefix": "x:", "redis_timeout": "20ms", "fail": "closed"}, ""},
		{"no limit", map[string]any{"window": "1m"}, "limit: required"},
		{"zero limit", map[string]any{"limit": 0, "window": "1m"}, "limit: required"},
		{"negative limit", map[string]any{"limit": -1, "window": "1m"}, "limit must be at least 1"},
		{"fractional limit", map[string]any{"limit": 1.5, "window": "1m"}, "limit: expected int64"},
		{"no window", map[string]any{"limit": 10}, "window: required"},
		{"window without unit", map[string]any{"limit": 10, "window": 60}, "window: durations need a unit"},
		{"window not a duration", map[string]any{"limit": 10, "window": "soon"}, "window: "},
		{"rate too fine", map[string]any{"limit": 2_000_000, "window": "1s"}, "use a longer window"},
		{"unknown by", map[string]any{"limit": 1, "window": "1s", "by": "user"}, `by: "user" is not one of`},
		{"bad header name", map[string]any{"limit": 1, "window": "1s", "by": "header:X Api"}, "not a valid header name"},
		{"unknown key", map[string]any{"limit": 1, "window": "1s", "burst": 5}, `unknown key "burst"`},
		{"unknown backend", map[string]any{"limit": 1, "window": "1s", "backend": "memcached"}, `backend: "memcached"`},
		{"redis without url", map[string]any{"limit": 1, "window": "1s", "backend": "redis"}, "backend: redis needs redis_url"},
		{"memory with redis settings", map[string]any{"limit": 1, "window": "1s", "backend": "memory", "fail": "closed"}, "backend: memory takes no"},
		{"bad fail", map[string]any{"limit": 1, "window": "1s", "redis_url": "redis://h/0", "fail": "maybe"}, `fail: "maybe"`},
		{"timeout too long", map[string]any{"limit": 1, "window": "1s", "redis_url": "redis://h/0", "redis_timeout": "1m"}, "redis_timeout: 1m0s is not between"},
		{"timeout without unit", map[string]any{"limit": 1, "window": "1s", "redis_url": "redis://h/0", "redis_timeout": 50}, "redis_timeout: durations need a unit"},
		{"bad url hides the password", map[string]any{"limit": 1, "window": "1s", "redis_url": "http://u:s3cret@h/0"}, "redis_url: not a valid redis URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, _, err := plugin.Build(ratelimit.Name, tt.cfg, plugin.Env{Scope: "global", State: plugin.NewState()})
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("valid config refused: %v", err)
			case tt.err == "" && inst == nil:
				t.Fatal("no instance")
			case tt.err != "" && err == nil:
				t.Fatalf("invalid config accepted; want an error with %q", tt.err)
			case tt.err != "" && !strings.Contains(err.Error(), tt.err):
				t.Fatalf("error %q, want it to contain %q", err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// TestStateSharing checks which configs share counters: the same scope and
// settings do (a reload), a different scope or limit does not.
func TestStateSharing(t *testing.T) {
	st := plugin.NewState()
	build := func(scope string, limit int) *ratelimit.Limit {
		t.Helper()
		inst, _, err := plugin.Build(ratelimit.Name, map[string]any{"limit": limit, "window": "1h", "by": "route"},
			plugin.Env{Scope: scope, State: st})
		if err != nil {
			t.Fatal(err)
		}
		return inst.(*ratelimit.Limit)
	}
	a1, a2, b, c := build("route:a", 1), build("route:a", 1), build("route:b", 1), build("route:a", 2)
	for _, tc := range []struct {
		name  string
		x, y  *ratelimit.Limit
		share bool
	}{
		{"rebuilt with the same settings", a1, a2, true},
		{"another scope", a1, b, false},
		{"another limit", a1, c, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ratelimit.SameCounters(tc.x, tc.y); got != tc.share {
				t.Errorf("share counters = %v, want %v", got, tc.share)
			}
		})
	}
}
