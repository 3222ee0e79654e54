package testkit

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// LLMReply scripts one answer of a mock LLM provider. The zero value
// answers "Hello!" with stop.
type LLMReply struct {
	// Status, when not 0 or 200, makes an error reply: Body is sent as is
	// (or the provider's own error shape with ErrType/ErrMessage).
	Status     int
	Header     map[string]string
	Body       string
	ErrType    string
	ErrMessage string

	Text      string
	ToolCalls []LLMToolCall
	// Finish is the provider's own finish/stop reason; default: "stop"
	// (OpenAI) / "end_turn" (Anthropic), or the tool-call reason when
	// ToolCalls are set.
	Finish string
	Usage  LLMUsage

	// Delay waits before the response head; ChunkDelay between stream
	// events.
	Delay      time.Duration
	ChunkDelay time.Duration
	// Chunks splits Text into this many stream deltas (default 3).
	Chunks int
	// CutAfter, when > 0, closes the connection after that many stream
	// events, without a clean end.
	CutAfter int
	// StallAfter, when > 0, makes the stream go quiet after that many
	// events until the client leaves.
	StallAfter int
	// StreamError, when set, is sent as an in-stream error event after the
	// text, and the stream ends.
	StreamError string
	// Vectors answers an embeddings request.
	Vectors [][]float64
	// Thinking, when set, comes before the answer: an Anthropic thinking
	// block signed with Signature, or (OpenAI kind) reasoning_content, as
	// DeepSeek and vLLM send it. Streamed in Chunks pieces.
	Thinking  string
	Signature string
}

// LLMToolCall is a scripted tool call; Args is JSON text, streamed in
// pieces of ArgChunk bytes (default 5).
type LLMToolCall struct {
	ID, Name, Args string
	ArgChunk       int
}

// LLMUsage is a scripted token count.
type LLMUsage struct {
	Input, Output, Cached, CacheWrite, Reasoning int64
}

// LLMRequest is a request a mock provider received.
type LLMRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   map[string]any
	Raw                    []byte
}

// MockLLM is a local server speaking one provider's wire format
// ("openai" for the Chat Completions family, "anthropic" for Messages).
// Replies are taken from a queue in order, then Default.
type MockLLM struct {
	URL     string
	Kind    string
	Default LLMReply
	// CAFile is, for a mock started with StartMockLLMTLS, a PEM file of
	// the certificate to trust (a provider's tls.ca_file).
	CAFile string

	t     testing.TB
	srv   *httptest.Server
	mu    sync.Mutex
	queue []LLMReply
	reqs  []LLMRequest
}

// StartMockLLM starts a mock provider of kind "openai" or "anthropic".
func StartMockLLM(t testing.TB, kind string) *MockLLM {
	t.Helper()
	m := &MockLLM{t: t, Kind: kind}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	m.URL = m.srv.URL
	t.Cleanup(m.srv.Close)
	return m
}

// StartMockLLMTLS starts a mock provider serving HTTPS, with HTTP/2 as the
// public providers do; its certificate is in CAFile.
func StartMockLLMTLS(t testing.TB, kind string) *MockLLM {
	t.Helper()
	m := &MockLLM{t: t, Kind: kind}
	m.srv = httptest.NewUnstartedServer(http.HandlerFunc(m.serve))
	m.srv.EnableHTTP2 = true
	m.srv.StartTLS()
	m.URL = m.srv.URL
	t.Cleanup(m.srv.Close)
	m.CAFile = filepath.Join(t.TempDir(), "mock-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: m.srv.Certificate().Raw})
	if err := os.WriteFile(m.CAFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return m
}

// Push queues replies for the next requests.
func (m *MockLLM) Push(r ...LLMReply) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue = append(m.queue, r...)
}

// Requests returns the requests received so far.
func (m *MockLLM) Requests() []LLMRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]LLMRequest(nil), m.reqs...)
}

// Last returns the last request received; it fails the test when none.
func (m *MockLLM) Last() LLMRequest {
	m.t.Helper()
	rs := m.Requests()
	if len(rs) == 0 {
		m.t.Fatal("the mock provider received no request")
	}
	return rs[len(rs)-1]
}

