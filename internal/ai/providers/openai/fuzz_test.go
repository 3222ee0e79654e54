package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/ai/llm/llmtest"
	"github.com/sluicegw/sluice/internal/ai/providers/anthropic"
	"github.com/sluicegw/sluice/internal/config"
)

// fuzzFlavors are adapters of every OpenAI flavor, for encodeChat.
func fuzzFlavors(t testing.TB) []*Provider {
	var out []*Provider
	for _, f := range []Flavor{FlavorOpenAI, FlavorAzure, FlavorMistral, FlavorOllama, FlavorCompatible} {
		p, err := New(config.Provider{Name: string(f), Type: string(f), BaseURL: "http://127.0.0.1:1/v1"}, llm.Options{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// fuzzAnthropic is an Anthropic adapter whose transport keeps the body it
// was given and answers with a canned message, without a socket.
func fuzzAnthropic(t testing.TB) (*anthropic.Provider, *llmtest.Capture) {
	_, answer := llmtest.CannedAnswer("/v1/messages", nil)
	capt := &llmtest.Capture{Status: 200, ContentType: "application/json", Body: answer}
	p, err := anthropic.New(config.Provider{Name: "a", Type: "anthropic"}, llm.Options{Client: &http.Client{Transport: capt}})
	if err != nil {
		t.Fatal(err)
	}
	return p, capt
}

// FuzzDecodeChat feeds arbitrary bodies to DecodeChat: it must not panic,
// its errors must be *CallerError with a message, and a request it takes
// must encode to a JSON object for every provider flavor, the OpenAI one
// decoding again.
func FuzzDecodeChat(f *testing.F) {
	llmtest.AddSeeds(f, "inbound/*.json")
	f.Add([]byte(`{"model":"m","messages":[{"role":"tool","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}],"tool_call_id":"c"}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"null"}}]}]}`))
	flavors := fuzzFlavors(f)
	anth, capt := fuzzAnthropic(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeChat(body)
		if err != nil {
			var ce *CallerError
			if !errors.As(err, &ce) || ce.Message == "" {
				t.Fatalf("error %v (%T) is not a *CallerError with a message", err, err)
			}
			return
		}
		c := &llm.Call{Model: "model-x", Key: "k", Request: req}
		for _, p := range flavors {
			for _, stream := range []bool{false, true} {
				out := p.encodeChat(c, stream)
				if !json.Valid(out) || out[0] != '{' {
					t.Fatalf("%s: not a JSON object: %s", p.flavor, out)
				}
				if p.flavor == FlavorOpenAI {
					if _, err := DecodeChat(out); err != nil {
						t.Fatalf("the OpenAI body does not decode again (%v): %s", err, out)
					}
				}
			}
		}
		capt.Got = nil
		if _, err := anth.Chat(context.Background(), c); err != nil {
			var pe *llm.ProviderError
			if !errors.As(err, &pe) || pe.Class != llm.ClassCaller {
				t.Fatalf("anthropic: %v", err)
			}
			return
		}
		if !json.Valid(capt.Got) {
			t.Fatalf("anthropic: not JSON: %s", capt.Got)
		}
	})
}

// FuzzDecodeEmbeddings feeds arbitrary bodies to DecodeEmbeddings.
func FuzzDecodeEmbeddings(f *testing.F) {
	f.Add([]byte(`{"model":"text-embedding-3-small","input":"hello"}`))
	f.Add([]byte(`{"model":"e","input":["a","b"],"dimensions":256,"encoding_format":"base64","user":"u"}`))
	f.Add([]byte(`{"model":"e","input":[],"encoding_format":"float"}`))
	f.Add([]byte(`{"model":"e","input":[1,2,3]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeEmbeddings(body)
		if err != nil {
			var ce *CallerError
			if !errors.As(err, &ce) || ce.Message == "" {
				t.Fatalf("error %v (%T) is not a *CallerError with a message", err, err)
			}
			return
		}
		if req.Model == "" || len(req.Input) == 0 {
			t.Fatalf("took %+v", req)
		}
		switch req.EncodingFormat {
		case "", "float", "base64":
		default:
			t.Fatalf("encoding format %q", req.EncodingFormat)
		}
	})
}

// FuzzStream feeds arbitrary bytes to the stream reader as an SSE body.
// It must not panic, must end, and the events must keep the canonical
// contract (see checkEvents).
func FuzzStream(f *testing.F) {
	llmtest.AddSeeds(f, "stream/*.sse")
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"f\"}},{\"function\":{\"arguments\":\"{}\"}}]}}]}\n\ndata: {\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\"}]}\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newStream(context.Background(), io.NopCloser(bytes.NewReader(body)))
		llmtest.CheckStreamEnds(t, s, 100000)
	})
}
