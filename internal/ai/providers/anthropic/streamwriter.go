package anthropic

import (
	"encoding/json"
	"io"
	"slices"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// StreamWriter renders canonical stream events as a Messages event stream:
// message_start, content blocks opened and filled as the events arrive,
// then message_delta with the stop reason and usage, and message_stop.
// A text block is closed when a tool call starts; tool_use blocks stay
// open until the end, since a provider may interleave the arguments of
// parallel calls (deltas address blocks by index, so the SDKs take
// interleaved deltas, but none after a block's stop). Every event carries
// an "event:" line (the SDKs skip events without one). It is not safe for
// concurrent use.
type StreamWriter struct {
	w       io.Writer
	flush   func()
	id      string
	model   string
	started bool
	text    int         // the open text block's index, -1 when none
	think   int         // the open thinking block's index, -1 when none
	tools   []int       // the open tool_use blocks' indexes, in order
	blocks  int         // content blocks started
	toolBlk map[int]int // tool call index → content block index
	finish  llm.FinishReason
	usage   llm.Usage
	buf     []byte
}

// NewStreamWriter returns a writer of a stream with the given message id
// and model (as the client sees them).
func NewStreamWriter(w io.Writer, flush func(), id, model string) *StreamWriter {
	return &StreamWriter{w: w, flush: flush, id: id, model: model, text: -1, think: -1, toolBlk: map[int]int{}}
}

// Event writes ev.
func (s *StreamWriter) Event(ev llm.Event) error {
	s.buf = s.buf[:0]
	switch ev.Type {
	case llm.EventStart:
		// message_start waits for the first content (or the end), by
		// which time the provider has usually reported the input tokens.
	case llm.EventThinking:
		s.start()
		if s.think < 0 {
			s.closeText()
			s.think = s.openBlock(block{Type: "thinking"})
		}
		s.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": s.think,
			"delta": map[string]string{"type": "thinking_delta", "thinking": ev.Text}})
	case llm.EventThinkingEnd:
		if s.think >= 0 {
			if ev.Text != "" {
				s.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": s.think,
					"delta": map[string]string{"type": "signature_delta", "signature": ev.Text}})
			}
			s.closeThinking()
		}
	case llm.EventRedactedThinking:
		s.start()
		s.closeThinking()
		s.closeText()
		s.stopBlock(s.openBlock(block{Type: "redacted_thinking", Data: ev.Text}))
	case llm.EventText:
		s.start()
		s.closeThinking()
		if s.text < 0 {
			s.text = s.openBlock(block{Type: "text", Text: ""})
		}
		s.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": s.text,
			"delta": map[string]string{"type": "text_delta", "text": ev.Text}})
	case llm.EventToolStart:
		s.start()
		s.closeThinking()
		s.closeText()
		idx := s.openBlock(block{Type: "tool_use", ID: ev.ID, Name: ev.Name, Input: json.RawMessage("{}")})
		s.toolBlk[ev.Index] = idx
		s.tools = append(s.tools, idx)
	case llm.EventToolArgs:
		s.start()
		idx, ok := s.toolBlk[ev.Index]
		if !ok {
			return nil
		}
		s.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx,
			"delta": map[string]string{"type": "input_json_delta", "partial_json": ev.Text}})
	case llm.EventFinish:
		s.finish = ev.Finish
	case llm.EventUsage:
		s.usage = ev.Usage
	}
	return s.write()
}

func (s *StreamWriter) start() {
	if s.started {
		return
	}
	s.started = true
	s.event("message_start", map[string]any{"type": "message_start", "message": messageResponse{
		ID: s.id, Type: "message", Role: "assistant", Model: s.model, Content: []block{}, Usage: encodeUsage(s.usage)}})
}

// openBlock starts content block b and returns its index.
func (s *StreamWriter) openBlock(b block) int {
	idx := s.blocks
	s.blocks++
	s.event("content_block_start", map[string]any{"type": "content_block_start", "index": idx, "content_block": b})
	return idx
}

func (s *StreamWriter) stopBlock(idx int) {
	s.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": idx})
}

func (s *StreamWriter) closeThinking() {
	if s.think >= 0 {
		s.stopBlock(s.think)
		s.think = -1
	}
}

func (s *StreamWriter) closeText() {
	if s.text >= 0 {
		s.stopBlock(s.text)
		s.text = -1
	}
}

// closeAll stops every open block in the order they started.
func (s *StreamWriter) closeAll() {
	open := append(s.tools, s.text, s.think)
	slices.Sort(open)
	for _, idx := range open {
		if idx >= 0 {
			s.stopBlock(idx)
		}
	}
	s.tools, s.text, s.think = s.tools[:0], -1, -1
}

// Done closes the open block and writes message_delta (stop reason and
// usage) and message_stop.
func (s *StreamWriter) Done() error {
	s.buf = s.buf[:0]
	s.start()
	s.closeAll()
	u := encodeUsage(s.usage)
	s.event("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stopReason(s.finish), "stop_sequence": nil},
		"usage": u})
	s.event("message_stop", map[string]string{"type": "message_stop"})
	return s.write()
}

// Error writes a terminal error event, which the SDKs raise as an API
// error. No message_stop follows.
func (s *StreamWriter) Error(status int, message string) error {
	s.buf = s.buf[:0]
	s.buf = append(s.buf, "event: error\ndata: "...)
	s.buf = append(s.buf, EncodeError(status, message)...)
	s.buf = append(s.buf, "\n\n"...)
	return s.write()
}

// Keepalive writes a ping event, as Anthropic does on quiet streams.
func (s *StreamWriter) Keepalive() error {
	s.buf = s.buf[:0]
	s.start()
	s.buf = append(s.buf, "event: ping\ndata: {\"type\": \"ping\"}\n\n"...)
	return s.write()
}

func (s *StreamWriter) event(name string, v any) {
	s.buf = append(s.buf, "event: "...)
	s.buf = append(s.buf, name...)
	s.buf = append(s.buf, "\ndata: "...)
	b, _ := json.Marshal(v)
	s.buf = append(s.buf, b...)
	s.buf = append(s.buf, "\n\n"...)
}

func (s *StreamWriter) write() error {
	if len(s.buf) == 0 {
		return nil
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return err
	}
	if s.flush != nil {
		s.flush()
	}
	return nil
}
