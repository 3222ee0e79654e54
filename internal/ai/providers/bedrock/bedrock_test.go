package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	testCred    = testkit.BedrockCredential{AccessKeyID: "AKIDSLUICETEST", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	sessionCred = testkit.BedrockCredential{AccessKeyID: "ASIASLUICETEST", SecretAccessKey: "c2Vzc2lvbi1zZWNyZXQ", SessionToken: "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="}
	testAPIKey  = "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbFdpdGhCZWFyZXJUb2tlbg=="
)

// profileARN is an inference profile ARN: its ':' and '/' must be escaped
// in the path and signed as such.
const profileARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"

func startMock(t *testing.T) *testkit.MockBedrock {
	t.Helper()
	return testkit.StartMockBedrock(t, testkit.MockBedrockConfig{
		Region:      "us-east-1",
		Credentials: []testkit.BedrockCredential{testCred, sessionCred},
		APIKeys:     []string{testAPIKey},
	})
}

func configFor(m *testkit.MockBedrock) config.Provider {
	return config.Provider{Name: "aws", Type: "bedrock", BaseURL: m.URL, Region: m.Region, APIKeys: []string{testCred.Key()}}
}

func newProvider(t *testing.T, m *testkit.MockBedrock) *Provider {
	t.Helper()
	p, err := New(configFor(m), llm.Options{Client: m.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkAuth fails the test if the mock refused any request's credentials.
func checkAuth(t *testing.T, m *testkit.MockBedrock) {
	t.Helper()
	if f := m.AuthFailures(); len(f) > 0 {
		t.Fatalf("the mock refused the authentication: %v", f)
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func indentJSON(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

func marshalGolden(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func userText(s string) llm.Message {
	return llm.Message{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: s}}}
}

func ptrTo[T any](v T) *T { return &v }

var weatherTool = llm.Tool{
	Name:        "get_weather",
	Description: "Current weather of a city.",
	Parameters:  json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
}

// chatCase is a canonical request and a scripted answer whose Converse
// request body and canonical result are pinned by golden files.
type chatCase struct {
	name  string
	model string
	req   llm.Request
	reply testkit.BedrockReply
}

var chatCases = []chatCase{
	{
		name:  "text",
		model: "amazon.nova-lite-v1:0",
		req:   llm.Request{Messages: []llm.Message{userText("Say hello.")}},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "Hello!"}}, Usage: testkit.BedrockUsage{Input: 5, Output: 3}},
	},
	{
		name:  "system_multi_turn",
		model: profileARN,
		req: llm.Request{
			Messages: []llm.Message{
				{Role: llm.RoleSystem, Content: []llm.Part{{Type: llm.PartText, Text: "You are terse."}}},
				userText("What is 2+2?"),
				{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartText, Text: "4"}}},
				{Role: llm.RoleSystem, Content: []llm.Part{{Type: llm.PartText, Text: "Answer in French."}}},
				userText("And 3+3?"),
			},
			MaxTokens: 256, Temperature: ptrTo(0.2), TopP: ptrTo(0.9), TopK: ptrTo(40),
			Stop: []string{"END", "\n\nHuman:"}, Seed: ptrTo(int64(7)), User: "u-1",
		},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "Six"}}, StopReason: "stop_sequence", Usage: testkit.BedrockUsage{Input: 30, Output: 2}},
	},
	{
		name:  "images",
		model: "anthropic.claude-3-haiku-20240307-v1:0",
		req: llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
			{Type: llm.PartText, Text: "Compare these."},
			{Type: llm.PartImage, Image: &llm.Image{MediaType: "image/png", Data: "iVBORw0KGgo="}},
			{Type: llm.PartImage, Image: &llm.Image{URL: "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}},
			{Type: llm.PartImage, Image: &llm.Image{MediaType: "image/webp", Data: "UklGRg=="}},
		}}}},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "Both are tiny."}}, Usage: testkit.BedrockUsage{Input: 900, Output: 4}},
	},
	{
		name:  "parallel_tool_calls",
		model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
		req: llm.Request{
			Messages:   []llm.Message{userText("Weather in Paris and Rome?")},
			Tools:      []llm.Tool{weatherTool, {Name: "now"}},
			ToolChoice: &llm.ToolChoice{Mode: llm.ToolRequired},
		},
		reply: testkit.BedrockReply{
			Content: []testkit.BedrockBlock{
				{Text: "Let me check."},
				{ToolUse: &testkit.BedrockToolUse{ID: "tooluse_a1", Name: "get_weather", Input: `{"city":"Paris"}`}},
				{ToolUse: &testkit.BedrockToolUse{ID: "tooluse_b2", Name: "get_weather", Input: `{"city": "Rome"}`}},
			},
			StopReason: "tool_use",
			Usage:      testkit.BedrockUsage{Input: 12, Output: 40, CacheRead: 1000, CacheWrite: 50},
		},
	},
	{
		name:  "tool_results_round_trip",
		model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
		req: llm.Request{
			Messages: []llm.Message{
				userText("Weather in Paris and Rome?"),
				{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
					{ID: "tooluse_a1", Name: "get_weather", Arguments: `{"city":"Paris"}`},
					{ID: "tooluse_b2", Name: "get_weather", Arguments: `{ "city" : "Rome" }`},
				}},
				{Role: llm.RoleTool, ToolCallID: "tooluse_a1", Content: []llm.Part{{Type: llm.PartText, Text: `{"temp_c":18}`}}},
				{Role: llm.RoleTool, ToolCallID: "tooluse_b2", IsError: true, Content: []llm.Part{{Type: llm.PartText, Text: "service down"}}},
				userText("Summarise."),
			},
			Tools:      []llm.Tool{weatherTool},
			ToolChoice: &llm.ToolChoice{Mode: llm.ToolNamed, Name: "get_weather"},
		},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "Paris is 18°C; Rome is unknown."}}, StopReason: "end_turn", Usage: testkit.BedrockUsage{Input: 80, Output: 9}},
	},
	{
		name:  "tool_choice_none",
		model: "mistral.mistral-large-2407-v1:0",
		req: llm.Request{
			Messages:   []llm.Message{userText("Just chat.")},
			Tools:      []llm.Tool{weatherTool},
			ToolChoice: &llm.ToolChoice{Mode: llm.ToolNone},
		},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "Sure."}}, StopReason: "max_tokens", Usage: testkit.BedrockUsage{Input: 4, Output: 1}},
	},
	{
		name:  "tool_history_without_tools",
		model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
		req: llm.Request{Messages: []llm.Message{
			userText("Time?"),
			{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartText, Text: "Checking."}}, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "now"}}},
			{Role: llm.RoleTool, ToolCallID: "t1"},
			{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartText, Text: ""}}},
			userText("Thanks."),
		}},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "You're welcome."}}, Usage: testkit.BedrockUsage{Input: 30, Output: 4}},
	},
	{
		name:  "json_schema",
		model: "anthropic.claude-sonnet-4-5-20250929-v1:0",
		req: llm.Request{
			Messages: []llm.Message{userText("Give me a city.")},
			ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "city", Strict: true,
				Schema: json.RawMessage(`{"type": "object", "properties": {"name": {"type": "string"}}}`)},
		},
		reply: testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: `{"name":"Lyon"}`}}, Usage: testkit.BedrockUsage{Input: 20, Output: 6}},
	},
}

