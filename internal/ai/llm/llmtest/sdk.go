package llmtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	anthropicsdk "github.com/anthropics/anthropic-sdk-go/v2"
	anthropicsse "github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"
	openaisdk "github.com/openai/openai-go/v3"
	openaisse "github.com/openai/openai-go/v3/packages/ssestream"
)

// NewerAnthropicFields are fields the Anthropic SDK marks required that
// are newer than the Messages dialect the gateway writes (and that the
// SDKs read as absent when missing).
var NewerAnthropicFields = []string{
	"usage.cache_creation", "usage.inference_geo", "usage.server_tool_use", "usage.service_tier",
	"usage.speed", "usage.output_tokens_details", "message.container", "container", "stop_details",
	"message.stop_details", "delta.stop_details", "delta.container", "content.citations",
	"content_block.citations", "message.usage.cache_creation", "message.usage.inference_geo",
	"message.usage.server_tool_use", "message.usage.service_tier", "message.usage.speed",
	"message.usage.output_tokens_details", "diagnostics",
	"content.caller", "content_block.caller",
}

// DeltaUsageOmitted are the message_delta usage counts Anthropic leaves
// out when they did not change; the SDK's Accumulate keeps those of
// message_start then.
var DeltaUsageOmitted = []string{"/usage.input_tokens", "/usage.cache_creation_input_tokens", "/usage.cache_read_input_tokens"}

// NewerOpenAIFields are fields the OpenAI SDK marks required that the
// gateway does not write (and that the SDK reads as absent when missing).
var NewerOpenAIFields = []string{"message.annotations", "choices.logprobs"}

// OpenAIExtensions are fields the gateway writes beyond what the SDK
// models: the model's reasoning text, as DeepSeek and vLLM send it.
var OpenAIExtensions = []string{"message.reasoning_content", "delta.reasoning_content"}

func sseResponse(raw []byte) *http.Response {
	req, _ := http.NewRequest(http.MethodPost, "http://gateway.test/v1/chat", nil)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(bytes.NewReader(raw)), Request: req}
}

// ReadChunks reads an OpenAI chat stream with the official SDK, as a
// client does, and accumulates it. Each chunk must carry no field the SDK
// does not know (bar allowed) and be accepted by the accumulator. It
// returns the accumulation and the error the SDK's stream ended with.
func ReadChunks(t testing.TB, name string, raw []byte, allowed ...string) (*openaisdk.ChatCompletionAccumulator, error) {
	t.Helper()
	allowed = append(append(allowed, NewerOpenAIFields...), OpenAIExtensions...)
	s := openaisse.NewStream[openaisdk.ChatCompletionChunk](openaisse.NewDecoder(sseResponse(raw)), nil)
	acc := &openaisdk.ChatCompletionAccumulator{}
	n := 0
	for s.Next() {
		n++
		c := s.Current()
		for _, p := range SDKProblems(&c, allowed...) {
			t.Errorf("%s: chunk %d: %s", name, n, p)
		}
		if !acc.AddChunk(c) {
			t.Errorf("%s: the SDK's accumulator refused chunk %d: %s", name, n, c.RawJSON())
		}
	}
	return acc, s.Err()
}

// ReadEvents reads an Anthropic Messages stream with the official SDK, as
// a client does, and accumulates it with Message.Accumulate. It returns
// the message and the error the SDK's stream ended with.
func ReadEvents(t testing.TB, name string, raw []byte, allowed ...string) (*anthropicsdk.Message, error) {
	t.Helper()
	allowed = append(allowed, NewerAnthropicFields...)
	s := anthropicsse.NewStream[anthropicsdk.MessageStreamEventUnion](anthropicsse.NewDecoder(sseResponse(raw)), nil)
	msg := &anthropicsdk.Message{}
	n := 0
	for s.Next() {
		n++
		ev := s.Current()
		for _, p := range SDKProblems(&ev, allowed...) {
			t.Errorf("%s: event %d (%s): %s", name, n, ev.Type, p)
		}
		if err := msg.Accumulate(ev); err != nil {
			t.Errorf("%s: the SDK's Accumulate refused event %d: %v", name, n, err)
		}
	}
	return msg, s.Err()
}

// CheckCompletion decodes a whole OpenAI answer with the SDK's type.
func CheckCompletion(t testing.TB, name string, raw []byte, allowed ...string) *openaisdk.ChatCompletion {
	t.Helper()
	var c openaisdk.ChatCompletion
	CheckSDK(t, name, raw, &c, append(append(allowed, NewerOpenAIFields...), OpenAIExtensions...)...)
	return &c
}

// CheckMessage decodes a whole Anthropic answer with the SDK's type.
func CheckMessage(t testing.TB, name string, raw []byte, allowed ...string) *anthropicsdk.Message {
	t.Helper()
	var m anthropicsdk.Message
	CheckSDK(t, name, raw, &m, append(allowed, NewerAnthropicFields...)...)
	return &m
}

// CheckChat compares what the OpenAI SDK accumulated with w.
func (w Want) CheckChat(t testing.TB, name string, acc *openaisdk.ChatCompletionAccumulator) {
	t.Helper()
	if len(acc.Choices) == 0 {
		if w.Text != "" || len(w.Tools) > 0 {
			t.Errorf("%s: the SDK accumulated no choice", name)
		}
		return
	}
	m := acc.Choices[0].Message
	if m.Content != w.Text {
		t.Errorf("%s: the SDK accumulated content %q, want %q", name, m.Content, w.Text)
	}
	if len(m.ToolCalls) != len(w.Tools) {
		t.Errorf("%s: the SDK accumulated %d tool calls, want %d", name, len(m.ToolCalls), len(w.Tools))
		return
	}
	for i, tc := range m.ToolCalls {
		if tc.ID != w.Tools[i].ID || tc.Function.Name != w.Tools[i].Name || tc.Function.Arguments != w.Tools[i].Arguments {
			t.Errorf("%s: tool call %d is %s %s %s, want %+v", name, i, tc.ID, tc.Function.Name, tc.Function.Arguments, w.Tools[i])
		}
	}
}

// CheckAnthropic compares what the Anthropic SDK accumulated with w; tool
// arguments are compared as JSON values.
func (w Want) CheckAnthropic(t testing.TB, name string, m *anthropicsdk.Message) {
	t.Helper()
	var text string
	var tools []anthropicsdk.ContentBlockUnion
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			text += b.Text
		case "tool_use":
			tools = append(tools, b)
		}
	}
	if text != w.Text {
		t.Errorf("%s: the SDK accumulated text %q, want %q", name, text, w.Text)
	}
	if len(tools) != len(w.Tools) {
		t.Errorf("%s: the SDK accumulated %d tool_use blocks, want %d", name, len(tools), len(w.Tools))
		return
	}
	for i, b := range tools {
		args := []byte(w.Tools[i].Arguments)
		sameArgs := SameJSON(b.Input, args)
		if !json.Valid(args) {
			sameArgs = bytes.Equal(b.Input, args) // a stream cut inside the arguments
		}
		if b.ID != w.Tools[i].ID || b.Name != w.Tools[i].Name || !sameArgs {
			t.Errorf("%s: tool_use %d is %s %s %s, want %+v", name, i, b.ID, b.Name, b.Input, w.Tools[i])
		}
	}
}

// SameJSON reports whether a and b are JSON documents of equal value.
func SameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}
