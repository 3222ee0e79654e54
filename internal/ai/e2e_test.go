package ai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	openaiopt "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// aiEnv is a gateway with an AI route in front of mock providers.
type aiEnv struct {
	g         *gatewaytest.Gateway
	oa, an    *testkit.MockLLM
	openai    openai.Client
	anthropic anthropic.Client
}

const aiKey = "sk-alice-test"

// startAI runs a gateway whose models are: gpt (openai provider "oa"),
// claude (anthropic provider "an"), plus extra YAML models/providers.
func startAI(t *testing.T, extraProviders, extraModels, extra string) *aiEnv {
	return startAIOver(t, false, extraProviders, extraModels, extra)
}

// startAIOver is startAI with the mock providers on HTTPS and HTTP/2 when
// overTLS (the providers trust them with tls.ca_file): provider calls then
// go through net/http's transport rather than h1client.
func startAIOver(t *testing.T, overTLS bool, extraProviders, extraModels, extra string) *aiEnv {
	t.Helper()
	start, oaTLS, anTLS := testkit.StartMockLLM, "", ""
	if overTLS {
		start = testkit.StartMockLLMTLS
	}
	e := &aiEnv{oa: start(t, "openai"), an: start(t, "anthropic")}
	if overTLS {
		oaTLS, anTLS = fmt.Sprintf(", tls: { ca_file: %q }", e.oa.CAFile), fmt.Sprintf(", tls: { ca_file: %q }", e.an.CAFile)
	}
	yaml := fmt.Sprintf(`
routes:
  - name: ai
    match: { paths: ["/v1"] }
    ai: {}
    plugins:
      key-auth: {}
consumers:
  - name: alice
    credentials:
      - { type: key-auth, key: %q }
ai:
  providers:
    - { name: oa, type: openai, base_url: %q, api_keys: ["sk-oa-1"]%s }
    - { name: an, type: anthropic, base_url: %q, api_keys: ["sk-an-1"]%s }
%s
  models:
    - { name: gpt, targets: [{ provider: oa, model: gpt-4o }] }
    - { name: claude, targets: [{ provider: an, model: claude-sonnet-4-5 }] }
%s
  prices:
    "oa/gpt-4o": { input: 2.5, output: 10 }
    "an/claude-sonnet-4-5": { input: 3, output: 15, cached_input: 0.3 }
%s
`, aiKey, e.oa.URL+"/v1", oaTLS, e.an.URL, anTLS, extraProviders, extraModels, extra)
	e.g = gatewaytest.Start(t, yaml)
	e.openai = openai.NewClient(openaiopt.WithBaseURL(e.g.URL+"/v1/"), openaiopt.WithAPIKey(aiKey), openaiopt.WithMaxRetries(0))
	e.anthropic = anthropic.NewClient(anthropicopt.WithBaseURL(e.g.URL), anthropicopt.WithAPIKey(aiKey), anthropicopt.WithMaxRetries(0))
	return e
}

// anthropicWeatherTool is weatherTool as an Anthropic client declares it.
var anthropicWeatherTool = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather",
	InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}}

// streamAnthropic makes a streamed Messages call with the official SDK and
// returns the message it accumulates from the events.
func streamAnthropic(t *testing.T, e *aiEnv, p anthropic.MessageNewParams) anthropic.Message {
	t.Helper()
	stream := e.anthropic.Messages.NewStreaming(ctx(t), p)
	var msg anthropic.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	return msg
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

var weatherTool = shared.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("Weather for a city"),
	Parameters: shared.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required":   []string{"city"},
	},
}