func TestChatGolden(t *testing.T) {
	for _, tc := range slices.Concat(chatCases, reasoningChatCases) {
		t.Run(tc.name, func(t *testing.T) {
			m := startMock(t)
			m.Reply(tc.reply)
			req := tc.req
			before := marshalGolden(t, &req)
			resp, err := newProvider(t, m).Chat(context.Background(), &llm.Call{Model: tc.model, Key: testCred.Key(), Request: &req})
			checkAuth(t, m)
			if err != nil {
				t.Fatal(err)
			}
			if after := marshalGolden(t, &req); !bytes.Equal(before, after) {
				t.Error("the adapter modified the canonical request")
			}
			reqs := m.Requests()
			if len(reqs) != 1 || reqs[0].Operation != "converse" || reqs[0].ModelID != tc.model {
				t.Fatalf("requests %+v", reqs)
			}
			if ct := reqs[0].Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			golden(t, "chat/"+tc.name+".request.json", indentJSON(t, reqs[0].Body))
			golden(t, "chat/"+tc.name+".result.json", marshalGolden(t, resp))
		})
	}
}

func TestARNPathIsEscaped(t *testing.T) {
	m := startMock(t)
	_, err := newProvider(t, m).Chat(context.Background(), &llm.Call{Model: profileARN, Key: testCred.Key(), Request: &llm.Request{Messages: []llm.Message{userText("hi")}}})
	checkAuth(t, m)
	if err != nil {
		t.Fatal(err)
	}
	want := "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
	if got := m.Requests()[0].EscapedPath; got != want {
		t.Errorf("path %s\nwant %s", got, want)
	}
}