func (m *MockLLM) next(req LLMRequest) LLMReply {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reqs = append(m.reqs, req)
	if len(m.queue) > 0 {
		r := m.queue[0]
		m.queue = m.queue[1:]
		return r
	}
	return m.Default
}

func (m *MockLLM) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := LLMRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Raw: raw}
	json.Unmarshal(raw, &req.Body)
	rep := m.next(req)
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	if rep.Status != 0 && rep.Status != 200 {
		m.writeError(w, rep)
		return
	}
	stream, _ := req.Body["stream"].(bool)
	model, _ := req.Body["model"].(string)
	switch {
	case strings.HasSuffix(r.URL.Path, "/embeddings"):
		m.embeddings(w, req, rep)
	case m.Kind == "anthropic" && stream:
		m.anthropicStream(w, r.Context().Done(), model, rep)
	case m.Kind == "anthropic":
		writeJSON(w, anthropicMessage(model, rep))
	case stream:
		m.openaiStream(w, r.Context().Done(), model, req, rep)
	default:
		writeJSON(w, openaiCompletion(model, rep))
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (m *MockLLM) writeError(w http.ResponseWriter, rep LLMReply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.Status)
	if rep.Body != "" {
		io.WriteString(w, rep.Body)
		return
	}
	if m.Kind == "anthropic" {
		json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{"type": rep.ErrType, "message": rep.ErrMessage}})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": rep.ErrMessage, "type": rep.ErrType, "param": nil, "code": rep.ErrType}})
}

func textOf(rep LLMReply) string {
	if rep.Text == "" && len(rep.ToolCalls) == 0 {
		return "Hello!"
	}
	return rep.Text
}

// split cuts s into n nearly equal pieces (by bytes, on rune boundaries).
func split(s string, n int) []string {
	if n <= 0 {
		n = 3
	}
	rs := []rune(s)
	if len(rs) < n {
		n = max(len(rs), 1)
	}
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, string(rs[i*len(rs)/n:(i+1)*len(rs)/n]))
	}
	return out
}

// openaiCompletion is a Chat Completions answer, as api.openai.com sends.
func openaiCompletion(model string, rep LLMReply) map[string]any {
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil, "annotations": []any{}}
	if t := textOf(rep); t != "" {
		msg["content"] = t
	}
	if rep.Thinking != "" {
		msg["reasoning_content"] = rep.Thinking
	}
	finish := rep.Finish
	if len(rep.ToolCalls) > 0 {
		var calls []any
		for _, tc := range rep.ToolCalls {
			calls = append(calls, map[string]any{"id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": tc.Args}})
		}
		msg["tool_calls"] = calls
		if finish == "" {
			finish = "tool_calls"
		}
	}
	if finish == "" {
		finish = "stop"
	}
	return map[string]any{
		"id": "chatcmpl-mock123", "object": "chat.completion", "created": time.Now().Unix(), "model": model,
		"choices":            []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
		"usage":              openaiUsage(rep.Usage),
		"service_tier":       "default",
		"system_fingerprint": "fp_mock",
	}
}

