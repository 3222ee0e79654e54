package anthropic

import (
	"context"
	"io"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/jsonscan"
)

// stream reads a Messages event stream and yields canonical events.
type stream struct {
	ctx      context.Context
	body     io.ReadCloser
	sse      *llm.SSEReader
	pending  []llm.Event
	usage    llm.Usage
	tools    map[int]*toolBlock // by content block index
	calls    []*toolBlock       // in the order they started
	started  bool               // message_start arrived
	finished bool               // a stop reason arrived; later content is dropped
	stopped  bool               // message_stop arrived
	err      error
	// thinking is the content block index of the open thinking block,
	// plus one (0: none); signature is its signature so far.
	thinking  int
	signature string
	scan      jsonscan.Scanner
}

func newStream(ctx context.Context, body io.ReadCloser) *stream {
	return &stream{ctx: ctx, body: body, sse: llm.NewSSEReader(body), tools: map[int]*toolBlock{}}
}

// toolBlock is a tool_use content block of the stream.
type toolBlock struct {
	idx     int  // the canonical tool call index
	hasArgs bool // some input_json_delta arrived
}

// Next implements llm.Stream.
func (s *stream) Next() (llm.Event, error) {
	for len(s.pending) == 0 {
		if s.err != nil {
			return llm.Event{}, s.err
		}
		s.err = s.read()
	}
	ev := s.pending[0]
	s.pending = s.pending[1:]
	return ev, nil
}

func (s *stream) read() error {
	if s.stopped {
		return io.EOF
	}
	ev, err := s.sse.Next()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // a stream must end with message_stop
		}
		return llm.TransportError(s.ctx, &llm.ProviderError{Class: llm.ClassBadResponse, Err: err}, true)
	}
	return s.event(ev.Data)
}

// event turns one event into pending events. It is apart from read so
// that its large frame is not on the stack while read waits for the
// provider (a held stream's goroutine stack stays small).
func (s *stream) event(data []byte) error {
	var e streamEvent
	if err := s.decodeEvent(data, &e); err != nil {
		return llm.Errorf(llm.ClassBadResponse, "anthropic: bad stream event: %v", err)
	}
	if !s.started {
		switch e.Type {
		case "message_start", "ping", "error":
		default:
			return llm.Errorf(llm.ClassBadResponse, "anthropic: stream event %q before message_start", e.Type)
		}
	}
	switch e.Type {
	case "message_start":
		if e.Message == nil {
			return llm.Errorf(llm.ClassBadResponse, "anthropic: message_start without a message")
		}
		if s.started {
			return llm.Errorf(llm.ClassBadResponse, "anthropic: a second message_start")
		}
		s.started = true
		s.usage = decodeUsage(&e.Message.Usage)
		s.pending = append(s.pending, llm.Event{Type: llm.EventStart, ID: e.Message.ID, Model: e.Message.Model},
			llm.Event{Type: llm.EventUsage, Usage: s.usage})
	case "content_block_start":
		if s.finished {
			break
		}
		if b := e.ContentBlock; b != nil && b.Type == "tool_use" {
			idx := len(s.calls)
			t := &toolBlock{idx: idx}
			s.calls = append(s.calls, t)
			s.tools[e.Index] = t
			s.pending = append(s.pending, llm.Event{Type: llm.EventToolStart, Index: idx, ID: b.ID, Name: b.Name})
		} else if b != nil && b.Type == "text" && b.Text != "" {
			s.pending = append(s.pending, llm.Event{Type: llm.EventText, Text: b.Text})
		} else if b != nil && b.Type == "thinking" {
			s.thinking, s.signature = e.Index+1, ""
			if b.Thinking != "" {
				s.pending = append(s.pending, llm.Event{Type: llm.EventThinking, Text: b.Thinking})
			}
		} else if b != nil && b.Type == "redacted_thinking" {
			s.pending = append(s.pending, llm.Event{Type: llm.EventRedactedThinking, Text: b.Data})
		}
	case "content_block_delta":
		if d := e.Delta; d != nil && !s.finished {
			switch d.Type {
			case "text_delta":
				s.pending = append(s.pending, llm.Event{Type: llm.EventText, Text: d.Text})
			case "input_json_delta":
				if t, ok := s.tools[e.Index]; ok && d.PartialJSON != "" {
					t.hasArgs = true
					s.pending = append(s.pending, llm.Event{Type: llm.EventToolArgs, Index: t.idx, Text: d.PartialJSON})
				}
			case "thinking_delta":
				if s.thinking == e.Index+1 && d.Thinking != "" {
					s.pending = append(s.pending, llm.Event{Type: llm.EventThinking, Text: d.Thinking})
				}
			case "signature_delta":
				if s.thinking == e.Index+1 {
					s.signature += d.Signature
				}
			}
		}
	case "content_block_stop":
		if s.thinking == e.Index+1 && !s.finished {
			s.pending = append(s.pending, llm.Event{Type: llm.EventThinkingEnd, Text: s.signature})
			s.thinking, s.signature = 0, ""
		}
		// A call without arguments streams none: it has the empty object.
		if t, ok := s.tools[e.Index]; ok && !t.hasArgs && !s.finished {
			t.hasArgs = true
			s.pending = append(s.pending, llm.Event{Type: llm.EventToolArgs, Index: t.idx, Text: "{}"})
		}
	case "message_delta":
		if e.Usage != nil {
			// message_delta's usage is cumulative; input counts may be
			// absent (zero) there, so keep the ones from message_start.
			u := decodeUsage(e.Usage)
			if e.Usage.InputTokens == 0 && e.Usage.CacheReadInputTokens == 0 && e.Usage.CacheCreationInputTokens == 0 {
				u.Input, u.CachedInput, u.CacheWrite = s.usage.Input, s.usage.CachedInput, s.usage.CacheWrite
			}
			s.usage = u
		}
		if e.Delta != nil && e.Delta.StopReason != nil && !s.finished {
			s.finished = true
			for _, t := range s.calls { // calls whose block never stopped
				if !t.hasArgs {
					t.hasArgs = true
					s.pending = append(s.pending, llm.Event{Type: llm.EventToolArgs, Index: t.idx, Text: "{}"})
				}
			}
			s.pending = append(s.pending, llm.Event{Type: llm.EventFinish, Finish: decodeStop(*e.Delta.StopReason)})
		}
		s.pending = append(s.pending, llm.Event{Type: llm.EventUsage, Usage: s.usage})
	case "message_stop":
		s.stopped = true
		return nil
	case "error":
		pe := &llm.ProviderError{Class: llm.ClassOverloaded}
		if e.Error != nil {
			pe.Type, pe.Message = e.Error.Type, e.Error.Message
			pe.Class = classify(pe)
			if pe.Class == llm.ClassCaller {
				pe.Class = llm.ClassOverloaded
			}
		}
		return pe
	}
	return nil
}

// Close implements llm.Stream.
func (s *stream) Close() error { return s.body.Close() }
