package openai

import (
	"encoding/json"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// checkAnswerEncoding fails t unless appendAnswer writes a as
// encoding/json does, byte for byte.
func checkAnswerEncoding(t *testing.T, a *chatAnswer) {
	t.Helper()
	want, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendAnswer(nil, a); string(got) != string(want) {
		t.Fatalf("appendAnswer:\n%s\nencoding/json:\n%s", got, want)
	}
}

func TestAnswerEncoding(t *testing.T) {
	two, refusal, fp := 2, "I can't <help> & won't", "fp_1"
	checkAnswerEncoding(t, &chatAnswer{})
	checkAnswerEncoding(t, &chatAnswer{ID: "chatcmpl-1", Object: "chat.completion", Created: 1700000000, Model: "gpt",
		Choices: []answerChoice{{Message: &answerMessage{Role: "assistant", Content: content{Text: "line\n\"q\" \u2028 <b> \x01 é 😀 \xff"}},
			FinishReason: "stop"}},
		Usage: encodeUsage(llm.Usage{Input: 12, Output: 5, CachedInput: 3, Reasoning: 2})})
	checkAnswerEncoding(t, &chatAnswer{ID: "x", SystemFingerprint: &fp, Choices: []answerChoice{
		{Index: 1, Logprobs: &struct{}{}, Message: &answerMessage{Role: "assistant", Content: content{Null: true}, Refusal: &refusal,
			ToolCalls: []toolCall{{ID: "call_1", Type: "function", Function: functionCall{Name: "f", Arguments: `{"a":"<&>"}`}},
				{Index: &two, Function: functionCall{Arguments: ""}}}, ReasoningContent: "think & think"}},
		{Message: nil, FinishReason: "tool_calls"},
		{Message: &answerMessage{Content: content{IsParts: true, Parts: []contentPart{{Type: "text", Text: "a<b"}, {Type: "image_url", ImageURL: &imageURL{URL: "u"}}}}}},
	}, Usage: &usage{PromptTokens: 1}})
}

// FuzzAnswerEncoding holds appendAnswer to encoding/json on arbitrary
// strings and counts.
func FuzzAnswerEncoding(f *testing.F) {
	f.Add("chatcmpl-1", "gpt", "Hello <world> & \u2028", "call_1", `{"x":1}`, "thinking", int64(1700000000), int64(7))
	f.Fuzz(func(t *testing.T, id, model, text, callID, args, reasoning string, created, n int64) {
		idx := int(n % 5)
		a := &chatAnswer{ID: id, Object: "chat.completion", Created: created, Model: model, SystemFingerprint: &model,
			Choices: []answerChoice{{Index: idx, FinishReason: text, Message: &answerMessage{Role: "assistant", Content: content{Text: text},
				Refusal: &args, ReasoningContent: reasoning,
				ToolCalls: []toolCall{{Index: &idx, ID: callID, Type: model, Function: functionCall{Name: callID, Arguments: args}}}}}},
			Usage: &usage{PromptTokens: n, CompletionTokens: -n, TotalTokens: created, PromptTokensDetails: &promptTokensDetails{CachedTokens: n}},
		}
		checkAnswerEncoding(t, a)
	})
}