// TestOpenAIClientEveryProvider drives each provider with the OpenAI SDK:
// a plain chat, a stream, and a tool call.
func TestOpenAIClientEveryProvider(t *testing.T) {
	e := startAI(t, "", "", "")
	for _, tc := range []struct {
		model string
		mock  *testkit.MockLLM
	}{{"gpt", e.oa}, {"claude", e.an}} {
		t.Run(tc.model, func(t *testing.T) {
			tc.mock.Push(testkit.LLMReply{Text: "Hi there, Alice.", Usage: testkit.LLMUsage{Input: 20, Output: 5, Cached: 4}})
			resp, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{
				Model: tc.model,
				Messages: []openai.ChatCompletionMessageParamUnion{
					openai.SystemMessage("Be brief."),
					openai.UserMessage("Hello"),
				},
				MaxTokens:   openai.Int(50),
				Temperature: openai.Float(0.2),
				Stop:        openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"END"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Choices[0].Message.Content; got != "Hi there, Alice." || resp.Choices[0].FinishReason != "stop" || resp.Model != tc.model {
				t.Fatalf("answer = %q finish %q model %q", got, resp.Choices[0].FinishReason, resp.Model)
			}
			if resp.Usage.PromptTokens != 20 || resp.Usage.CompletionTokens != 5 || resp.Usage.PromptTokensDetails.CachedTokens != 4 {
				t.Fatalf("usage = %+v", resp.Usage)
			}
			sent := tc.mock.Last().Body
			if tc.mock == e.an {
				if sent["system"] != "Be brief." || sent["max_tokens"] != 50.0 || fmt.Sprint(sent["stop_sequences"]) != "[END]" {
					t.Fatalf("anthropic request = %v", sent)
				}
				if h := tc.mock.Last().Header; h.Get("X-Api-Key") != "sk-an-1" || h.Get("Anthropic-Version") == "" {
					t.Fatalf("anthropic headers = %v", h)
				}
			} else {
				if sent["max_completion_tokens"] != 50.0 || sent["model"] != "gpt-4o" {
					t.Fatalf("openai request = %v", sent)
				}
				if h := tc.mock.Last().Header; h.Get("Authorization") != "Bearer sk-oa-1" {
					t.Fatalf("openai headers = %v", h)
				}
			}

			// A stream, with usage asked for.
			tc.mock.Push(testkit.LLMReply{Text: "one two three four", Chunks: 4, Usage: testkit.LLMUsage{Input: 11, Output: 4}})
			stream := e.openai.Chat.Completions.NewStreaming(ctx(t), openai.ChatCompletionNewParams{
				Model:         tc.model,
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Count")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			acc := openai.ChatCompletionAccumulator{}
			chunks := 0
			for stream.Next() {
				acc.AddChunk(stream.Current())
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if acc.Choices[0].Message.Content != "one two three four" || chunks < 5 || acc.Usage.PromptTokens != 11 || acc.Usage.CompletionTokens != 4 {
				t.Fatalf("stream: %q in %d chunks, usage %+v", acc.Choices[0].Message.Content, chunks, acc.Usage)
			}

			// A tool call, streamed, with arguments in small deltas.
			tc.mock.Push(testkit.LLMReply{ToolCalls: []testkit.LLMToolCall{
				{ID: "call_1", Name: "get_weather", Args: `{"city":"Paris"}`, ArgChunk: 3},
				{ID: "call_2", Name: "get_weather", Args: `{"city":"Oslo"}`, ArgChunk: 4},
			}})
			stream = e.openai.Chat.Completions.NewStreaming(ctx(t), openai.ChatCompletionNewParams{
				Model:    tc.model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris and Oslo?")},
				Tools:    []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(weatherTool)},
			})
			acc = openai.ChatCompletionAccumulator{}
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			calls := acc.Choices[0].Message.ToolCalls
			if len(calls) != 2 || calls[0].Function.Arguments != `{"city":"Paris"}` || calls[1].Function.Arguments != `{"city":"Oslo"}` ||
				calls[0].ID != "call_1" || calls[1].Function.Name != "get_weather" || acc.Choices[0].FinishReason != "tool_calls" {
				t.Fatalf("tool calls = %+v finish %q", calls, acc.Choices[0].FinishReason)
			}
			sent = tc.mock.Last().Body
			if !strings.Contains(fmt.Sprint(sent["tools"]), "get_weather") {
				t.Fatalf("tools not sent: %v", sent)
			}

			// The tool results go back; the provider sees them in its format.
			tc.mock.Push(testkit.LLMReply{Text: "Sunny in Paris, snow in Oslo."})
			resp, err = e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{
				Model: tc.model,
				Messages: []openai.ChatCompletionMessageParamUnion{
					openai.UserMessage("Weather in Paris and Oslo?"),
					acc.Choices[0].Message.ToParam(),
					openai.ToolMessage("sunny", "call_1"),
					openai.ToolMessage("snow", "call_2"),
				},
				Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(weatherTool)},
			})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Choices[0].Message.Content != "Sunny in Paris, snow in Oslo." {
				t.Fatalf("answer after tool results = %q", resp.Choices[0].Message.Content)
			}
			raw := string(tc.mock.Last().Raw)
			if tc.mock == e.an {
				// Both results in one user turn, after the assistant's tool_use blocks.
				if !strings.Contains(raw, `"type":"tool_use","id":"call_1"`) || !strings.Contains(raw, `{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"sunny"}]},{"type":"tool_result","tool_use_id":"call_2"`) {
					t.Fatalf("anthropic tool round trip = %s", raw)
				}
			} else if !strings.Contains(raw, `"role":"tool","content":"sunny","tool_call_id":"call_1"`) {
				t.Fatalf("openai tool round trip = %s", raw)
			}
		})
	}
}

// TestAnthropicClientEveryProvider drives each provider with the Anthropic
// SDK: a plain message, a stream with a tool call, and an image.
func TestAnthropicClientEveryProvider(t *testing.T) {
	e := startAI(t, "", "", "")
	for _, tc := range []struct {
		model string
		mock  *testkit.MockLLM
	}{{"gpt", e.oa}, {"claude", e.an}} {
		t.Run(tc.model, func(t *testing.T) {
			tc.mock.Push(testkit.LLMReply{Text: "Bonjour.", Usage: testkit.LLMUsage{Input: 30, Output: 3, Cached: 10}})
			msg, err := e.anthropic.Messages.New(ctx(t), anthropic.MessageNewParams{
				Model:     tc.model,
				MaxTokens: 64,
				System:    []anthropic.TextBlockParam{{Text: "Answer in French."}},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(
					anthropic.NewTextBlock("Hello, what is in this picture?"),
					anthropic.NewImageBlockBase64("image/png", "iVBORw0KGgo="),
				)},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(msg.Content) != 1 || msg.Content[0].Text != "Bonjour." || msg.StopReason != anthropic.StopReasonEndTurn || msg.Model != tc.model {
				t.Fatalf("message = %+v", msg)
			}
			if msg.Usage.InputTokens != 20 || msg.Usage.CacheReadInputTokens != 10 || msg.Usage.OutputTokens != 3 {
				t.Fatalf("usage = %+v", msg.Usage)
			}
			raw := string(tc.mock.Last().Raw)
			if tc.mock == e.oa {
				if !strings.Contains(raw, `{"role":"system","content":"Answer in French."}`) || !strings.Contains(raw, `"image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}`) {
					t.Fatalf("openai request = %s", raw)
				}
			} else if !strings.Contains(raw, `"source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}`) {
				t.Fatalf("anthropic request = %s", raw)
			}

			tc.mock.Push(testkit.LLMReply{Text: "Let me check.", ToolCalls: []testkit.LLMToolCall{{ID: "toolu_1", Name: "get_weather", Args: `{"city":"Lyon"}`, ArgChunk: 2}},
				Usage: testkit.LLMUsage{Input: 40, Output: 12}})
			got := streamAnthropic(t, e, anthropic.MessageNewParams{
				Model:     tc.model,
				MaxTokens: 64,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Lyon?"))},
				Tools:     anthropicWeatherTool,
			})
			if len(got.Content) != 2 || got.Content[0].Text != "Let me check." || got.Content[1].Name != "get_weather" ||
				string(got.Content[1].Input) != `{"city":"Lyon"}` || got.StopReason != anthropic.StopReasonToolUse {
				t.Fatalf("streamed message = %+v", got)
			}
			if got.Usage.OutputTokens != 12 || got.Usage.InputTokens != 40 {
				t.Fatalf("streamed usage = %+v", got.Usage)
			}
		})
	}
}

// TestAIErrorsInClientFormat checks that the SDKs raise typed errors with
// the gateway's code inside.
func TestAIErrorsInClientFormat(t *testing.T) {
	e := startAI(t, "", "", "")
	_, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "nope",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 404 || oe.Code != "model_not_found" || oe.Type != "not_found_error" {
		t.Fatalf("unknown model: %v", err)
	}
	if oe.Response.Header.Get("Sluice-Error") != "model_not_found" || oe.Response.Header.Get("X-Request-Id") == "" {
		t.Fatalf("headers = %v", oe.Response.Header)
	}

	_, err = e.anthropic.Messages.New(ctx(t), anthropic.MessageNewParams{Model: "nope", MaxTokens: 5,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	var ae *anthropic.Error
	if !errors.As(err, &ae) || ae.StatusCode != 404 || !strings.Contains(ae.RawJSON(), `"type":"not_found_error"`) {
		t.Fatalf("anthropic unknown model: %v", err)
	}

	// A wrong consumer key: 401 in the client's format.
	bad := openai.NewClient(openaiopt.WithBaseURL(e.g.URL+"/v1/"), openaiopt.WithAPIKey("wrong"), openaiopt.WithMaxRetries(0))
	_, err = bad.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "gpt",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	if !errors.As(err, &oe) || oe.StatusCode != 401 || oe.Code != "unauthorized" {
		t.Fatalf("bad key: %v", err)
	}

	// The provider's own 400 reaches the caller as provider_error with its
	// message; no retry and no fallback.
	e.oa.Push(testkit.LLMReply{Status: 400, ErrType: "invalid_value", ErrMessage: "temperature is out of range"})
	n := len(e.oa.Requests())
	_, err = e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "gpt",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	if !errors.As(err, &oe) || oe.StatusCode != 400 || oe.Code != "provider_error" || !strings.Contains(oe.Message, "temperature is out of range") {
		t.Fatalf("provider 400: %v", err)
	}
	if len(e.oa.Requests()) != n+1 {
		t.Fatalf("a caller fault was retried: %d calls", len(e.oa.Requests())-n)
	}
}

// TestAIModelsAndEmbeddings lists models and embeds text through the SDK.
func TestAIModelsAndEmbeddings(t *testing.T) {
	e := startAI(t, "", "", "")
	page, err := e.openai.Models.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if fmt.Sprint(ids) != "[claude gpt]" {
		t.Fatalf("models = %v", ids)
	}
	m, err := e.openai.Models.Get(ctx(t), "gpt")
	if err != nil || m.ID != "gpt" {
		t.Fatalf("model = %+v, %v", m, err)
	}

	e.oa.Push(testkit.LLMReply{Vectors: [][]float64{{1, 2}, {3, 4}}, Usage: testkit.LLMUsage{Input: 7}})
	emb, err := e.openai.Embeddings.New(ctx(t), openai.EmbeddingNewParams{Model: "gpt",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Data) != 2 || fmt.Sprint(emb.Data[1].Embedding) != "[3 4]" || emb.Usage.PromptTokens != 7 {
		t.Fatalf("embeddings = %+v", emb)
	}
	// Anthropic serves no embeddings: a clear caller error.
	_, err = e.openai.Embeddings.New(ctx(t), openai.EmbeddingNewParams{Model: "claude",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("a")}})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 400 {
		t.Fatalf("claude embeddings: %v", err)
	}
}

// TestAIUsageInAccessLog checks tokens, cost and time to first token.
func TestAIUsageInAccessLog(t *testing.T) {
	e := startAI(t, "", "", "")
	e.an.Push(testkit.LLMReply{Text: "ok", Usage: testkit.LLMUsage{Input: 1000, Cached: 400, Output: 200}})
	var resp *http.Response
	_, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "claude",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}, openaiopt.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Sluice-Provider") != "an/claude-sonnet-4-5" {
		t.Fatalf("Sluice-Provider = %q", resp.Header.Get("Sluice-Provider"))
	}
	line := e.g.LogFor(resp.Header.Get("X-Request-Id"))
	ai, _ := line["ai"].(map[string]any)
	// 600 uncached × $3 + 400 cached × $0.30 + 200 × $15, per million.
	want := (600*3.0 + 400*0.3 + 200*15.0) / 1e6
	if ai == nil || ai["model"] != "claude" || ai["provider"] != "an" || ai["input_tokens"] != 1000.0 || ai["cached_tokens"] != 400.0 ||
		ai["output_tokens"] != 200.0 || fmt.Sprintf("%.8f", ai["cost_usd"]) != fmt.Sprintf("%.8f", want) || ai["first_token_ms"] == nil {
		t.Fatalf("access log ai = %v (want cost %v)", ai, want)
	}
	if line["consumer"] != "alice" || line["route"] != "ai" {
		t.Fatalf("access log = %v", line)
	}
}

// TestAIUsageInStore checks that usage reaches the store and the admin
// API's /usage sums it, with cached tokens, by provider; a stream cut by
// the provider is recorded as partial.
func TestAIUsageInStore(t *testing.T) {
	t.Setenv("SLUICE_ADMIN_TOKEN", "admin-token-for-usage-test")
	e := startAI(t, "", "", "")
	e.g.WaitAdminAPI()
	e.oa.Push(testkit.LLMReply{Text: "a", Usage: testkit.LLMUsage{Input: 100, Output: 10, Cached: 20}})
	e.an.Push(testkit.LLMReply{Text: "b", Usage: testkit.LLMUsage{Input: 50, Output: 5}})
	for _, m := range []string{"gpt", "claude"} {
		if _, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: m,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(q string) []any {
		req, _ := http.NewRequest("GET", e.g.AdminURL+"/api/v1/usage"+q, nil)
		req.Header.Set("Authorization", "Bearer admin-token-for-usage-test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Data []any }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("usage %s: %d %v", q, resp.StatusCode, err)
		}
		return out.Data
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows := get("?group_by=provider")
		if len(rows) == 2 {
			an, oa := rows[0].(map[string]any), rows[1].(map[string]any)
			if an["provider"] != "an" || an["input_tokens"] != 50.0 || oa["provider"] != "oa" || oa["cached_tokens"] != 20.0 ||
				oa["consumer"] != nil || oa["cost_usd"].(float64) <= 0 {
				t.Fatalf("usage rows = %v", rows)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage never reached the store: %v", rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rows := get("?consumer=alice&model=gpt"); len(rows) != 1 || rows[0].(map[string]any)["requests"] != 1.0 {
		t.Fatalf("alice on gpt = %v", rows)
	}
}

// TestAIMetrics scrapes the admin listener's /metrics after AI traffic:
// tokens by type, cost, time to first token, provider errors by code, and
// no label from an unknown model name.
func TestAIMetrics(t *testing.T) {
	e := startAI(t, "", "", "")
	e.g.WaitAdminAPI()
	e.oa.Push(testkit.LLMReply{Status: 503}, testkit.LLMReply{Text: "ok", Usage: testkit.LLMUsage{Input: 100, Output: 40, Cached: 30, Reasoning: 10}})
	if _, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "gpt",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}); err != nil {
		t.Fatal(err)
	}
	e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "no-such-model-xyz",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	resp, err := http.Get(e.g.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	for _, want := range []string{
		`sluice_ai_requests_total{code="",model="gpt",provider="oa"} 1`,
		`sluice_ai_tokens_total{model="gpt",provider="oa",type="input"} 100`,
		`sluice_ai_tokens_total{model="gpt",provider="oa",type="cached"} 30`,
		`sluice_ai_tokens_total{model="gpt",provider="oa",type="reasoning"} 10`,
		`sluice_ai_tokens_total{model="gpt",provider="oa",type="output"} 40`,
		`sluice_ai_provider_errors_total{code="provider_overloaded",provider="oa"} 1`,
		`sluice_ai_first_token_seconds_count{model="gpt",provider="oa"} 1`,
		`sluice_ai_cost_usd_total{model="gpt",provider="oa"} 0.00065`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "no-such-model-xyz") {
		t.Error("an unknown model name became a label")
	}
}
