package aibudget_test

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/plugins/aibudget"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  map[string]any
		err  string // "" when valid
	}{
		{"brief example", map[string]any{"usd": 10, "period": "day", "by": "consumer"}, ""},
		{"defaults", map[string]any{"usd": 0.5}, ""},
		{"month by route", map[string]any{"usd": 100, "period": "month", "by": "route"}, ""},
		{"redis in full", map[string]any{"usd": 1, "backend": "redis", "redis_url": "redis://127.0.0.1:1/0",
			"redis_prefix": "x:", "redis_timeout": "20ms", "fail": "closed"}, ""},
		{"no usd", map[string]any{"period": "day"}, "usd: required"},
		{"negative usd", map[string]any{"usd": -1}, "usd: -1 is not between"},
		{"usd as text", map[string]any{"usd": "10"}, "usd: expected float64"},
		{"below a micro-dollar", map[string]any{"usd": 0.0000001}, "below one micro-dollar"},
		{"week", map[string]any{"usd": 1, "period": "week"}, `period: "week" is not day or month`},
		{"by ip", map[string]any{"usd": 1, "by": "ip"}, `by: "ip" is not consumer or route`},
		{"unknown key", map[string]any{"usd": 1, "tokens": 5}, `unknown key "tokens"`},
		{"memory with redis settings", map[string]any{"usd": 1, "backend": "memory", "redis_prefix": "x"}, "backend: memory takes no"},
		{"redis without url", map[string]any{"usd": 1, "backend": "redis"}, "backend: redis needs redis_url"},
		{"bad fail", map[string]any{"usd": 1, "redis_url": "redis://h/0", "fail": "maybe"}, `fail: "maybe"`},
		{"timeout without unit", map[string]any{"usd": 1, "redis_url": "redis://h/0", "redis_timeout": 50}, "redis_timeout: durations need a unit"},
		{"bad url hides the password", map[string]any{"usd": 1, "redis_url": "http://u:s3cret@h/0"}, "redis_url: not a valid redis URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, _, err := plugin.Build(aibudget.Name, tt.cfg, plugin.Env{Scope: "global", State: plugin.NewState()})
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
