package gemini

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/testkit"
)

func TestStreamEvents(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	m.Enqueue(testkit.GeminiReply{ChunkDelay: 5 * time.Millisecond, Answer: &testkit.GeminiAnswer{
		ResponseID: "s-1", ModelVersion: "gemini-2.5-flash-002", Text: "Let me check both.", TextChunk: 7,
		Calls: []testkit.GeminiCall{
			{Name: "get_weather", Args: map[string]any{"city": "Paris", "days": 3}, Signature: "c2ln"},
			{Name: "get_time", Args: map[string]any{"tz": "Europe/Paris"}},
		},
		Usage: testkit.GeminiUsage{Prompt: 20, Candidates: 9},
	}})
	evs, err := streamAll(t, p, call(&llm.Request{Messages: []llm.Message{userText("x")}, Stream: true}))
	if err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	r := m.LastRequest()
	if r.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || r.Query != "alt=sse" || r.Header.Get("X-Goog-Api-Key") != "k1" {
		t.Errorf("request %s?%s", r.Path, r.Query)
	}
	// Text comes in the pieces Gemini sent; usage events only when the
	// usage changed; Finish before the final usage.
	want := []llm.Event{
		{Type: llm.EventStart, ID: "s-1", Model: "gemini-2.5-flash-002"},
		{Type: llm.EventText, Text: "Let me "},
		{Type: llm.EventUsage, Usage: llm.Usage{Input: 20, Output: 2}},
		{Type: llm.EventText, Text: "check b"},
		{Type: llm.EventUsage, Usage: llm.Usage{Input: 20, Output: 4}},
		{Type: llm.EventText, Text: "oth."},
		{Type: llm.EventUsage, Usage: llm.Usage{Input: 20, Output: 6}},
		{Type: llm.EventToolStart, Index: 0, ID: "call_s1_0", Name: "get_weather"},
		{Type: llm.EventToolArgs, Index: 0, Text: `{"city":"Paris","days":3}`},
		{Type: llm.EventToolStart, Index: 1, ID: "call_s1_1", Name: "get_time"},
		{Type: llm.EventToolArgs, Index: 1, Text: `{"tz":"Europe/Paris"}`},
		{Type: llm.EventFinish, Finish: llm.FinishToolCalls},
		{Type: llm.EventUsage, Usage: llm.Usage{Input: 20, Output: 9}},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, evs[i], want[i])
		}
	}
	// The streamed call's signature is remembered for the replay.
	if sig := p.sigs.get(testModel, "call_s1_0"); sig != "c2ln" {
		t.Errorf("signature %q", sig)
	}
	// After the end, Next keeps saying so.
	s, err := p.Stream(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(t, s); err != io.EOF {
		t.Fatal(err)
	}
	if _, err := s.Next(); err != io.EOF {
		t.Errorf("Next after EOF: %v", err)
	}
	s.Close()
}

func TestStreamCut(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	for _, tc := range []struct {
		name  string
		reply testkit.GeminiReply
		texts int
	}{
		// The connection drops before the chunk with the finish reason.
		{"before finish", testkit.GeminiReply{Cut: true, Answer: &testkit.GeminiAnswer{Text: "0123456789abcdef", TextChunk: 4}}, 3},
		// The connection drops after the first chunk.
		{"early", testkit.GeminiReply{Cut: true, CutAfter: 1, Answer: &testkit.GeminiAnswer{Text: "0123456789abcdef", TextChunk: 4}}, 1},
		// The server ends the stream cleanly but never said it finished.
		{"clean end without finish", testkit.GeminiReply{RawChunks: []string{
			`{"candidates":[{"content":{"role":"model","parts":[{"text":"half an ans"}]},"index":0}],"responseId":"x"}`,
		}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.Enqueue(tc.reply)
			evs, err := streamAll(t, p, call(&llm.Request{Messages: []llm.Message{userText("x")}}))
			providerError(t, err, llm.ClassOverloaded)
			if err == io.EOF || errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && tc.name != "clean end without finish" {
				t.Errorf("cut stream ended with %v", err)
			}
			n := 0
			for _, ev := range evs {
				if ev.Type == llm.EventText {
					n++
				}
				if ev.Type == llm.EventFinish {
					t.Errorf("finish event in a cut stream")
				}
			}
			if n != tc.texts {
				t.Errorf("%d text events before the cut, want %d", n, tc.texts)
			}
		})
	}
}