func openaiUsage(u LLMUsage) map[string]any {
	return map[string]any{
		"prompt_tokens": u.Input, "completion_tokens": u.Output, "total_tokens": u.Input + u.Output,
		"prompt_tokens_details":     map[string]any{"cached_tokens": u.Cached, "audio_tokens": 0},
		"completion_tokens_details": map[string]any{"reasoning_tokens": u.Reasoning, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
	}
}

// sseWriter writes events and counts them for CutAfter.
type sseWriter struct {
	w    http.ResponseWriter
	rep  LLMReply
	n    int
	ctx  <-chan struct{}
	dead bool
}

// send writes one SSE event (event name optional); false once the stream
// was cut or the client left.
func (s *sseWriter) send(event, data string) bool {
	if s.dead {
		return false
	}
	if s.rep.CutAfter > 0 && s.n >= s.rep.CutAfter {
		s.cut()
		return false
	}
	if s.rep.StallAfter > 0 && s.n >= s.rep.StallAfter {
		<-s.ctx
		s.dead = true
		return false
	}
	if s.n > 0 && s.rep.ChunkDelay > 0 {
		select {
		case <-time.After(s.rep.ChunkDelay):
		case <-s.ctx:
			s.dead = true
			return false
		}
	}
	if event != "" {
		fmt.Fprintf(s.w, "event: %s\n", event)
	}
	fmt.Fprintf(s.w, "data: %s\n\n", data)
	s.w.(http.Flusher).Flush()
	s.n++
	return true
}

// cut closes the connection without ending the chunked body.
func (s *sseWriter) cut() {
	s.dead = true
	if hj, ok := s.w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (m *MockLLM) openaiStream(w http.ResponseWriter, done <-chan struct{}, model string, req LLMRequest, rep LLMReply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	s := &sseWriter{w: w, rep: rep, ctx: done}
	created := time.Now().Unix()
	chunk := func(delta map[string]any, finish any) string {
		return mustJSON(map[string]any{"id": "chatcmpl-mock123", "object": "chat.completion.chunk", "created": created, "model": model,
			"system_fingerprint": "fp_mock", "choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}})
	}
	if !s.send("", chunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil)) {
		return
	}
	if rep.Thinking != "" {
		for _, piece := range split(rep.Thinking, rep.Chunks) {
			if !s.send("", chunk(map[string]any{"reasoning_content": piece}, nil)) {
				return
			}
		}
	}
	if t := textOf(rep); t != "" {
		for _, piece := range split(t, rep.Chunks) {
			if !s.send("", chunk(map[string]any{"content": piece}, nil)) {
				return
			}
		}
	}
	for i, tc := range rep.ToolCalls {
		first := map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": ""}}}}
		if !s.send("", chunk(first, nil)) {
			return
		}
		n := tc.ArgChunk
		if n <= 0 {
			n = 5
		}
		for a := tc.Args; a != ""; {
			piece := a[:min(n, len(a))]
			a = a[len(piece):]
			if !s.send("", chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i, "function": map[string]any{"arguments": piece}}}}, nil)) {
				return
			}
		}
	}
	if rep.StreamError != "" {
		s.send("", mustJSON(map[string]any{"error": map[string]any{"message": rep.StreamError, "type": "server_error", "param": nil, "code": nil}}))
		return
	}
	finish := rep.Finish
	if finish == "" {
		finish = "stop"
		if len(rep.ToolCalls) > 0 {
			finish = "tool_calls"
		}
	}
	if !s.send("", chunk(map[string]any{}, finish)) {
		return
	}
	if opts, _ := req.Body["stream_options"].(map[string]any); opts != nil && opts["include_usage"] == true {
		if !s.send("", mustJSON(map[string]any{"id": "chatcmpl-mock123", "object": "chat.completion.chunk", "created": created, "model": model,
			"system_fingerprint": "fp_mock", "choices": []any{}, "usage": openaiUsage(rep.Usage)})) {
			return
		}
	}
	s.send("", "[DONE]")
}

func (m *MockLLM) embeddings(w http.ResponseWriter, req LLMRequest, rep LLMReply) {
	var inputs []any
	switch in := req.Body["input"].(type) {
	case string:
		inputs = []any{in}
	case []any:
		inputs = in
	}
	var data []any
	for i := range inputs {
		v := []float64{0.1 * float64(i+1), -0.5, 0.25}
		if i < len(rep.Vectors) {
			v = rep.Vectors[i]
		}
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": v})
	}
	model, _ := req.Body["model"].(string)
	writeJSON(w, map[string]any{"object": "list", "data": data, "model": model,
		"usage": map[string]any{"prompt_tokens": rep.Usage.Input, "total_tokens": rep.Usage.Input}})
}

