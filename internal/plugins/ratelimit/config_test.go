package ratelimit_test

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/plugin/plugintest"
	"github.com/sluicegw/sluice/internal/plugins/ratelimit"
)

func TestConfig(t *testing.T) {
	cases := []plugintest.Case{
		{Name: "contract example", Config: map[string]any{"limit": 100, "window": "1m", "by": "consumer"}},
		{Name: "every by", Config: map[string]any{"limit": 1, "window": "1s", "by": "header:X-Api-Key"}},
		{Name: "no limit", Config: map[string]any{"window": "1m"}, Err: "limit: required"},
		{Name: "zero limit", Config: map[string]any{"limit": 0, "window": "1m"}, Err: "limit: required"},
		{Name: "negative limit", Config: map[string]any{"limit": -1, "window": "1m"}, Err: "limit must be at least 1"},
		{Name: "fractional limit", Config: map[string]any{"limit": 1.5, "window": "1m"}, Err: "limit: expected int64"},
		{Name: "no window", Config: map[string]any{"limit": 10}, Err: "window: required"},
		{Name: "window without unit", Config: map[string]any{"limit": 10, "window": 60}, Err: "window: durations need a unit"},
		{Name: "window not a duration", Config: map[string]any{"limit": 10, "window": "soon"}, Err: "window: "},
		{Name: "rate too fine", Config: map[string]any{"limit": 2_000_000, "window": "1s"}, Err: "use a longer window"},
		{Name: "unknown by", Config: map[string]any{"limit": 1, "window": "1s", "by": "user"}, Err: `by: "user" is not one of`},
		{Name: "bad header name", Config: map[string]any{"limit": 1, "window": "1s", "by": "header:X Api"}, Err: "not a valid header name"},
		{Name: "unknown key", Config: map[string]any{"limit": 1, "window": "1s", "burst": 5}, Err: `unknown key "burst"`},
	}
	plugintest.CheckConfigs(t, ratelimit.Name, append(cases, plugintest.BackendCases(map[string]any{"limit": 1, "window": "1s"})...))
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
