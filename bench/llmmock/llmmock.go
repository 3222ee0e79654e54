// Package llmmock is a fast mock LLM provider for benchmarks: it answers
// OpenAI Chat Completions (any path ending in /chat/completions) and
// Anthropic Messages (any path ending in /messages) with canned bodies
// rendered once at start, streamed or not, so that the cost measured in
// front of it is the gateway's, not the mock's.
//
// It does not decode requests: a request streams when its body holds
// "stream":true, and an OpenAI stream carries a usage chunk when the body
// holds "include_usage":true. For the wire formats of real providers with
// scripted replies, use internal/testkit's MockLLM instead.
package llmmock

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Config shapes the canned answers.
type Config struct {
	// Chunks is the number of text deltas in a streamed answer (default
	// 20); a complete answer carries the same text.
	Chunks int
	// Token is the text of one delta (default "token ").
	Token string
	// FlushEach flushes every stream event on its own, as a provider
	// producing tokens over time does; false writes the whole stream at
	// once.
	FlushEach bool
}

// Mock is an http.Handler; its fields other than the counters are fixed
// by New. It is safe for concurrent use.
type Mock struct {
	oaJSON, anJSON []byte
	oaStream       [][]byte // without the usage chunk and [DONE]
	oaUsage        []byte
	oaDone         []byte
	anStream       [][]byte
	flushEach      bool

	holdAfter int
	gate      atomic.Pointer[chan struct{}]

	// Requests counts the requests answered (or being answered).
	Requests atomic.Int64
	// Held counts the streams currently held open by Hold.
	Held atomic.Int64
}

var (
	ctJSON   = []string{"application/json"}
	ctStream = []string{"text/event-stream"}
	noCache  = []string{"no-cache"}
	bufPool  = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// New renders the canned answers of cfg.
func New(cfg Config) *Mock {
	if cfg.Chunks <= 0 {
		cfg.Chunks = 20
	}
	if cfg.Token == "" {
		cfg.Token = "token "
	}
	tok := strconv.Quote(cfg.Token)
	text := strconv.Quote(strings.Repeat(cfg.Token, cfg.Chunks))
	out := cfg.Chunks
	m := &Mock{flushEach: cfg.FlushEach}

	m.oaJSON = fmt.Appendf(nil, `{"id":"chatcmpl-bench","object":"chat.completion","created":1764000000,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":%s,"refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":%d,"total_tokens":%d}}`, text, out, 12+out)
	chunk := func(delta, finish string) []byte {
		return fmt.Appendf(nil, "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":%s,\"logprobs\":null,\"finish_reason\":%s}]}\n\n", delta, finish)
	}
	m.oaStream = append(m.oaStream, chunk(`{"role":"assistant","content":""}`, "null"))
	for range cfg.Chunks {
		m.oaStream = append(m.oaStream, chunk(`{"content":`+tok+`}`, "null"))
	}
	m.oaStream = append(m.oaStream, chunk(`{}`, `"stop"`))
	m.oaUsage = fmt.Appendf(nil, "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", out, 12+out)
	m.oaDone = []byte("data: [DONE]\n\n")

	m.anJSON = fmt.Appendf(nil, `{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":%s}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":%d}}`, text, out)
	event := func(name, data string) []byte { return []byte("event: " + name + "\ndata: " + data + "\n\n") }
	m.anStream = append(m.anStream,
		event("message_start", `{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}`),
		event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	for range cfg.Chunks {
		m.anStream = append(m.anStream, event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+tok+`}}`))
	}
	m.anStream = append(m.anStream,
		event("content_block_stop", `{"type":"content_block_stop","index":0}`),
		event("message_delta", fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":%d}}`, out)),
		event("message_stop", `{"type":"message_stop"}`))
	return m
}

// Hold makes every stream stop after its first n events (flushed) and
// wait, counted in Held, until Release or until the client goes away; the
// stream then finishes. Call it before serving; it is for measuring open
// streams.
func (m *Mock) Hold(n int) {
	ch := make(chan struct{})
	m.holdAfter = n
	m.gate.Store(&ch)
}

// Release lets the streams held so far finish; streams that reach their
// hold point later wait for the next Release. It does nothing without
// Hold.
func (m *Mock) Release() {
	ch := make(chan struct{})
	if old := m.gate.Swap(&ch); old != nil {
		close(*old)
	}
}

// ServeHTTP answers one chat request.
func (m *Mock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.Requests.Add(1)
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, 8<<20)); err != nil || r.Method != http.MethodPost {
		http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	body := buf.Bytes()
	stream := bytes.Contains(body, []byte(`"stream":true`)) || bytes.Contains(body, []byte(`"stream": true`))
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/chat/completions"):
		if !stream {
			writeJSON(w, m.oaJSON)
			return
		}
		usage := bytes.Contains(body, []byte(`"include_usage":true`)) || bytes.Contains(body, []byte(`"include_usage": true`))
		m.writeStream(w, r, m.oaStream, usage)
	case strings.HasSuffix(p, "/messages"):
		if !stream {
			writeJSON(w, m.anJSON)
			return
		}
		m.writeStream(w, r, m.anStream, false)
	default:
		http.Error(w, `{"error":{"message":"not found","type":"not_found_error"}}`, http.StatusNotFound)
	}
}

func writeJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h["Content-Type"] = ctJSON
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// writeStream sends events (then, for OpenAI, the usage chunk when asked
// and [DONE]).
func (m *Mock) writeStream(w http.ResponseWriter, r *http.Request, events [][]byte, usage bool) {
	h := w.Header()
	h["Content-Type"] = ctStream
	h["Cache-Control"] = noCache
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	flush := func() {
		if f != nil {
			f.Flush()
		}
	}
	openai := len(events) > 0 && bytes.HasPrefix(events[0], []byte("data: "))
	for i, ev := range events {
		if gate := m.gate.Load(); gate != nil && i == m.holdAfter {
			flush()
			m.Held.Add(1)
			select {
			case <-*gate:
			case <-r.Context().Done():
			}
			m.Held.Add(-1)
		}
		if _, err := w.Write(ev); err != nil {
			return
		}
		if m.flushEach {
			flush()
		}
	}
	if openai {
		if usage {
			w.Write(m.oaUsage)
		}
		w.Write(m.oaDone)
	}
	flush()
}
