package airatelimit_test

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugin/plugintest"
	"github.com/sluicegw/sluice/internal/plugins/airatelimit"
)

func TestConfig(t *testing.T) {
	cases := []plugintest.Case{
		{Name: "requests and tokens", Config: map[string]any{"requests": 60, "tokens": 100000, "window": "1m", "by": "consumer"}},
		{Name: "tokens only, default window", Config: map[string]any{"tokens": 1000}},
		{Name: "requests only by header", Config: map[string]any{"requests": 5, "by": "header:X-Team"}},
		{Name: "a day", Config: map[string]any{"tokens": 1000000, "window": "24h", "by": "route"}},
		{Name: "no limit", Config: map[string]any{"window": "1m"}, Err: "requests or tokens: at least one is required"},
		{Name: "negative tokens", Config: map[string]any{"tokens": -5}, Err: "tokens: must be at least 1"},
		{Name: "negative requests", Config: map[string]any{"requests": -1, "tokens": 5}, Err: "requests: must be at least 1"},
		{Name: "fractional tokens", Config: map[string]any{"tokens": 1.5}, Err: "tokens: expected int64"},
		{Name: "window too short", Config: map[string]any{"tokens": 10, "window": "10ms"}, Err: "window: 10ms is not between 1s and 744h0m0s"},
		{Name: "window too long", Config: map[string]any{"tokens": 10, "window": "1000h"}, Err: "window: 1000h0m0s is not between"},
		{Name: "window without unit", Config: map[string]any{"tokens": 10, "window": 60}, Err: "window: durations need a unit"},
		{Name: "tokens too fine", Config: map[string]any{"tokens": 2_000_000, "window": "1s"}, Err: "tokens: limit 2000000 per 1s"},
		{Name: "unknown by", Config: map[string]any{"tokens": 1, "by": "model"}, Err: `by: "model" is not one of`},
		{Name: "path is not a key here", Config: map[string]any{"tokens": 1, "by": "path"}, Err: `by: "path" is not one of`},
		{Name: "bad header name", Config: map[string]any{"tokens": 1, "by": "header:X Team"}, Err: "not a valid header name"},
		{Name: "unknown key", Config: map[string]any{"tokens": 1, "limit": 5}, Err: `unknown key "limit"`},
	}
	plugintest.CheckConfigs(t, airatelimit.Name, append(cases, plugintest.BackendCases(map[string]any{"tokens": 1})...))
}
