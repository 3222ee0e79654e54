package anthropic

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/ai/llm/llmtest"
	"github.com/sluicegw/sluice/internal/ai/providers/openai"
	"github.com/sluicegw/sluice/internal/config"
)

// What the client sees of an answer: the gateway's ids and the model name
// it asked for.
const (
	clientModel   = "smart-model"
	clientCreated = 1700000000
)

// fileProvider returns an Anthropic adapter whose server answers every
// request with the bytes *body holds at the time.
func fileProvider(t *testing.T, body *[]byte) *Provider {
	t.Helper()
	rec := llmtest.NewRecorder(t, func(path string, _ []byte) (string, []byte) {
		return "application/json", *body
	})
	p, err := New(config.Provider{Name: "anthropic", Type: "anthropic", BaseURL: rec.URL}, llm.Options{Client: rec.Client})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var anyCall = &llm.Call{Model: "claude-sonnet-4-5", Key: "sk-test", Request: &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: "x"}}}}}}

func TestGoldenResponses(t *testing.T) {
	var body []byte
	p := fileProvider(t, &body)
	for _, f := range inputs(t, "response", ".json", 6) {
		base := strings.TrimSuffix(f, ".json")
		t.Run(base, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			checkMessage(t, f, raw)
			body = raw
			resp, err := p.Chat(context.Background(), anyCall)
			if err != nil {
				t.Fatal(err)
			}
			llmtest.Golden(t, base+".canonical.json", llmtest.MarshalIndent(t, resp), *update)

			asOpenAI := llmtest.Indent(t, openai.EncodeChat(resp, "chatcmpl-gw1", clientModel, clientCreated))
			llmtest.Golden(t, base+".openai.json", asOpenAI, *update)
			checkCompletion(t, base+".openai.json", asOpenAI)

			asAnthropic := llmtest.Indent(t, EncodeMessage(resp, "msg_gw1", clientModel))
			llmtest.Golden(t, base+".anthropic.json", asAnthropic, *update)
			checkMessage(t, base+".anthropic.json", asAnthropic)
		})
	}
}

func TestGoldenStreams(t *testing.T) {
	var body []byte
	p := fileProvider(t, &body)
	for _, f := range inputs(t, "stream", ".sse", 6) {
		base := strings.TrimSuffix(f, ".sse")
		t.Run(base, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := llmtest.ReadEvents(t, f, raw, llmtest.DeltaUsageOmitted...); err != nil && !bytes.Contains(raw, []byte("event: error")) {
				t.Errorf("the SDK's stream ended with %v", err)
			}
			body = raw
			s, err := p.Stream(context.Background(), anyCall)
			if err != nil {
				t.Fatal(err)
			}
			evs, end := llmtest.Drain(s, 10000)
			s.Close()
			llmtest.Golden(t, base+".events.json", llmtest.StreamJSON(t, evs, end), *update)
			renderAll(t, base, evs, end)
		})
	}
}

// renderAll renders a canonical stream for each inbound API, pins the
// result and has the SDKs read it back.
func renderAll(t *testing.T, base string, evs []llm.Event, end error) {
	t.Helper()
	want := llmtest.WantOf(evs)
	for _, usage := range []bool{true, false} {
		var buf bytes.Buffer
		w := openai.NewStreamWriter(&buf, nil, "chatcmpl-gw1", clientModel, clientCreated, usage)
		err := llmtest.Render(evs, end, w.Event, w.Done, func(msg string) error {
			return w.Error(502, "provider_stream_broken", msg)
		})
		if err != nil {
			t.Fatal(err)
		}
		name := base + ".openai.sse"
		if !usage {
			name = base + ".openai-nousage.sse"
		}
		llmtest.Golden(t, name, buf.Bytes(), *update)
		checkChunkStream(t, name, buf.Bytes(), &want)
	}
	var buf bytes.Buffer
	w := NewStreamWriter(&buf, nil, "msg_gw1", clientModel)
	err := llmtest.Render(evs, end, w.Event, w.Done, func(msg string) error { return w.Error(502, msg) })
	if err != nil {
		t.Fatal(err)
	}
	llmtest.Golden(t, base+".anthropic.sse", buf.Bytes(), *update)
	checkEventStream(t, base+".anthropic.sse", buf.Bytes(), &want)
}

func checkCompletion(t *testing.T, name string, raw []byte, allowed ...string) {
	t.Helper()
	llmtest.CheckCompletion(t, name, raw, allowed...)
}

func checkMessage(t *testing.T, name string, raw []byte) {
	t.Helper()
	llmtest.CheckMessage(t, name, raw)
}

// checkChunkStream reads an OpenAI stream with the SDK; when want is set
// (a stream the gateway wrote) the SDK must accumulate that answer and end
// with an error exactly when the stream carries one.
func checkChunkStream(t *testing.T, name string, raw []byte, want *llmtest.Want, allowed ...string) {
	t.Helper()
	acc, err := llmtest.ReadChunks(t, name, raw, allowed...)
	if want == nil {
		return
	}
	want.CheckChat(t, name, acc)
	if hasErr := bytes.Contains(raw, []byte(`data: {"error"`)); hasErr != (err != nil) {
		t.Errorf("%s: the SDK's stream ended with %v", name, err)
	}
}

// checkEventStream is checkChunkStream for an Anthropic stream.
func checkEventStream(t *testing.T, name string, raw []byte, want *llmtest.Want) {
	t.Helper()
	msg, err := llmtest.ReadEvents(t, name, raw)
	want.CheckAnthropic(t, name, msg)
	if hasErr := bytes.Contains(raw, []byte("event: error\n")); hasErr != (err != nil) {
		t.Errorf("%s: the SDK's stream ended with %v", name, err)
	}
}
