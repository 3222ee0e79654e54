package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/ai/llm/llmtest"
	"github.com/sluicegw/sluice/internal/ai/providers/openai"
	"github.com/sluicegw/sluice/internal/config"
)

// FuzzDecodeMessages feeds arbitrary bodies to DecodeMessages: it must not
// panic, its errors must be *CallerError with a message, and a request it
// takes must encode to a JSON object for Anthropic and for every
// OpenAI flavor; the OpenAI body must decode again with openai.DecodeChat.
func FuzzDecodeMessages(f *testing.F) {
	llmtest.AddSeeds(f, "inbound/*.json")
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","input":null}]}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":""}]}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"system":[],"messages":[{"role":"user","content":""}],"tools":[{"name":"x","input_schema":null,"strict":true}]}`))
	capt := &llmtest.Capture{Status: 200, ContentType: "application/json"}
	_, capt.Body = llmtest.CannedAnswer("/v1/chat/completions", nil)
	client := llm.Options{Client: llmtest.CaptureClient(capt)}
	var targets []llm.Provider
	for _, fl := range []openai.Flavor{openai.FlavorOpenAI, openai.FlavorAzure, openai.FlavorMistral, openai.FlavorOllama, openai.FlavorCompatible} {
		p, err := openai.New(config.Provider{Name: "x", Type: string(fl), BaseURL: "http://127.0.0.1:1/v1"}, client)
		if err != nil {
			f.Fatal(err)
		}
		targets = append(targets, p)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeMessages(body)
		if err != nil {
			var ce *CallerError
			if !errors.As(err, &ce) || ce.Message == "" {
				t.Fatalf("error %v (%T) is not a *CallerError with a message", err, err)
			}
			return
		}
		c := &llm.Call{Model: "model-x", Key: "k", Request: req}
		for _, stream := range []bool{false, true} {
			out, err := encodeRequest(c, stream)
			if err != nil {
				var pe *llm.ProviderError
				if !errors.As(err, &pe) || pe.Class != llm.ClassCaller {
					t.Fatalf("encodeRequest: %v", err)
				}
			} else if !json.Valid(out) || out[0] != '{' {
				t.Fatalf("not a JSON object: %s", out)
			}
		}
		for i, p := range targets {
			if _, err := p.Chat(context.Background(), c); err != nil {
				t.Fatalf("flavor %d: %v", i, err)
			}
			if !json.Valid(capt.Got) || capt.Got[0] != '{' {
				t.Fatalf("flavor %d: not a JSON object: %s", i, capt.Got)
			}
			if i == 0 {
				if _, err := openai.DecodeChat(capt.Got); err != nil {
					t.Fatalf("the OpenAI body does not decode (%v): %s", err, capt.Got)
				}
			}
		}
	})
}

// FuzzStream feeds arbitrary bytes to the stream reader as an event-stream
// body. It must not panic, must end, and the events must keep the
// canonical contract (llmtest.CheckEvents).
func FuzzStream(f *testing.F) {
	llmtest.AddSeeds(f, "stream/*.sse")
	f.Add([]byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"f\"}}\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newStream(context.Background(), io.NopCloser(bytes.NewReader(body)))
		llmtest.CheckStreamEnds(t, s, 100000)
	})
}
