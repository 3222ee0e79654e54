package promptguard_test

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/plugin"
	_ "github.com/sluicegw/sluice/internal/plugins/keyauth"
	"github.com/sluicegw/sluice/internal/plugins/promptguard"
	"github.com/sluicegw/sluice/internal/snapshot"
	"github.com/sluicegw/sluice/internal/upstream"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  map[string]any
		err  string // "" when valid
	}{
		{"deny", map[string]any{"deny": []any{`(?i)ignore previous`, `\d{16}`}}, ""},
		{"allow", map[string]any{"allow": []any{"weather"}}, ""},
		{"both with tool results", map[string]any{"deny": []any{"a"}, "allow": []any{"b"}, "tool_results": true}, ""},
		{"rules with their own flags", map[string]any{"deny": []any{"(?i)x", "^y$"}}, ""},
		{"no rules", map[string]any{}, "deny or allow: at least one rule is required"},
		{"empty lists", map[string]any{"deny": []any{}, "allow": []any{}}, "at least one rule"},
		{"bad regex", map[string]any{"deny": []any{"ok", "(unclosed"}}, "deny[1]: error parsing regexp: missing closing )"},
		{"backreference", map[string]any{"allow": []any{`(a)\1`}}, "allow[0]: error parsing regexp: invalid escape sequence"},
		{"empty rule", map[string]any{"deny": []any{""}}, "deny[0]: empty rule"},
		{"not a list", map[string]any{"deny": "x"}, "deny: expected []string"},
		{"unknown key", map[string]any{"deny": []any{"x"}, "block": []any{"y"}}, `unknown key "block"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, _, err := plugin.Build(promptguard.Name, tt.cfg, plugin.Env{Scope: "global"})
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
		})
	}
}

// TestConfigErrorHasTheLine builds a whole config with a bad rule: the
// error names the file line of the plugin and the rule.
func TestConfigErrorHasTheLine(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte(`routes:
  - name: ai
    match: { paths: ["/v1"] }
    ai: {}
    plugins:
      ai-prompt-guard:
        deny: ["fine", "[z-a]"]
ai:
  providers:
    - { name: oa, type: openai, base_url: "http://127.0.0.1:1/v1", api_keys: ["k"] }
  models:
    - { name: gpt, targets: [{ provider: oa, model: gpt-4o }] }
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = snapshot.Build(cfg, upstream.NewRegistry(nil), 1, snapshot.Options{})
	want := "test.yaml:6: routes[0].plugins.ai-prompt-guard: plugin ai-prompt-guard: deny[1]: error parsing regexp: invalid character class range"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want it to contain %q", err, want)
	}
}
