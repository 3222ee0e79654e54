package ai_test

import (
	"fmt"
	"strings"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"

	"github.com/sluicegw/sluice/internal/testkit"
)

// TestBedrockThroughGateway drives the bedrock adapter (SigV4-signed
// Converse and ConverseStream) with both SDKs through a real gateway.
func TestBedrockThroughGateway(t *testing.T) {
	cred := testkit.BedrockCredential{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	mb := testkit.StartMockBedrock(t, testkit.MockBedrockConfig{Region: "us-west-2", Credentials: []testkit.BedrockCredential{cred}})
	e := startAI(t,
		fmt.Sprintf("    - { name: aws, type: bedrock, region: us-west-2, base_url: %q, api_keys: [%q] }", mb.URL, cred.Key()),
		"    - { name: br, targets: [{ provider: aws, model: us.anthropic.claude-sonnet-4-5-v1:0 }] }", "")

	mb.Reply(testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "Hello from Bedrock."}}, Usage: testkit.BedrockUsage{Input: 12, Output: 4, CacheRead: 3}})
	resp, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "br",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be kind."), openai.UserMessage("Hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Hello from Bedrock." || resp.Usage.PromptTokens != 15 || resp.Usage.PromptTokensDetails.CachedTokens != 3 {
		t.Fatalf("answer = %+v usage %+v", resp.Choices[0].Message, resp.Usage)
	}
	reqs := mb.Requests()
	last := reqs[len(reqs)-1]
	if last.Operation != "converse" || last.ModelID != "us.anthropic.claude-sonnet-4-5-v1:0" || last.AccessKeyID != "AKIDEXAMPLE" ||
		!strings.Contains(string(last.Body), `"system":[{"text":"Be kind."}]`) {
		t.Fatalf("bedrock request = %+v %s", last, last.Body)
	}

	mb.Reply(testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "Checking."}, {ToolUse: &testkit.BedrockToolUse{ID: "tooluse_1", Name: "get_weather", Input: `{"city":"Rome"}`}}},
		StopReason: "tool_use", Usage: testkit.BedrockUsage{Input: 30, Output: 9}})
	stream := e.anthropic.Messages.NewStreaming(ctx(t), anthropic.MessageNewParams{Model: "br", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Rome?"))},
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather",
			InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}}})
	var msg anthropic.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 2 || msg.Content[0].Text != "Checking." || string(msg.Content[1].Input) != `{"city":"Rome"}` ||
		msg.StopReason != anthropic.StopReasonToolUse || msg.Usage.OutputTokens != 9 {
		t.Fatalf("streamed = %+v", msg)
	}
	if last := mb.Requests()[len(mb.Requests())-1]; last.Operation != "converse-stream" {
		t.Fatalf("operation = %s", last.Operation)
	}
}
