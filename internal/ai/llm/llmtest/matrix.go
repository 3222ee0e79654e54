package llmtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// Target is one provider flavor of the translation matrix: the adapter
// (built against a Recorder's URL) and the provider model it is called with.
type Target struct {
	Provider llm.Provider
	Model    string
}

// Canned answers for a Recorder that stands in for every provider: what
// the test looks at is the request, so the answer is the smallest valid one.
const (
	cannedOpenAI       = `{"id":"chatcmpl-rec","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`
	cannedOpenAIStream = "data: {\"id\":\"chatcmpl-rec\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
	cannedAnthropic    = `{"id":"msg_rec","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}`
	cannedAnthStream   = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_rec\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":1}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
)

// CannedAnswer answers a chat request in the API its path names
// (/v1/messages: Anthropic; else OpenAI), streamed when the body asks.
func CannedAnswer(path string, body []byte) (string, []byte) {
	var probe struct {
		Stream bool `json:"stream"`
	}
	_ = json.Unmarshal(body, &probe)
	anth := strings.HasSuffix(path, "/messages")
	switch {
	case anth && probe.Stream:
		return "text/event-stream", []byte(cannedAnthStream)
	case anth:
		return "application/json", []byte(cannedAnthropic)
	case probe.Stream:
		return "text/event-stream", []byte(cannedOpenAIStream)
	}
	return "application/json", []byte(cannedOpenAI)
}

// NewMatrixRecorder starts a Recorder answering with CannedAnswer.
func NewMatrixRecorder(t testing.TB) *Recorder { return NewRecorder(t, CannedAnswer) }

// Sent is what one provider flavor sent for a request: the path (with
// query) and the body.
type Sent struct {
	Path string          `json:"path"`
	Body json.RawMessage `json:"body"`
}

// EncodeAll sends req through each target to rec (Stream when req.Stream,
// else Chat) and returns what each sent, keyed by the targets' names, as
// indented JSON. A target that fails to send is reported as its error.
func EncodeAll(t testing.TB, rec *Recorder, targets map[string]Target, req *llm.Request) []byte {
	t.Helper()
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]any, len(targets))
	for _, name := range names {
		tg := targets[name]
		c := &llm.Call{Model: tg.Model, Key: "sk-test", Request: req}
		var err error
		if req.Stream {
			var s llm.Stream
			if s, err = tg.Provider.Stream(context.Background(), c); err == nil {
				_, err = Drain(s, 1000)
				s.Close()
				if errors.Is(err, io.EOF) {
					err = nil
				}
			}
		} else {
			_, err = tg.Provider.Chat(context.Background(), c)
		}
		if err != nil {
			out[name] = map[string]string{"error": err.Error()}
			continue
		}
		last := rec.Last(t)
		var compact bytes.Buffer
		if e := json.Compact(&compact, last.Body); e != nil {
			t.Errorf("%s sent a body that is not JSON: %v\n%s", name, e, last.Body)
			continue
		}
		out[name] = Sent{Path: last.Path, Body: compact.Bytes()}
	}
	return MarshalIndent(t, out)
}