func TestUsageCountsCachedInput(t *testing.T) {
	m := startMock(t)
	m.Reply(testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "x"}}, Usage: testkit.BedrockUsage{Input: 10, Output: 7, CacheRead: 1000, CacheWrite: 200}})
	resp, err := newProvider(t, m).Chat(context.Background(), &llm.Call{Model: "m", Key: testCred.Key(), Request: &llm.Request{Messages: []llm.Message{userText("hi")}}})
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Usage{Input: 1210, CachedInput: 1000, CacheWrite: 200, Output: 7}
	if resp.Usage != want {
		t.Errorf("usage %+v, want %+v", resp.Usage, want)
	}
}

func TestFinishReasons(t *testing.T) {
	cases := map[string]llm.FinishReason{
		"end_turn":                      llm.FinishStop,
		"stop_sequence":                 llm.FinishStop,
		"tool_use":                      llm.FinishToolCalls,
		"max_tokens":                    llm.FinishLength,
		"model_context_window_exceeded": llm.FinishLength,
		"guardrail_intervened":          llm.FinishContentFilter,
		"content_filtered":              llm.FinishContentFilter,
		"malformed_tool_use":            llm.FinishStop,
	}
	m := startMock(t)
	p := newProvider(t, m)
	for reason, want := range cases {
		t.Run(reason, func(t *testing.T) {
			m.Reply(testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "x"}}, StopReason: reason})
			resp, err := p.Chat(context.Background(), &llm.Call{Model: "m", Key: testCred.Key(), Request: &llm.Request{Messages: []llm.Message{userText("hi")}}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.FinishReason != want {
				t.Errorf("%s → %q, want %q", reason, resp.FinishReason, want)
			}
		})
	}
}

func TestCallerFaultsAreNotSent(t *testing.T) {
	cases := []struct {
		name string
		msg  llm.Message
		want string
	}{
		{"image by URL", llm.Message{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartImage, Image: &llm.Image{URL: "http://169.254.169.254/latest/meta-data"}}}}, "inline"},
		{"unsupported image type", llm.Message{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartImage, Image: &llm.Image{MediaType: "image/tiff", Data: "AAAA"}}}}, "image/tiff"},
		{"arguments not an object", llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "f", Arguments: `[1,2]`}}}, "JSON object"},
		{"arguments not JSON", llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t1", Name: "f", Arguments: `{"a":`}}}, "JSON object"},
	}
	m := startMock(t)
	p := newProvider(t, m)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &llm.Request{Messages: []llm.Message{userText("hi"), tc.msg}, Tools: []llm.Tool{{Name: "f"}}}
			_, err := p.Chat(context.Background(), &llm.Call{Model: "m", Key: testCred.Key(), Request: req})
			var pe *llm.ProviderError
			if !errors.As(err, &pe) || pe.Class != llm.ClassCaller || !strings.Contains(pe.Message, tc.want) {
				t.Fatalf("got %v, want a caller error mentioning %q", err, tc.want)
			}
		})
	}
	if n := len(m.Requests()); n != 0 {
		t.Errorf("%d requests reached the provider", n)
	}
}
