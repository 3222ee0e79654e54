package aibudget_test

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugin/plugintest"
	"github.com/sluicegw/sluice/internal/plugins/aibudget"
)

func TestConfig(t *testing.T) {
	cases := []plugintest.Case{
		{Name: "brief example", Config: map[string]any{"usd": 10, "period": "day", "by": "consumer"}},
		{Name: "defaults", Config: map[string]any{"usd": 0.5}},
		{Name: "month by route", Config: map[string]any{"usd": 100, "period": "month", "by": "route"}},
		{Name: "no usd", Config: map[string]any{"period": "day"}, Err: "usd: required"},
		{Name: "negative usd", Config: map[string]any{"usd": -1}, Err: "usd: -1 is not between"},
		{Name: "usd as text", Config: map[string]any{"usd": "10"}, Err: "usd: expected float64"},
		{Name: "below a micro-dollar", Config: map[string]any{"usd": 0.0000001}, Err: "below one micro-dollar"},
		{Name: "week", Config: map[string]any{"usd": 1, "period": "week"}, Err: `period: "week" is not day or month`},
		{Name: "by ip", Config: map[string]any{"usd": 1, "by": "ip"}, Err: `by: "ip" is not consumer or route`},
		{Name: "unknown key", Config: map[string]any{"usd": 1, "tokens": 5}, Err: `unknown key "tokens"`},
	}
	plugintest.CheckConfigs(t, aibudget.Name, append(cases, plugintest.BackendCases(map[string]any{"usd": 1})...))
}
