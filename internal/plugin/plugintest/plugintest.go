// Package plugintest checks plugin factories as a config load runs them.
package plugintest

import (
	"maps"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugin"
)

// Case is a plugin config and the error it must give.
type Case struct {
	Name   string
	Config map[string]any
	Err    string // "" when the config is valid
}

// CheckConfigs builds plugin name from each case's config, with a fresh
// state and no top-level Redis URL: a case without Err must build, any
// other must fail with an error holding Err. No error may show the
// password of a Redis URL ("s3cret").
func CheckConfigs(t *testing.T, name string, cases []Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			inst, _, err := plugin.Build(name, tc.Config, plugin.Env{Scope: "global", State: plugin.NewState()})
			switch {
			case tc.Err == "" && err != nil:
				t.Fatalf("valid config refused: %v", err)
			case tc.Err == "" && inst == nil:
				t.Fatal("no instance")
			case tc.Err != "" && err == nil:
				t.Fatalf("invalid config accepted; want an error with %q", tc.Err)
			case tc.Err != "" && !strings.Contains(err.Error(), tc.Err):
				t.Fatalf("error %q, want it to contain %q", err, tc.Err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// BackendCases are the checks of the backend settings every counting
// plugin takes (internal/plugins/backend), each added to base, a valid
// config of the plugin.
func BackendCases(base map[string]any) []Case {
	with := func(kv ...any) map[string]any {
		m := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	const url = "redis://127.0.0.1:1/0"
	return []Case{
		{"memory by default", with(), ""},
		{"redis when a url is set", with("redis_url", url), ""},
		{"redis in full", with("backend", "redis", "redis_url", url, "redis_prefix", "x:", "redis_timeout", "20ms", "fail", "closed"), ""},
		{"unknown backend", with("backend", "memcached"), `backend: "memcached" is not memory or redis`},
		{"redis without url", with("backend", "redis"), "backend: redis needs redis_url"},
		{"memory with redis settings", with("backend", "memory", "fail", "closed"), "backend: memory takes no"},
		{"memory with a prefix", with("backend", "memory", "redis_prefix", "x"), "backend: memory takes no"},
		{"bad fail", with("redis_url", url, "fail", "maybe"), `fail: "maybe" is not open or closed`},
		{"timeout too long", with("redis_url", url, "redis_timeout", "1m"), "redis_timeout: 1m0s is not between"},
		{"timeout too short", with("redis_url", url, "redis_timeout", "10µs"), "redis_timeout: 10µs is not between"},
		{"timeout without unit", with("redis_url", url, "redis_timeout", 50), "redis_timeout: durations need a unit"},
		{"bad url hides the password", with("redis_url", "http://u:s3cret@h/0"), "redis_url: not a valid redis URL"},
	}
}
