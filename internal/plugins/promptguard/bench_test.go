package promptguard_test

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/plugins/promptguard"
)

// BenchmarkGuard checks a ten-turn chat of about 4 KB against five deny
// rules and one allow rule.
func BenchmarkGuard(b *testing.B) {
	inst, _, err := plugin.Build(promptguard.Name, map[string]any{
		"deny": []any{`(?i)ignore (all|any|previous) instructions`, `\b\d{3}-\d{2}-\d{4}\b`, `(?i)\bpassword\b`,
			`\b(?:\d[ -]?){13,16}\b`, `(?i)system prompt`},
		"allow": []any{`(?i)\b(weather|forecast)\b`},
	}, plugin.Env{Scope: "global"})
	if err != nil {
		b.Fatal(err)
	}
	g := inst.(plugin.AIAccess)
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleSystem, Content: []llm.Part{{Type: llm.PartText, Text: "You are a weather assistant."}}}}}
	for i := range 9 {
		role := llm.RoleUser
		if i%2 == 1 {
			role = llm.RoleAssistant
		}
		req.Messages = append(req.Messages, llm.Message{Role: role, Content: []llm.Part{{Type: llm.PartText, Text: strings.Repeat("What will the weather be like tomorrow in Lyon? ", 9)}}})
	}
	info := &llm.Info{Chat: req}
	b.ReportAllocs()
	for b.Loop() {
		if err := g.AIAccess(nil, info); err != nil {
			b.Fatal(err)
		}
	}
}
