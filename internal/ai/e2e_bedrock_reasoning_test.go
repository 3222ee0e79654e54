package ai_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/sluicegw/sluice/internal/testkit"
)

// TestBedrockThinkingThroughGateway drives Claude's extended thinking on
// Bedrock through a real gateway with the official Anthropic SDK: a
// unary turn that thinks and calls a tool, a streamed turn that gets the
// thinking back (the mock refuses a thinking tool loop without it, as
// Bedrock does) and thinks again, signed and redacted, and a last turn
// that sends the redacted block back as it came.
func TestBedrockThinkingThroughGateway(t *testing.T) {
	e, mb := startBedrockAI(t, "AKIDTHINKING", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
	const (
		thought, sig   = "The user wants Paris weather; I should call the tool.", "EqQBCkYIBxgCKkBzaWctMQ=="
		thought2, sig2 = "The tool says sunny.", "EqQBCkYIBxgCKkBzaWctMg=="
	)
	redacted := []byte("\x00encrypted reasoning\xff")

	// Turn 1, unary: think, then call the tool.
	mb.Reply(testkit.BedrockReply{
		Content: []testkit.BedrockBlock{
			{Reasoning: &testkit.BedrockReasoning{Text: thought, Signature: sig}},
			{ToolUse: &testkit.BedrockToolUse{ID: "tooluse_1", Name: "get_weather", Input: `{"city":"Paris"}`}},
		},
		StopReason: "tool_use", Usage: testkit.BedrockUsage{Input: 50, Output: 80},
	})
	ask := anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))
	params := anthropic.MessageNewParams{Model: "br", MaxTokens: 4096, Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Tools: anthropicWeatherTool, Messages: []anthropic.MessageParam{ask}}
	resp, err := e.anthropic.Messages.New(ctx(t), params)
	if err != nil {
		t.Fatalf("turn 1: %v (bedrock got %s)", err, lastBedrockBody(t, mb))
	}
	if len(resp.Content) != 2 || resp.Content[0].Type != "thinking" || resp.Content[0].Thinking != thought || resp.Content[0].Signature != sig ||
		resp.Content[1].Type != "tool_use" || string(resp.Content[1].Input) != `{"city":"Paris"}` {
		t.Fatalf("turn 1 answer = %+v", resp.Content)
	}
	var first struct {
		InferenceConfig              map[string]any `json:"inferenceConfig"`
		AdditionalModelRequestFields struct {
			Thinking map[string]any `json:"thinking"`
		} `json:"additionalModelRequestFields"`
	}
	if err := json.Unmarshal(lastBedrockBody(t, mb), &first); err != nil {
		t.Fatal(err)
	}
	if th := first.AdditionalModelRequestFields.Thinking; th["type"] != "enabled" || th["budget_tokens"] != float64(2048) {
		t.Fatalf("bedrock got thinking %v", th)
	}
	if ic := first.InferenceConfig; ic["maxTokens"] != float64(4096) || ic["temperature"] != nil {
		t.Fatalf("bedrock got inferenceConfig %v", ic)
	}

	// Turn 2, streamed: the thinking goes back with the tool's result; the
	// answer thinks (signed, then redacted) and answers.
	mb.Reply(testkit.BedrockReply{Content: []testkit.BedrockBlock{
		{Reasoning: &testkit.BedrockReasoning{Text: thought2, Signature: sig2}},
		{Reasoning: &testkit.BedrockReasoning{Redacted: redacted}},
		{Text: "It is sunny in Paris."},
	}, Usage: testkit.BedrockUsage{Input: 120, Output: 30}})
	params.Messages = []anthropic.MessageParam{ask, resp.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock("tooluse_1", "sunny, 24°C", false))}
	msg := streamAnthropic(t, e, params)
	data := base64.StdEncoding.EncodeToString(redacted)
	if len(msg.Content) != 3 || msg.Content[0].Type != "thinking" || msg.Content[0].Thinking != thought2 || msg.Content[0].Signature != sig2 ||
		msg.Content[1].Type != "redacted_thinking" || msg.Content[1].Data != data || msg.Content[2].Text != "It is sunny in Paris." {
		t.Fatalf("turn 2 answer = %+v", msg.Content)
	}
	second := bedrockMessages(t, mb)
	if len(second) != 3 {
		t.Fatalf("bedrock got %d messages", len(second))
	}
	rt := second[1].Content[0].ReasoningContent
	if rt == nil || rt.ReasoningText == nil || rt.ReasoningText.Text != thought || rt.ReasoningText.Signature != sig || second[1].Content[1].ToolUse == nil {
		t.Fatalf("the assistant turn went back as %s", lastBedrockBody(t, mb))
	}
	if op := mb.Requests()[len(mb.Requests())-1].Operation; op != "converse-stream" {
		t.Fatalf("operation %s", op)
	}

	// Turn 3: the redacted block goes back as it came.
	mb.Reply(testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "You're welcome."}}})
	params.Messages = append(params.Messages, msg.ToParam(), anthropic.NewUserMessage(anthropic.NewTextBlock("Thanks!")))
	if _, err := e.anthropic.Messages.New(ctx(t), params); err != nil {
		t.Fatalf("turn 3: %v", err)
	}
	third := bedrockMessages(t, mb)
	if len(third) != 5 || len(third[3].Content) != 3 || third[3].Content[1].ReasoningContent == nil ||
		third[3].Content[1].ReasoningContent.RedactedContent != data || third[3].Content[0].ReasoningContent.ReasoningText.Signature != sig2 {
		t.Fatalf("the redacted block went back as %s", lastBedrockBody(t, mb))
	}
}

// lastBedrockBody is the body of the last request the mock received.
func lastBedrockBody(t *testing.T, mb *testkit.MockBedrock) []byte {
	t.Helper()
	reqs := mb.Requests()
	if len(reqs) == 0 {
		t.Fatal("bedrock received no request")
	}
	return reqs[len(reqs)-1].Body
}

// bedrockMessage is a Converse message as the test reads it.
type bedrockMessage struct {
	Role    string `json:"role"`
	Content []struct {
		Text             *string         `json:"text"`
		ToolUse          json.RawMessage `json:"toolUse"`
		ReasoningContent *struct {
			ReasoningText *struct {
				Text      string `json:"text"`
				Signature string `json:"signature"`
			} `json:"reasoningText"`
			RedactedContent string `json:"redactedContent"`
		} `json:"reasoningContent"`
	} `json:"content"`
}

// bedrockMessages decodes the messages of the last request to the mock.
func bedrockMessages(t *testing.T, mb *testkit.MockBedrock) []bedrockMessage {
	t.Helper()
	var body struct {
		Messages []bedrockMessage `json:"messages"`
	}
	if err := json.Unmarshal(lastBedrockBody(t, mb), &body); err != nil {
		t.Fatal(err)
	}
	return body.Messages
}
