package openai

import (
	"context"
	"io"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// stream reads a provider's Chat Completions SSE stream and yields
// canonical events. Tool calls are renumbered in the order they start, so
// a server's sparse or repeated indexes still give 0, 1, 2...
type stream struct {
	ctx      context.Context
	body     io.ReadCloser
	sse      *llm.SSEReader
	pending  []llm.Event
	started  bool
	finished bool               // a finish_reason arrived
	done     bool               // [DONE] arrived
	tools    map[int]*toolState // by the server's index
	calls    []*toolState       // in the order they started
	lastKey  int                // the server's index of the last call started
	err      error
	scan     chunkScanner
}

type toolState struct {
	idx     int    // the canonical index
	id      string // the call's id
	hasArgs bool   // some arguments arrived
}

func newStream(ctx context.Context, body io.ReadCloser) *stream {
	return &stream{ctx: ctx, body: body, sse: llm.NewSSEReader(body), tools: map[int]*toolState{}}
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

// read parses the next SSE event into pending events, or returns why the
// stream is over.
func (s *stream) read() error {
	if s.done {
		return io.EOF
	}
	ev, err := s.sse.Next()
	if err != nil {
		if err == io.EOF && s.finished {
			return io.EOF // some servers end without [DONE]
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return llm.TransportError(s.ctx, &llm.ProviderError{Class: llm.ClassBadResponse, Err: err}, true)
	}
	if string(ev.Data) == "[DONE]" {
		s.done = true
		if !s.finished {
			return llm.Errorf(llm.ClassBadResponse, "openai: stream ended without a finish reason")
		}
		return nil
	}
	return s.chunk(ev.Data)
}

// chunk turns one chunk into pending events. It is apart from read so
// that its large frame is not on the stack while read waits for the
// provider (a held stream's goroutine stack stays small).
func (s *stream) chunk(data []byte) error {
	var c chunk
	if err := s.scan.decodeOr(data, &c); err != nil {
		return llm.Errorf(llm.ClassBadResponse, "openai: bad stream chunk: %v", err)
	}
	if c.Error != nil {
		e := c.Error.providerError()
		if e.Class == llm.ClassCaller {
			e.Class = llm.ClassOverloaded // mid-stream: not the caller's fault
		}
		return e
	}
	if !s.started {
		s.started = true
		s.pending = append(s.pending, llm.Event{Type: llm.EventStart, ID: c.ID, Model: c.Model})
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 || ch.Delta == nil || s.finished {
			continue // other choices (n is 1), and content after the finish
		}
		d := ch.Delta
		if d.ReasoningContent != nil && *d.ReasoningContent != "" {
			s.pending = append(s.pending, llm.Event{Type: llm.EventThinking, Text: *d.ReasoningContent})
		}
		if d.Content != nil && *d.Content != "" {
			s.pending = append(s.pending, llm.Event{Type: llm.EventText, Text: *d.Content})
		}
		if d.Refusal != nil && *d.Refusal != "" {
			s.pending = append(s.pending, llm.Event{Type: llm.EventText, Text: *d.Refusal})
		}
		for _, tc := range d.ToolCalls {
			t := s.toolFor(tc)
			if tc.Function.Arguments != "" {
				t.hasArgs = true
				s.pending = append(s.pending, llm.Event{Type: llm.EventToolArgs, Index: t.idx, Text: tc.Function.Arguments})
			}
		}
	}
	for _, ch := range c.Choices {
		if ch.Index == 0 && ch.FinishReason != nil && *ch.FinishReason != "" && !s.finished {
			s.finished = true
			// A call without arguments has the empty object of them.
			for _, t := range s.calls {
				if !t.hasArgs {
					t.hasArgs = true
					s.pending = append(s.pending, llm.Event{Type: llm.EventToolArgs, Index: t.idx, Text: "{}"})
				}
			}
			s.pending = append(s.pending, llm.Event{Type: llm.EventFinish, Finish: decodeFinish(*ch.FinishReason)})
		}
	}
	if c.Usage != nil {
		s.pending = append(s.pending, llm.Event{Type: llm.EventUsage, Usage: decodeUsage(c.Usage)})
	}
	return nil
}

// toolFor returns the call a tool-call delta belongs to, starting a new
// one (and its EventToolStart) when the delta opens one: an index not seen
// before, or a new id at a known index (servers that send every call at
// index 0). A delta without an index continues the last call unless it
// brings a new id.
func (s *stream) toolFor(tc toolCall) *toolState {
	key := s.lastKey
	if tc.Index != nil {
		key = *tc.Index
	} else if len(s.calls) == 0 || tc.ID != "" && tc.ID != s.calls[len(s.calls)-1].id {
		key = -1 - len(s.calls) // a key no server index takes
	}
	t, seen := s.tools[key]
	if !seen || tc.ID != "" && tc.ID != t.id {
		t = &toolState{idx: len(s.calls), id: tc.ID}
		s.calls = append(s.calls, t)
		s.tools[key] = t
		s.pending = append(s.pending, llm.Event{Type: llm.EventToolStart, Index: t.idx, ID: tc.ID, Name: tc.Function.Name})
	}
	s.lastKey = key
	return t
}

// Close implements llm.Stream.
func (s *stream) Close() error { return s.body.Close() }
