package ai_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/respjson"
	"github.com/openai/openai-go/v3/shared"

	"github.com/sluicegw/sluice/internal/testkit"
)

// TestAIThinkingToolLoop drives the loop Anthropic's extended thinking
// with tools needs: the model thinks, then calls a tool; the client sends
// the assistant turn back (thinking block and signature intact) with the
// tool's result. Through the gateway, streamed then not, with the
// official SDK.
func TestAIThinkingToolLoop(t *testing.T) {
	e := startAI(t, "", "", "")
	const thought, sig = "The user wants Paris weather; I should call the tool.", "EqQBCkYIBxgCKkBsig=="
	e.an.Push(
		testkit.LLMReply{Thinking: thought, Signature: sig, ToolCalls: []testkit.LLMToolCall{{ID: "toolu_01", Name: "get_weather", Args: `{"city":"Paris"}`}}},
		testkit.LLMReply{Text: "It is sunny in Paris."})
	tools := anthropicWeatherTool
	ask := anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))
	msg := streamAnthropic(t, e, anthropic.MessageNewParams{Model: "claude", MaxTokens: 4096,
		Thinking: anthropic.ThinkingConfigParamOfEnabled(2048), Tools: tools, Messages: []anthropic.MessageParam{ask}})
	if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[0].Thinking != thought ||
		msg.Content[0].Signature != sig || msg.Content[1].Type != "tool_use" || string(msg.Content[1].Input) != `{"city":"Paris"}` {
		t.Fatalf("streamed answer = %+v", msg.Content)
	}
	first := e.an.Last().Body
	if th, _ := first["thinking"].(map[string]any); th["type"] != "enabled" || th["budget_tokens"] != float64(2048) {
		t.Fatalf("the provider got thinking %v", first["thinking"])
	}

	// The second turn: thinking, signature and tool call go back as they came.
	resp, err := e.anthropic.Messages.New(ctx(t), anthropic.MessageNewParams{Model: "claude", MaxTokens: 4096,
		Thinking: anthropic.ThinkingConfigParamOfEnabled(2048), Tools: tools,
		Messages: []anthropic.MessageParam{ask, msg.ToParam(),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_01", "sunny, 24°C", false))}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Content) != 1 || resp.Content[0].Text != "It is sunny in Paris." {
		t.Fatalf("answer = %+v", resp.Content)
	}
	msgs, _ := e.an.Last().Body["messages"].([]any)
	if len(msgs) != 3 {
		t.Fatalf("the provider got %d messages", len(msgs))
	}
	assistant, _ := msgs[1].(map[string]any)["content"].([]any)
	if len(assistant) != 2 {
		t.Fatalf("assistant turn sent back as %v", assistant)
	}
	blk, _ := assistant[0].(map[string]any)
	if blk["type"] != "thinking" || blk["thinking"] != thought || blk["signature"] != sig {
		t.Fatalf("the thinking block went back as %v", blk)
	}
}

// TestAIThinkingUnary checks a whole (not streamed) answer's thinking
// block reaches an Anthropic client, and that an OpenAI-compatible
// server's reasoning_content reaches it as a thinking block too.
func TestAIThinkingUnary(t *testing.T) {
	e := startAI(t, "", "", "")
	e.an.Push(testkit.LLMReply{Thinking: "Two plus two.", Signature: "sig1", Text: "4"})
	resp, err := e.anthropic.Messages.New(ctx(t), anthropic.MessageNewParams{Model: "claude", MaxTokens: 4096,
		Thinking: anthropic.ThinkingConfigParamOfEnabled(1024), Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("2+2?"))}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Content) != 2 || resp.Content[0].Thinking != "Two plus two." || resp.Content[0].Signature != "sig1" || resp.Content[1].Text != "4" {
		t.Fatalf("answer = %+v", resp.Content)
	}

	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("reasoning_content/stream=", stream), func(t *testing.T) {
			e.oa.Push(testkit.LLMReply{Thinking: "Hmm, four.", Text: "4"})
			params := anthropic.MessageNewParams{Model: "gpt", MaxTokens: 100, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("2+2?"))}}
			var msg anthropic.Message
			if stream {
				msg = streamAnthropic(t, e, params)
			} else {
				r, err := e.anthropic.Messages.New(ctx(t), params)
				if err != nil {
					t.Fatal(err)
				}
				msg = *r
			}
			if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[0].Thinking != "Hmm, four." || msg.Content[1].Text != "4" {
				t.Fatalf("answer = %+v", msg.Content)
			}
		})
	}
}