// anthropicMessage is a Messages answer, as api.anthropic.com sends.
func anthropicMessage(model string, rep LLMReply) map[string]any {
	content := []any{}
	if rep.Thinking != "" {
		content = append(content, map[string]any{"type": "thinking", "thinking": rep.Thinking, "signature": rep.Signature})
	}
	if t := textOf(rep); t != "" {
		content = append(content, map[string]any{"type": "text", "text": t})
	}
	for _, tc := range rep.ToolCalls {
		var input any
		json.Unmarshal([]byte(tc.Args), &input)
		content = append(content, map[string]any{"type": "tool_use", "id": tc.ID, "name": tc.Name, "input": input})
	}
	return map[string]any{"id": "msg_mock123", "type": "message", "role": "assistant", "model": model, "content": content,
		"stop_reason": anthropicStop(rep), "stop_sequence": nil, "usage": anthropicUsage(rep.Usage)}
}

func anthropicStop(rep LLMReply) string {
	switch {
	case rep.Finish != "":
		return rep.Finish
	case len(rep.ToolCalls) > 0:
		return "tool_use"
	}
	return "end_turn"
}

func anthropicUsage(u LLMUsage) map[string]any {
	return map[string]any{"input_tokens": u.Input - u.Cached - u.CacheWrite, "output_tokens": u.Output,
		"cache_creation_input_tokens": u.CacheWrite, "cache_read_input_tokens": u.Cached, "service_tier": "standard"}
}

func (m *MockLLM) anthropicStream(w http.ResponseWriter, done <-chan struct{}, model string, rep LLMReply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	s := &sseWriter{w: w, rep: rep, ctx: done}
	startUsage := anthropicUsage(rep.Usage)
	startUsage["output_tokens"] = 1
	if !s.send("message_start", mustJSON(map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_mock123", "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": startUsage}})) {
		return
	}
	idx := 0
	if rep.Thinking != "" {
		if !s.send("content_block_start", mustJSON(map[string]any{"type": "content_block_start", "index": idx, "content_block": map[string]any{"type": "thinking", "thinking": "", "signature": ""}})) {
			return
		}
		for _, piece := range split(rep.Thinking, rep.Chunks) {
			if !s.send("content_block_delta", mustJSON(map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "thinking_delta", "thinking": piece}})) {
				return
			}
		}
		if !s.send("content_block_delta", mustJSON(map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "signature_delta", "signature": rep.Signature}})) {
			return
		}
		if !s.send("content_block_stop", mustJSON(map[string]any{"type": "content_block_stop", "index": idx})) {
			return
		}
		idx++
	}
	if t := textOf(rep); t != "" {
		if !s.send("content_block_start", mustJSON(map[string]any{"type": "content_block_start", "index": idx, "content_block": map[string]any{"type": "text", "text": ""}})) {
			return
		}
		s.send("ping", `{"type": "ping"}`)
		for _, piece := range split(t, rep.Chunks) {
			if !s.send("content_block_delta", mustJSON(map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "text_delta", "text": piece}})) {
				return
			}
		}
		if !s.send("content_block_stop", mustJSON(map[string]any{"type": "content_block_stop", "index": idx})) {
			return
		}
		idx++
	}
	for _, tc := range rep.ToolCalls {
		if !s.send("content_block_start", mustJSON(map[string]any{"type": "content_block_start", "index": idx,
			"content_block": map[string]any{"type": "tool_use", "id": tc.ID, "name": tc.Name, "input": map[string]any{}}})) {
			return
		}
		n := tc.ArgChunk
		if n <= 0 {
			n = 5
		}
		for a := tc.Args; a != ""; {
			piece := a[:min(n, len(a))]
			a = a[len(piece):]
			if !s.send("content_block_delta", mustJSON(map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "input_json_delta", "partial_json": piece}})) {
				return
			}
		}
		if !s.send("content_block_stop", mustJSON(map[string]any{"type": "content_block_stop", "index": idx})) {
			return
		}
		idx++
	}
	if rep.StreamError != "" {
		s.send("error", mustJSON(map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": rep.StreamError}}))
		return
	}
	if !s.send("message_delta", mustJSON(map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": anthropicStop(rep), "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": rep.Usage.Output}})) {
		return
	}
	s.send("message_stop", `{"type":"message_stop"}`)
}
