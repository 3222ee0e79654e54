package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/ai/llm/llmtest"
	"github.com/sluicegw/sluice/internal/config"
)

func fuzzProvider(t testing.TB) *Provider {
	p, err := New(config.Provider{Name: "fuzz"}, llm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzStream feeds arbitrary bytes to the stream decoder as an SSE body.
// Whatever comes, it must not panic, and the events must keep the
// contract: Start first, tool calls numbered from 0 with their arguments
// a JSON object, nothing but Usage after Finish, io.EOF only after a
// Finish, every other end a *llm.ProviderError.
func FuzzStream(f *testing.F) {
	llmtest.AddSeeds(f, "stream/*.sse")
	f.Add([]byte("data: {\"candidates\":[{\"finishReason\":\"STOP\"}]}\n\n"))
	f.Add([]byte("data: {\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\"}}\n\n"))
	p := fuzzProvider(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s := p.newStream(context.Background(), "m", io.NopCloser(bytes.NewReader(data)))
		defer s.Close()
		var evs []llm.Event
		var err error
		for len(evs) < 10000 {
			var ev llm.Event
			if ev, err = s.Next(); err != nil {
				break
			}
			evs = append(evs, ev)
		}
		if err == nil {
			t.Fatal("stream did not end")
		}
		finished, tools := false, 0
		for i, ev := range evs {
			switch {
			case (i == 0) != (ev.Type == llm.EventStart):
				t.Fatalf("event %d is %v", i, ev.Type)
			case finished && ev.Type != llm.EventUsage:
				t.Fatalf("event %v after Finish", ev.Type)
			}
			switch ev.Type {
			case llm.EventFinish:
				finished = true
			case llm.EventToolStart:
				if ev.Index != tools || ev.ID == "" {
					t.Fatalf("tool start %+v, want index %d", ev, tools)
				}
				tools++
			case llm.EventToolArgs:
				if ev.Index != tools-1 || !json.Valid([]byte(ev.Text)) || ev.Text[0] != '{' {
					t.Fatalf("tool args %+v", ev)
				}
			}
		}
		if err == io.EOF {
			if !finished {
				t.Fatal("clean end without a finish")
			}
			return
		}
		var pe *llm.ProviderError
		if !errors.As(err, &pe) {
			t.Fatalf("end %v (%T) is not a ProviderError", err, err)
		}
	})
}

// FuzzResponse feeds arbitrary bytes to the whole-answer decoder.
func FuzzResponse(f *testing.F) {
	llmtest.AddSeeds(f, "response/*.json")
	p := fuzzProvider(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var w wireResponse
		if json.Unmarshal(data, &w) != nil {
			return
		}
		resp, err := p.decodeResponse("m", &w)
		if err != nil {
			var pe *llm.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a ProviderError", err)
			}
			return
		}
		switch resp.FinishReason {
		case llm.FinishStop, llm.FinishLength, llm.FinishToolCalls, llm.FinishContentFilter:
		default:
			t.Fatalf("finish reason %q", resp.FinishReason)
		}
		for _, tc := range resp.ToolCalls {
			if tc.ID == "" || !json.Valid([]byte(tc.Arguments)) || tc.Arguments[0] != '{' {
				t.Fatalf("tool call %+v", tc)
			}
		}
	})
}

// FuzzToolParameters feeds arbitrary JSON schemas to the schema rewrite:
// the result is nil or a JSON object of type OBJECT with properties.
func FuzzToolParameters(f *testing.F) {
	f.Add([]byte(weatherSchema))
	f.Add([]byte(`{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}`))
	f.Add([]byte(`{"anyOf":[{"allOf":[{"oneOf":[{"type":"null"}]}]}],"properties":{"x":{"type":["array","null"],"items":[]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := convertToolParameters(data)
		if err != nil || out == nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(out, &m) != nil || m["type"] != "OBJECT" || m["properties"] == nil {
			t.Fatalf("rewrote %s to %s", data, out)
		}
	})
}