// TestAIReasoningToOpenAIClient checks an Anthropic model's thinking
// reaches an OpenAI SDK client as reasoning_content, whole and streamed,
// beside the answer.
func TestAIReasoningToOpenAIClient(t *testing.T) {
	e := startAI(t, "", "", "")
	params := openai.ChatCompletionNewParams{Model: "claude", Messages: hello(), ReasoningEffort: shared.ReasoningEffortLow}
	extra := func(f map[string]respjson.Field) string {
		var s string
		if raw := f["reasoning_content"].Raw(); raw != "" {
			if err := json.Unmarshal([]byte(raw), &s); err != nil {
				t.Fatalf("reasoning_content %s: %v", raw, err)
			}
		}
		return s
	}

	e.an.Push(testkit.LLMReply{Thinking: "Two plus two.", Signature: "sig1", Text: "4"})
	resp, err := e.openai.Chat.Completions.New(ctx(t), params)
	if err != nil {
		t.Fatal(err)
	}
	if m := resp.Choices[0].Message; m.Content != "4" || extra(m.JSON.ExtraFields) != "Two plus two." {
		t.Fatalf("message = %s", m.RawJSON())
	}

	e.an.Push(testkit.LLMReply{Thinking: "Two plus two, streamed.", Signature: "sig1", Text: "4"})
	stream := e.openai.Chat.Completions.NewStreaming(ctx(t), params)
	var reasoning, text strings.Builder
	for stream.Next() {
		for _, ch := range stream.Current().Choices {
			if text.Len() > 0 && extra(ch.Delta.JSON.ExtraFields) != "" {
				t.Fatal("reasoning after the answer began")
			}
			reasoning.WriteString(extra(ch.Delta.JSON.ExtraFields))
			text.WriteString(ch.Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if reasoning.String() != "Two plus two, streamed." || text.String() != "4" {
		t.Fatalf("reasoning %q, text %q", reasoning.String(), text.String())
	}
}

// TestAIReasoningTranslated checks how each client's way of asking for
// reasoning reaches each provider.
func TestAIReasoningTranslated(t *testing.T) {
	e := startAI(t, "", "", "")
	t.Run("openai effort to anthropic", func(t *testing.T) {
		e.an.Push(testkit.LLMReply{Text: "ok"})
		_, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "claude", Messages: hello(),
			ReasoningEffort: shared.ReasoningEffortLow, Temperature: openai.Float(0.3), MaxCompletionTokens: openai.Int(500)})
		if err != nil {
			t.Fatal(err)
		}
		body := e.an.Last().Body
		th, _ := body["thinking"].(map[string]any)
		if th["type"] != "enabled" || th["budget_tokens"] != float64(2048) {
			t.Fatalf("thinking = %v", body["thinking"])
		}
		// Thinking refuses a temperature and needs max_tokens above the budget.
		if _, ok := body["temperature"]; ok || body["max_tokens"] != float64(2548) {
			t.Fatalf("temperature %v, max_tokens %v", body["temperature"], body["max_tokens"])
		}
	})
	t.Run("openai effort to openai", func(t *testing.T) {
		e.oa.Push(testkit.LLMReply{Text: "ok"})
		if _, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "gpt", Messages: hello(),
			ReasoningEffort: shared.ReasoningEffortHigh}); err != nil {
			t.Fatal(err)
		}
		if got := e.oa.Last().Body["reasoning_effort"]; got != "high" {
			t.Fatalf("reasoning_effort = %v", got)
		}
	})
	t.Run("anthropic budget to openai", func(t *testing.T) {
		e.oa.Push(testkit.LLMReply{Text: "ok"})
		if _, err := e.anthropic.Messages.New(ctx(t), anthropic.MessageNewParams{Model: "gpt", MaxTokens: 8000,
			Thinking: anthropic.ThinkingConfigParamOfEnabled(5000), Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}); err != nil {
			t.Fatal(err)
		}
		if got := e.oa.Last().Body["reasoning_effort"]; got != "medium" {
			t.Fatalf("reasoning_effort = %v, want medium for a 5000-token budget", got)
		}
	})
	t.Run("no reasoning asked, none sent", func(t *testing.T) {
		e.an.Push(testkit.LLMReply{Text: "ok"})
		if _, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "claude", Messages: hello(), Temperature: openai.Float(0.3)}); err != nil {
			t.Fatal(err)
		}
		body := e.an.Last().Body
		if _, ok := body["thinking"]; ok || body["temperature"] != 0.3 {
			t.Fatalf("thinking %v temperature %v", body["thinking"], body["temperature"])
		}
	})
	t.Run("bad effort refused", func(t *testing.T) {
		_, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "gpt", Messages: hello(), ReasoningEffort: "extreme"})
		var oe *openai.Error
		if !errors.As(err, &oe) || oe.StatusCode != 400 {
			t.Fatalf("err = %v, want a 400", err)
		}
	})
}

// TestAITemperatureClamped checks that an OpenAI temperature above
// Anthropic's range reaches Anthropic as its maximum, not as a 400.
func TestAITemperatureClamped(t *testing.T) {
	e := startAI(t, "", "", "")
	for _, tc := range []struct{ in, want float64 }{{1.7, 1}, {0.7, 0.7}} {
		e.an.Push(testkit.LLMReply{Text: "ok"})
		if _, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "claude", Messages: hello(), Temperature: openai.Float(tc.in)}); err != nil {
			t.Fatal(err)
		}
		if got := e.an.Last().Body["temperature"]; got != tc.want {
			t.Errorf("temperature %v reached Anthropic as %v, want %v", tc.in, got, tc.want)
		}
	}
}
