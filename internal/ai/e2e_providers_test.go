package ai_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"

	"github.com/sluicegw/sluice/internal/telemetry/otlptest"
	"github.com/sluicegw/sluice/internal/testkit"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// startBedrockAI starts a gateway whose model "br" is model on a Bedrock
// mock (region us-west-2) that accepts the SigV4 credential with access
// key id keyID.
func startBedrockAI(t *testing.T, keyID, model string) (*aiEnv, *testkit.MockBedrock) {
	t.Helper()
	cred := testkit.BedrockCredential{AccessKeyID: keyID, SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	mb := testkit.StartMockBedrock(t, testkit.MockBedrockConfig{Region: "us-west-2", Credentials: []testkit.BedrockCredential{cred}})
	e := startAI(t,
		fmt.Sprintf("    - { name: aws, type: bedrock, region: us-west-2, base_url: %q, api_keys: [%q] }", mb.URL, cred.Key()),
		fmt.Sprintf("    - { name: br, targets: [{ provider: aws, model: %s }] }", model), "")
	return e, mb
}

// TestBedrockThroughGateway drives the bedrock adapter (SigV4-signed
// Converse and ConverseStream) with both SDKs through a real gateway.
func TestBedrockThroughGateway(t *testing.T) {
	e, mb := startBedrockAI(t, "AKIDEXAMPLE", "us.anthropic.claude-sonnet-4-5-v1:0")

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
	msg := streamAnthropic(t, e, anthropic.MessageNewParams{Model: "br", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Rome?"))},
		Tools:    anthropicWeatherTool})
	if len(msg.Content) != 2 || msg.Content[0].Text != "Checking." || string(msg.Content[1].Input) != `{"city":"Rome"}` ||
		msg.StopReason != anthropic.StopReasonToolUse || msg.Usage.OutputTokens != 9 {
		t.Fatalf("streamed = %+v", msg)
	}
	if last := mb.Requests()[len(mb.Requests())-1]; last.Operation != "converse-stream" {
		t.Fatalf("operation = %s", last.Operation)
	}
}

// TestGeminiThroughGateway drives the gemini adapter with both SDKs
// through a real gateway: a chat with a system prompt, and a streamed
// tool call whose result goes back.
func TestGeminiThroughGateway(t *testing.T) {
	mg := testkit.StartMockGemini(t)
	mg.Key = "gm-key-1"
	e := startAI(t,
		fmt.Sprintf("    - { name: google, type: gemini, base_url: %q, api_keys: [%q] }", mg.URL, mg.Key),
		"    - { name: gem, targets: [{ provider: google, model: gemini-2.5-flash }] }", "")

	mg.Enqueue(testkit.GeminiReply{Answer: &testkit.GeminiAnswer{Text: "Ciao!", Usage: testkit.GeminiUsage{Prompt: 9, Candidates: 2, Thoughts: 5}}})
	msg, err := e.anthropic.Messages.New(ctx(t), anthropic.MessageNewParams{Model: "gem", MaxTokens: 50,
		System:   []anthropic.TextBlockParam{{Text: "Speak Italian."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))}})
	if err != nil {
		t.Fatal(err)
	}
	if msg.Content[0].Text != "Ciao!" || msg.Usage.InputTokens != 9 || msg.Usage.OutputTokens != 7 {
		t.Fatalf("message = %+v", msg)
	}
	req := mg.LastRequest()
	if !strings.HasSuffix(req.Path, "/models/gemini-2.5-flash:generateContent") || req.Header.Get("X-Goog-Api-Key") != "gm-key-1" ||
		!strings.Contains(string(req.Body), `"systemInstruction":{"parts":[{"text":"Speak Italian."}]}`) {
		t.Fatalf("gemini request = %s %v %s", req.Path, req.Header, req.Body)
	}

	mg.Enqueue(testkit.GeminiReply{Answer: &testkit.GeminiAnswer{Calls: []testkit.GeminiCall{{Name: "get_weather", Args: map[string]any{"city": "Milan"}}}}})
	stream := e.openai.Chat.Completions.NewStreaming(ctx(t), openai.ChatCompletionNewParams{Model: "gem",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Milan?")},
		Tools:    []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(weatherTool)}})
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"Milan"}` || acc.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("tool call = %+v", acc.Choices[0])
	}
	if req := mg.LastRequest(); !strings.Contains(req.Path, ":streamGenerateContent") || !strings.Contains(req.Query, "alt=sse") {
		t.Fatalf("stream request = %s?%s", req.Path, req.Query)
	}

	mg.Enqueue(testkit.GeminiReply{Answer: &testkit.GeminiAnswer{Text: "Rainy."}})
	_, err = e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "gem",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Milan?"), acc.Choices[0].Message.ToParam(),
			openai.ToolMessage("rain", calls[0].ID)},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(weatherTool)}})
	if err != nil {
		t.Fatal(err)
	}
	if body := string(mg.LastRequest().Body); !strings.Contains(body, `"functionResponse"`) || !strings.Contains(body, `"name":"get_weather"`) {
		t.Fatalf("tool result not sent as functionResponse: %s", body)
	}
}

// TestOpenAIFlavorsThroughGateway checks what each OpenAI-style provider
// type sends: Azure's deployment path, api-version and api-key header;
// Mistral's dialect; a keyless Ollama; an OpenAI-compatible server.
func TestOpenAIFlavorsThroughGateway(t *testing.T) {
	az, mi, ol, co := testkit.StartMockLLM(t, "openai"), testkit.StartMockLLM(t, "openai"), testkit.StartMockLLM(t, "openai"), testkit.StartMockLLM(t, "openai")
	e := startAI(t, fmt.Sprintf(`    - { name: az, type: azure, base_url: %q, api_version: "2024-06-01", api_keys: [az-key] }
    - { name: mi, type: mistral, base_url: %q, api_keys: [mi-key] }
    - { name: ol, type: ollama, base_url: %q }
    - { name: co, type: openai-compatible, base_url: %q, api_keys: [co-key], headers: { X-Org: acme } }`,
		az.URL, mi.URL+"/v1", ol.URL+"/v1", co.URL+"/v1"),
		`    - { name: az-gpt, targets: [{ provider: az, model: my-deployment }] }
    - { name: mistral, targets: [{ provider: mi, model: mistral-large-latest }] }
    - { name: llama, targets: [{ provider: ol, model: "llama3.1:8b" }] }
    - { name: qwen, targets: [{ provider: co, model: Qwen/Qwen2.5-7B }] }`, "")
	for _, tc := range []struct {
		model string
		mock  *testkit.MockLLM
		check func(r testkit.LLMRequest) string
	}{
		{"az-gpt", az, func(r testkit.LLMRequest) string {
			if r.Path != "/openai/deployments/my-deployment/chat/completions" || r.RawQuery != "api-version=2024-06-01" ||
				r.Header.Get("Api-Key") != "az-key" || r.Header.Get("Authorization") != "" || r.Body["model"] != nil {
				return fmt.Sprintf("azure: %s?%s %v %v", r.Path, r.RawQuery, r.Header, r.Body)
			}
			return ""
		}},
		{"mistral", mi, func(r testkit.LLMRequest) string {
			if r.Path != "/v1/chat/completions" || r.Body["random_seed"] != 7.0 || r.Body["seed"] != nil || r.Body["stream_options"] != nil ||
				r.Body["tool_choice"] != "any" || r.Body["max_tokens"] != 20.0 {
				return fmt.Sprintf("mistral: %s %v", r.Path, r.Body)
			}
			return ""
		}},
		{"llama", ol, func(r testkit.LLMRequest) string {
			if r.Header.Get("Authorization") != "" || r.Body["model"] != "llama3.1:8b" {
				return fmt.Sprintf("ollama: %v %v", r.Header, r.Body)
			}
			return ""
		}},
		{"qwen", co, func(r testkit.LLMRequest) string {
			if r.Header.Get("Authorization") != "Bearer co-key" || r.Header.Get("X-Org") != "acme" || r.Body["model"] != "Qwen/Qwen2.5-7B" {
				return fmt.Sprintf("compatible: %v %v", r.Header, r.Body)
			}
			return ""
		}},
	} {
		t.Run(tc.model, func(t *testing.T) {
			tc.mock.Push(testkit.LLMReply{Text: "fine"})
			stream := e.openai.Chat.Completions.NewStreaming(ctx(t), openai.ChatCompletionNewParams{Model: tc.model,
				Messages:   []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
				Seed:       openai.Int(7),
				MaxTokens:  openai.Int(20),
				Tools:      []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(weatherTool)},
				ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")},
			})
			acc := openai.ChatCompletionAccumulator{}
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil || acc.Choices[0].Message.Content != "fine" {
				t.Fatalf("answer %+v, %v", acc.Choices, err)
			}
			if msg := tc.check(tc.mock.Last()); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

// TestAITracing checks the GenAI span of a provider call: a child of the
// gateway's server span, with the gen_ai attributes, and the traceparent
// the provider received naming it.
func TestAITracing(t *testing.T) {
	recv := otlptest.Start(t)
	e := startAI(t, "", "", fmt.Sprintf("telemetry:\n  tracing: { enabled: true, endpoint: %q, sample_ratio: 1 }", recv.URL))
	e.an.Push(testkit.LLMReply{Text: "traced", Usage: testkit.LLMUsage{Input: 12, Output: 3}})
	if _, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "claude",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}); err != nil {
		t.Fatal(err)
	}
	spans := recv.WaitSpans(t, 2, 10*time.Second)
	var server, call *otlptest.Span
	for i := range spans {
		switch {
		case spans[i].Kind == tracepb.Span_SPAN_KIND_SERVER:
			server = &spans[i]
		case spans[i].Attrs["gen_ai.operation.name"] == "chat":
			call = &spans[i]
		}
	}
	if server == nil || call == nil {
		t.Fatalf("spans = %+v", spans)
	}
	if call.ParentSpanID != server.SpanID || call.TraceID != server.TraceID || call.Name != "chat claude-sonnet-4-5" {
		t.Fatalf("provider span %+v under %+v", call, server)
	}
	for k, v := range map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
		"gen_ai.usage.input_tokens": int64(12), "gen_ai.usage.output_tokens": int64(3), "sluice.provider": "an"} {
		if call.Attrs[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, call.Attrs[k], call.Attrs[k], v)
		}
	}
	tp := e.an.Last().Header.Get("Traceparent")
	if want := "00-" + call.TraceID + "-" + call.SpanID + "-01"; tp != want {
		t.Fatalf("provider got traceparent %q, want %q", tp, want)
	}
}
