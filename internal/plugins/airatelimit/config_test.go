package airatelimit_test

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/plugins/airatelimit"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  map[string]any
		err  string // "" when valid
	}{
		{"requests and tokens", map[string]any{"requests": 60, "tokens": 100000, "window": "1m", "by": "consumer"}, ""},
		{"tokens only, default window", map[string]any{"tokens": 1000}, ""},
		{"requests only by header", map[string]any{"requests": 5, "by": "header:X-Team"}, ""},
		{"a day", map[string]any{"tokens": 1000000, "window": "24h", "by": "route"}, ""},
		{"redis in full", map[string]any{"tokens": 1, "backend": "redis", "redis_url": "redis://127.0.0.1:1/0",
			"redis_prefix": "x:", "redis_timeout": "20ms", "fail": "closed"}, ""},
		{"no limit", map[string]any{"window": "1m"}, "requests or tokens: at least one is required"},
		{"negative tokens", map[string]any{"tokens": -5}, "tokens: must be at least 1"},
		{"negative requests", map[string]any{"requests": -1, "tokens": 5}, "requests: must be at least 1"},
		{"fractional tokens", map[string]any{"tokens": 1.5}, "tokens: expected int64"},
		{"window too short", map[string]any{"tokens": 10, "window": "10ms"}, "window: 10ms is not between 1s and 744h0m0s"},
		{"window too long", map[string]any{"tokens": 10, "window": "1000h"}, "window: 1000h0m0s is not between"},
		{"window without unit", map[string]any{"tokens": 10, "window": 60}, "window: durations need a unit"},
		{"tokens too fine", map[string]any{"tokens": 2_000_000, "window": "1s"}, "tokens: limit 2000000 per 1s"},
		{"unknown by", map[string]any{"tokens": 1, "by": "model"}, `by: "model" is not one of`},
		{"path is not a key here", map[string]any{"tokens": 1, "by": "path"}, `by: "path" is not one of`},
		{"bad header name", map[string]any{"tokens": 1, "by": "header:X Team"}, "not a valid header name"},
		{"unknown key", map[string]any{"tokens": 1, "limit": 5}, `unknown key "limit"`},
		{"memory with redis settings", map[string]any{"tokens": 1, "backend": "memory", "fail": "closed"}, "backend: memory takes no"},
		{"redis without url", map[string]any{"tokens": 1, "backend": "redis"}, "backend: redis needs redis_url"},
		{"bad fail", map[string]any{"tokens": 1, "redis_url": "redis://h/0", "fail": "maybe"}, `fail: "maybe"`},
		{"timeout too long", map[string]any{"tokens": 1, "redis_url": "redis://h/0", "redis_timeout": "1m"}, "redis_timeout: 1m0s is not between"},
		{"bad url hides the password", map[string]any{"tokens": 1, "redis_url": "http://u:s3cret@h/0"}, "redis_url: not a valid redis URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, _, err := plugin.Build(airatelimit.Name, tt.cfg, plugin.Env{Scope: "global", State: plugin.NewState()})
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
