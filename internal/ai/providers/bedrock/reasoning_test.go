package bedrock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/testkit"
)

const (
	claude    = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	signature = "EqQBCkYIBxgCKkBzaWduYXR1cmU="
)

// redactedData is a redacted reasoning block's data as Bedrock holds it
// (bytes), and redactedText as the canonical schema does (base64).
var (
	redactedData = []byte("opaque\x00reasoning\xff")
	redactedText = base64.StdEncoding.EncodeToString(redactedData)
)

// reasoningToolReply thinks (signed, then redacted), then answers and
// calls a tool: the reasoning blocks take content block indexes 0 and 1.
var reasoningToolReply = testkit.BedrockReply{
	Content: []testkit.BedrockBlock{
		{Reasoning: &testkit.BedrockReasoning{Text: "The user wants Paris weather. I will call the tool.", Signature: signature}},
		{Reasoning: &testkit.BedrockReasoning{Redacted: redactedData}},
		{Text: "Let me check."},
		{ToolUse: &testkit.BedrockToolUse{ID: "tooluse_p", Name: "get_weather", Input: `{"city":"Paris"}`}},
	},
	StopReason: "tool_use",
	Usage:      testkit.BedrockUsage{Input: 40, Output: 120},
}

// toolLoop is a conversation whose last assistant turn thought (signed and
// redacted) before it called a tool, and the tool's result.
var toolLoop = []llm.Message{
	userText("Weather in Paris?"),
	{Role: llm.RoleAssistant,
		Thinking:  []llm.Thinking{{Text: "The user wants Paris weather.", Signature: signature}, {Text: redactedText, Redacted: true}},
		Content:   []llm.Part{{Type: llm.PartText, Text: "Let me check."}},
		ToolCalls: []llm.ToolCall{{ID: "tooluse_p", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
	{Role: llm.RoleTool, ToolCallID: "tooluse_p", Content: []llm.Part{{Type: llm.PartText, Text: "sunny, 24°C"}}},
}

// reasoningChatCases join chatCases in TestChatGolden.
var reasoningChatCases = []chatCase{
	{
		name:  "thinking_budget",
		model: claude,
		req: llm.Request{
			Messages:  []llm.Message{userText("Is 1009 prime?")},
			MaxTokens: 1000, Temperature: ptrTo(0.7), TopP: ptrTo(0.5), TopK: ptrTo(40), Stop: []string{"END"},
			Reasoning: &llm.Reasoning{Mode: llm.ReasonBudget, Budget: 2048},
		},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{
			{Reasoning: &testkit.BedrockReasoning{Text: "Check divisors up to 31.", Signature: signature}}, {Text: "Yes."},
		}, Usage: testkit.BedrockUsage{Input: 12, Output: 300}},
	},
	{
		name:  "thinking_effort_default_max_tokens",
		model: claude,
		req: llm.Request{
			Messages: []llm.Message{userText("Plan a trip.")}, TopP: ptrTo(0.97),
			Reasoning: &llm.Reasoning{Mode: llm.ReasonEffort, Effort: "high"},
		},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "Go to Lyon."}}, Usage: testkit.BedrockUsage{Input: 5, Output: 900}},
	},
	{
		name:  "thinking_adaptive",
		model: "anthropic.claude-opus-4-6-v1",
		req: llm.Request{
			Messages: []llm.Message{userText("Prove it.")}, Temperature: ptrTo(0.2),
			Reasoning: &llm.Reasoning{Mode: llm.ReasonAdaptive, Effort: "max"},
		},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "QED."}}, Usage: testkit.BedrockUsage{Input: 5, Output: 9}},
	},
	{
		name:  "thinking_off",
		model: claude,
		req: llm.Request{
			Messages: []llm.Message{userText("Hi.")}, Temperature: ptrTo(0.2), TopK: ptrTo(5),
			Reasoning: &llm.Reasoning{Mode: llm.ReasonEffort, Effort: "none"},
		},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "Hello."}}, Usage: testkit.BedrockUsage{Input: 2, Output: 2}},
	},
	{
		// The mock refuses the second call of a thinking tool loop unless
		// the assistant turn starts with its reasoning, signatures intact.
		name:  "thinking_tool_loop",
		model: claude,
		req: llm.Request{
			Messages: toolLoop, Tools: []llm.Tool{weatherTool}, MaxTokens: 1024,
			Reasoning: &llm.Reasoning{Mode: llm.ReasonBudget, Budget: 1024},
		},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{
			{Reasoning: &testkit.BedrockReasoning{Redacted: redactedData}}, {Text: "Sunny, 24°C."},
		}, Usage: testkit.BedrockUsage{Input: 200, Output: 40}},
	},
	{
		// Another family: no reasoning settings and no thinking sent
		// (the mock refuses thinking for it), but its reasoning decoded.
		name:  "thinking_other_family",
		model: "amazon.nova-pro-v1:0",
		req: llm.Request{
			Messages: toolLoop, Tools: []llm.Tool{weatherTool}, Temperature: ptrTo(0.3),
			Reasoning: &llm.Reasoning{Mode: llm.ReasonBudget, Budget: 2048},
		},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{
			{Reasoning: &testkit.BedrockReasoning{Text: "The tool said sunny."}}, {Text: "Sunny."},
		}, Usage: testkit.BedrockUsage{Input: 90, Output: 20}},
	},
}

