package openai

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/ai/llm/llmtest"
	"github.com/sluicegw/sluice/internal/ai/providers/anthropic"
	"github.com/sluicegw/sluice/internal/config"
)

// fileProvider returns an OpenAI adapter whose server answers every
// request with the bytes *body holds at the time.
func fileProvider(t *testing.T, body *[]byte) *Provider {
	t.Helper()
	rec := llmtest.NewRecorder(t, func(path string, _ []byte) (string, []byte) {
		return "application/json", *body
	})
	p, err := New(config.Provider{Name: "openai", Type: "openai", BaseURL: rec.URL + "/v1"}, llm.Options{Client: rec.Client})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var anyCall = &llm.Call{Model: "gpt-4o", Key: "sk-test", Request: &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: "x"}}}}}}

func TestGoldenResponses(t *testing.T) {
	var body []byte
	p := fileProvider(t, &body)
	for _, f := range llmtest.Inputs(t, "response", ".json", 6) {
		base := strings.TrimSuffix(f, ".json")
		t.Run(base, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			llmtest.CheckCompletion(t, f, raw, providerExtensions...)
			body = raw
			resp, err := p.Chat(context.Background(), anyCall)
			if err != nil {
				t.Fatal(err)
			}
			llmtest.Golden(t, base+".canonical.json", llmtest.MarshalIndent(t, resp), *update)

			asOpenAI := llmtest.Indent(t, EncodeChat(resp, "chatcmpl-gw1", llmtest.ClientModel, llmtest.ClientCreated))
			llmtest.Golden(t, base+".openai.json", asOpenAI, *update)
			llmtest.CheckCompletion(t, base+".openai.json", asOpenAI)

			asAnthropic := llmtest.Indent(t, anthropic.EncodeMessage(resp, "msg_gw1", llmtest.ClientModel))
			llmtest.Golden(t, base+".anthropic.json", asAnthropic, *update)
			llmtest.CheckMessage(t, base+".anthropic.json", asAnthropic)
		})
	}
}

func TestGoldenStreams(t *testing.T) {
	var body []byte
	p := fileProvider(t, &body)
	for _, f := range llmtest.Inputs(t, "stream", ".sse", 8) {
		base := strings.TrimSuffix(f, ".sse")
		t.Run(base, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			llmtest.CheckChunkStream(t, f, raw, nil, providerExtensions...)
			body = raw
			s, err := p.Stream(context.Background(), anyCall)
			if err != nil {
				t.Fatal(err)
			}
			evs, end := llmtest.Drain(s, 10000)
			s.Close()
			llmtest.Golden(t, base+".events.json", llmtest.StreamJSON(t, evs, end), *update)
			writers.RenderAll(t, base, evs, end, *update)
		})
	}
}

// providerExtensions are fields OpenAI-style servers add to the format
// that the SDK does not model (Azure's content filter results, Ollama's
// index on whole tool calls).
var providerExtensions = []string{"prompt_filter_results", "choices.content_filter_results", "message.tool_calls.index", "message.refusal"}

// writers are the inbound APIs' stream writers, for RenderAll.
var writers = llmtest.Writers{
	OpenAI: func(w io.Writer, usage bool) llmtest.Writer {
		s := NewStreamWriter(w, nil, "chatcmpl-gw1", llmtest.ClientModel, llmtest.ClientCreated, usage)
		return llmtest.Writer{Event: s.Event, Done: s.Done, Fail: func(msg string) error { return s.Error(502, "provider_stream_broken", msg) }}
	},
	Anthropic: func(w io.Writer) llmtest.Writer {
		s := anthropic.NewStreamWriter(w, nil, "msg_gw1", llmtest.ClientModel)
		return llmtest.Writer{Event: s.Event, Done: s.Done, Fail: func(msg string) error { return s.Error(502, msg) }}
	},
}