func TestStreamErrorObject(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	m.Enqueue(testkit.GeminiReply{Answer: &testkit.GeminiAnswer{Text: "0123456789", TextChunk: 5},
		StreamError: &testkit.GeminiError{Code: 503, Status: "UNAVAILABLE", Message: "The model is overloaded. Please try again later."}})
	evs, err := streamAll(t, p, call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	pe := providerError(t, err, llm.ClassOverloaded)
	if pe.Status != 503 || pe.Type != "UNAVAILABLE" || !strings.Contains(pe.Message, "overloaded") {
		t.Errorf("error %+v", pe)
	}
	if len(evs) < 2 || evs[0].Type != llm.EventStart || evs[1].Text != "01234" {
		t.Errorf("events before the error %+v", evs)
	}

	m.Enqueue(testkit.GeminiReply{RawChunks: []string{
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"a"}]},"index":0}]}`,
		`{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"4s"}]}}`,
	}})
	_, err = streamAll(t, p, call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	if pe := providerError(t, err, llm.ClassRateLimit); pe.RetryAfter != 4*time.Second {
		t.Errorf("retry after %v", pe.RetryAfter)
	}

	m.Enqueue(testkit.GeminiReply{RawChunks: []string{`{"candidates":[{"content":`}})
	_, err = streamAll(t, p, call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	providerError(t, err, llm.ClassBadResponse)
}

func TestStreamBlockedPrompt(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	m.Enqueue(testkit.GeminiReply{Answer: &testkit.GeminiAnswer{BlockReason: "SAFETY", Usage: testkit.GeminiUsage{Prompt: 8}}})
	evs, err := streamAll(t, p, call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	if err != io.EOF {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].Type != llm.EventStart || evs[1].Finish != llm.FinishContentFilter || evs[2].Usage.Input != 8 {
		t.Errorf("events %+v", evs)
	}
}

// A cancelled context stops a stream that is waiting for the provider,
// and a deadline stops a provider that never answers.
func TestContextStopsRequest(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)

	m.Enqueue(testkit.GeminiReply{ChunkDelay: time.Hour, Answer: &testkit.GeminiAnswer{Text: "never"}})
	ctx, cancel := context.WithCancel(context.Background())
	s, err := p.Stream(ctx, call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = collect(t, s)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled stream: %v after %v", err, time.Since(start))
	}
	providerError(t, err, llm.ClassTimeout)
	s.Close()

	m.Enqueue(testkit.GeminiReply{Hang: true})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	start = time.Now()
	_, err = p.Chat(ctx2, call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("hanging provider: %v after %v", err, time.Since(start))
	}
	providerError(t, err, llm.ClassTimeout)
}

func TestStreamClose(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	m.Enqueue(testkit.GeminiReply{ChunkDelay: 20 * time.Millisecond, Answer: &testkit.GeminiAnswer{Text: strings.Repeat("x", 400), TextChunk: 4}})
	s, err := p.Stream(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := s.Next(); err != nil || ev.Type != llm.EventStart {
		t.Fatalf("first event %+v %v", ev, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err == nil || err == io.EOF {
		t.Errorf("Next after Close: %v", err)
	}

	// Close from another goroutine ends a Next that waits for the provider.
	m.Enqueue(testkit.GeminiReply{ChunkDelay: time.Hour, Answer: &testkit.GeminiAnswer{Text: "never"}})
	s, err = p.Stream(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { s.Close() })
	start := time.Now()
	if _, err := collect(t, s); err == nil || err == io.EOF || time.Since(start) > 5*time.Second {
		t.Errorf("Close while waiting: %v after %v", err, time.Since(start))
	}
}

func TestSignatureCacheEvicts(t *testing.T) {
	c := newSignatureCache(3)
	for i, id := range []string{"a", "b", "c", "d"} {
		c.put("m", id, strings.Repeat("s", i+1))
	}
	if c.get("m", "a") != "" || c.get("m", "b") != "ss" || c.get("m", "d") != "ssss" || c.get("other-model", "d") != "" {
		t.Errorf("cache %v", c.m.m)
	}
	c.put("m", "b", "new") // an update does not take a new slot
	c.put("m", "big", strings.Repeat("x", maxSignature+1))
	if c.get("m", "b") != "new" || c.get("m", "c") != "sss" || c.get("m", "big") != "" {
		t.Errorf("cache %v", c.m.m)
	}
}