// TestReasoningSettings checks each way of asking for reasoning against
// the additionalModelRequestFields and inferenceConfig an Anthropic model
// gets, from a request with maxTokens 500, temperature 0.3, topP 0.97
// and top_k 10.
func TestReasoningSettings(t *testing.T) {
	cases := []struct {
		name      string
		reasoning *llm.Reasoning
		fields    string
		inference string
		edit      func(*llm.Request)
	}{
		{"not asked", nil, `{"top_k":10}`, `{"maxTokens":500,"temperature":0.3,"topP":0.97}`, nil},
		{"effort none", &llm.Reasoning{Mode: llm.ReasonEffort, Effort: "none"}, `{"top_k":10}`, `{"maxTokens":500,"temperature":0.3,"topP":0.97}`, nil},
		{"effort minimal", &llm.Reasoning{Mode: llm.ReasonEffort, Effort: "minimal"}, `{"top_k":10}`, `{"maxTokens":500,"temperature":0.3,"topP":0.97}`, nil},
		{"effort low", &llm.Reasoning{Mode: llm.ReasonEffort, Effort: "low"},
			`{"thinking":{"type":"enabled","budget_tokens":2048}}`, `{"maxTokens":2548,"topP":0.97}`, nil},
		{"effort xhigh", &llm.Reasoning{Mode: llm.ReasonEffort, Effort: "xhigh"},
			`{"thinking":{"type":"enabled","budget_tokens":49152}}`, `{"maxTokens":49652,"topP":0.97}`, nil},
		{"budget with effort", &llm.Reasoning{Mode: llm.ReasonBudget, Budget: 5000, Effort: "high"},
			`{"thinking":{"type":"enabled","budget_tokens":5000},"output_config":{"effort":"high"}}`, `{"maxTokens":5500,"topP":0.97}`, nil},
		{"adaptive", &llm.Reasoning{Mode: llm.ReasonAdaptive}, `{"thinking":{"type":"adaptive"}}`, `{"maxTokens":500,"topP":0.97}`, nil},
		{"adaptive minimal", &llm.Reasoning{Mode: llm.ReasonAdaptive, Effort: "minimal"},
			`{"thinking":{"type":"adaptive"},"output_config":{"effort":"low"}}`, `{"maxTokens":500,"topP":0.97}`, nil},
		{"output effort alone", &llm.Reasoning{Mode: llm.ReasonOutputEffort, Effort: "medium"},
			`{"top_k":10,"output_config":{"effort":"medium"}}`, `{"maxTokens":500,"temperature":0.3,"topP":0.97}`, nil},
		// The API refuses thinking with a forced tool call: the call wins.
		{"forced tool", &llm.Reasoning{Mode: llm.ReasonBudget, Budget: 5000, Effort: "high"},
			`{"top_k":10,"output_config":{"effort":"high"}}`, `{"maxTokens":500,"temperature":0.3,"topP":0.97}`,
			func(r *llm.Request) {
				r.Tools = []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"object"}`)}}
				r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"}
			}},
		{"auto tool choice keeps thinking", &llm.Reasoning{Mode: llm.ReasonEffort, Effort: "low"},
			`{"thinking":{"type":"enabled","budget_tokens":2048}}`, `{"maxTokens":2548,"topP":0.97}`,
			func(r *llm.Request) {
				r.Tools = []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"object"}`)}}
				r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolAuto}
			}},
		// OpenAI's temperatures go to 2, Anthropic's to 1.
		{"temperature over 1", nil, `{"top_k":10}`, `{"maxTokens":500,"temperature":1,"topP":0.97}`,
			func(r *llm.Request) { r.Temperature = ptrTo(1.7) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := llm.Request{Messages: []llm.Message{userText("hi")}, MaxTokens: 500, Temperature: ptrTo(0.3), TopP: ptrTo(0.97), TopK: ptrTo(10), Reasoning: tc.reasoning}
			if tc.edit != nil {
				tc.edit(&req)
			}
			body, err := encodeRequest(&req, claude)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				AdditionalModelRequestFields json.RawMessage `json:"additionalModelRequestFields"`
				InferenceConfig              json.RawMessage `json:"inferenceConfig"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if string(got.AdditionalModelRequestFields) != tc.fields || string(got.InferenceConfig) != tc.inference {
				t.Errorf("fields %s inference %s\nwant   %s inference %s", got.AdditionalModelRequestFields, got.InferenceConfig, tc.fields, tc.inference)
			}
		})
	}
}

func TestRedactedThinkingMustBeBase64(t *testing.T) {
	m := startMock(t)
	req := &llm.Request{Messages: []llm.Message{userText("hi"),
		{Role: llm.RoleAssistant, Thinking: []llm.Thinking{{Text: "not base64!", Redacted: true}}, Content: []llm.Part{{Type: llm.PartText, Text: "ok"}}},
		userText("again")}}
	_, err := newProvider(t, m).Chat(context.Background(), &llm.Call{Model: claude, Key: testCred.Key(), Request: req})
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || pe.Class != llm.ClassCaller || !strings.Contains(pe.Message, "base64") {
		t.Fatalf("got %v, want a caller error about base64", err)
	}
	if n := len(m.Requests()); n != 0 {
		t.Errorf("%d requests reached the provider", n)
	}
}

// TestStreamReasoning reassembles a streamed answer that thinks before it
// calls a tool: the reasoning blocks (content blocks 0 and 1) must not
// shift the tool call's index, and each block comes out whole.
func TestStreamReasoning(t *testing.T) {
	m := startMock(t)
	m.Reply(testkit.BedrockReply{Stream: testkit.BedrockStreamEvents(reasoningToolReply, 5)})
	evs, err := drain(t, startStream(t, m, context.Background(), claude))
	if err != io.EOF {
		t.Fatalf("stream ended with %v", err)
	}
	var thinking, text, args string
	var order []string
	for _, ev := range evs {
		switch ev.Type {
		case llm.EventThinking:
			thinking += ev.Text
			continue
		case llm.EventThinkingEnd:
			if ev.Text != signature {
				t.Errorf("signature %q", ev.Text)
			}
		case llm.EventRedactedThinking:
			if ev.Text != redactedText {
				t.Errorf("redacted %q, want %q", ev.Text, redactedText)
			}
		case llm.EventText:
			text += ev.Text
			continue
		case llm.EventToolStart:
			if ev.Index != 0 || ev.ID != "tooluse_p" {
				t.Errorf("tool start %+v", ev)
			}
		case llm.EventToolArgs:
			args += ev.Text
			continue
		}
		order = append(order, eventName(ev.Type))
	}
	if thinking != reasoningToolReply.Content[0].Reasoning.Text || text != "Let me check." || args != `{"city":"Paris"}` {
		t.Errorf("thinking %q text %q args %q", thinking, text, args)
	}
	if got := strings.Join(order, " "); got != "start thinking_end redacted_thinking tool_start finish usage" {
		t.Errorf("events %s", got)
	}
}

func eventName(t llm.EventType) string {
	return map[llm.EventType]string{llm.EventStart: "start", llm.EventThinkingEnd: "thinking_end", llm.EventRedactedThinking: "redacted_thinking",
		llm.EventToolStart: "tool_start", llm.EventFinish: "finish", llm.EventUsage: "usage"}[t]
}

// TestStreamReasoningPieces scripts what BedrockStreamEvents does not: a
// signature and redacted data in several deltas, a block never stopped,
// and redacted data that is not base64.
func TestStreamReasoningPieces(t *testing.T) {
	delta := func(i int, d map[string]any) testkit.BedrockEvent {
		return testkit.BedrockEvent{Type: "contentBlockDelta", Payload: map[string]any{"contentBlockIndex": i, "delta": map[string]any{"reasoningContent": d}}}
	}
	stop := func(i int) testkit.BedrockEvent {
		return testkit.BedrockEvent{Type: "contentBlockStop", Payload: map[string]any{"contentBlockIndex": i}}
	}
	start := testkit.BedrockEvent{Type: "messageStart", Payload: map[string]any{"role": "assistant"}}
	end := []testkit.BedrockEvent{
		{Type: "messageStop", Payload: map[string]any{"stopReason": "end_turn"}},
		{Type: "metadata", Payload: map[string]any{"usage": map[string]any{"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}}},
	}

	t.Run("pieces", func(t *testing.T) {
		m := startMock(t)
		m.Reply(testkit.BedrockReply{Stream: append([]testkit.BedrockEvent{start,
			delta(0, map[string]any{"text": "a"}), delta(0, map[string]any{"signature": "si"}), delta(0, map[string]any{"signature": "g="}), stop(0),
			delta(1, map[string]any{"redactedContent": "YWI="}), delta(1, map[string]any{"redactedContent": "Y2Q="}), stop(1),
			delta(2, map[string]any{"text": "b"}), // never stopped
		}, end...)})
		evs, err := drain(t, startStream(t, m, context.Background(), claude))
		if err != io.EOF {
			t.Fatalf("stream ended with %v", err)
		}
		golden(t, "stream/reasoning_pieces.events.jsonl", eventLines(t, evs))
	})

	t.Run("redacted not base64", func(t *testing.T) {
		m := startMock(t)
		m.Reply(testkit.BedrockReply{Stream: append([]testkit.BedrockEvent{start, delta(0, map[string]any{"redactedContent": "!!"})}, end...)})
		evs, err := drain(t, startStream(t, m, context.Background(), claude))
		var pe *llm.ProviderError
		if !errors.As(err, &pe) || pe.Class != llm.ClassBadResponse || len(evs) != 1 || evs[0].Type != llm.EventStart {
			t.Fatalf("after %+v: %v, want a bad response", evs, err)
		}
	})
}

// TestUsageHasNoReasoningCount pins that Bedrock's usage, which has no
// reasoning count, reports none even when the answer reasoned.
func TestUsageHasNoReasoningCount(t *testing.T) {
	m := startMock(t)
	m.Reply(reasoningToolReply)
	resp, err := newProvider(t, m).Chat(context.Background(), &llm.Call{Model: claude, Key: testCred.Key(), Request: &llm.Request{Messages: []llm.Message{userText("hi")}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (llm.Usage{Input: 40, Output: 120}); resp.Usage != want {
		t.Errorf("usage %+v, want %+v", resp.Usage, want)
	}
}
