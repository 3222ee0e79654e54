package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// streamPayload is the JSON payload of any ConverseStream event: each
// event type fills its own fields (Bedrock also pads payloads with a "p"
// field, ignored here).
type streamPayload struct {
	Role              string `json:"role"`
	ContentBlockIndex int    `json:"contentBlockIndex"`
	Start             *struct {
		ToolUse *struct {
			ToolUseID string `json:"toolUseId"`
			Name      string `json:"name"`
		} `json:"toolUse"`
	} `json:"start"`
	Delta *struct {
		Text    *string `json:"text"`
		ToolUse *struct {
			Input string `json:"input"`
		} `json:"toolUse"`
	} `json:"delta"`
	StopReason string      `json:"stopReason"`
	Usage      *tokenUsage `json:"usage"`
	// Message is an exception's message.
	Message string `json:"message"`
}

// stream is a ConverseStream answer read as canonical events, one
// event-stream message at a time: nothing is buffered beyond the message
// being decoded.
type stream struct {
	ctx   context.Context
	body  io.ReadCloser
	fr    *frameReader
	id    string
	model string

	started bool
	stopped bool // messageStop seen
	metered bool // metadata seen
	// tools maps the content block index of each tool call to its
	// canonical index, in the order the calls started.
	tools   []int
	pending llm.Event
	hasPend bool
	err     error

	closeOnce sync.Once
	closeErr  error
}

var _ llm.Stream = (*stream)(nil)

func newStream(ctx context.Context, body io.ReadCloser, id, model string) *stream {
	return &stream{ctx: ctx, body: body, fr: newFrameReader(body), id: id, model: model}
}

// Next returns the next canonical event. After a complete stream (one
// that carried messageStop and metadata) it returns io.EOF; a stream cut
// before both is a *llm.ProviderError of class ClassBadResponse wrapping
// io.ErrUnexpectedEOF, and an exception the provider sent in the stream
// is a *llm.ProviderError classified by its exception type. Errors are
// sticky.
func (s *stream) Next() (llm.Event, error) {
	if s.hasPend {
		s.hasPend = false
		return s.pending, nil
	}
	if s.err != nil {
		return llm.Event{}, s.err
	}
	for {
		f, err := s.fr.next()
		if err != nil {
			return llm.Event{}, s.fail(s.endError(err))
		}
		ev, ok, err := s.handle(&f)
		if err != nil {
			return llm.Event{}, s.fail(err)
		}
		if !ok {
			continue
		}
		if !s.started {
			// A stream that skipped messageStart still opens with Start.
			s.started = true
			s.pending, s.hasPend = ev, true
			return llm.Event{Type: llm.EventStart, ID: s.id, Model: s.model}, nil
		}
		return ev, nil
	}
}

func (s *stream) fail(err error) error {
	s.err = err
	if !errors.Is(err, io.EOF) {
		s.Close()
	}
	return err
}

// endError interprets the decoder's error at a message boundary.
func (s *stream) endError(err error) error {
	switch {
	case err == io.EOF && s.stopped && s.metered:
		return io.EOF
	case err == io.EOF:
		return &llm.ProviderError{Class: llm.ClassBadResponse, Message: "the stream ended before messageStop and metadata", Err: io.ErrUnexpectedEOF}
	case errors.Is(err, errFrame):
		return &llm.ProviderError{Class: llm.ClassBadResponse, Err: err}
	}
	return readError(s.ctx, err)
}

// handle translates one message; ok is false for messages that make no
// canonical event (contentBlockStop, reasoning deltas, unknown events).
func (s *stream) handle(f *frame) (ev llm.Event, ok bool, err error) {
	var p streamPayload
	switch string(f.messageType) {
	case "exception":
		_ = json.Unmarshal(f.payload, &p)
		typ := string(f.exceptionType)
		return ev, false, &llm.ProviderError{Class: classify(typ, p.Message, 0), Type: typ, Message: p.Message}
	case "error":
		typ := string(f.errorCode)
		return ev, false, &llm.ProviderError{Class: classify(typ, string(f.errorMessage), 0), Type: typ, Message: string(f.errorMessage)}
	case "event", "":
	default:
		return ev, false, nil
	}
	if err := json.Unmarshal(f.payload, &p); err != nil {
		return ev, false, llm.Errorf(llm.ClassBadResponse, "bedrock: decoding a %s event: %w", f.eventType, err)
	}
	switch string(f.eventType) {
	case "messageStart":
		if s.started {
			return ev, false, nil
		}
		s.started = true
		return llm.Event{Type: llm.EventStart, ID: s.id, Model: s.model}, true, nil
	case "contentBlockStart":
		if p.Start == nil || p.Start.ToolUse == nil {
			return ev, false, nil
		}
		idx := len(s.tools)
		s.tools = append(s.tools, p.ContentBlockIndex)
		return llm.Event{Type: llm.EventToolStart, Index: idx, ID: p.Start.ToolUse.ToolUseID, Name: p.Start.ToolUse.Name}, true, nil
	case "contentBlockDelta":
		switch {
		case p.Delta == nil:
		case p.Delta.Text != nil && *p.Delta.Text != "":
			return llm.Event{Type: llm.EventText, Text: *p.Delta.Text}, true, nil
		case p.Delta.ToolUse != nil:
			idx := s.toolIndex(p.ContentBlockIndex)
			if idx < 0 {
				return ev, false, llm.Errorf(llm.ClassBadResponse, "bedrock: tool input for content block %d, which started no tool call", p.ContentBlockIndex)
			}
			if p.Delta.ToolUse.Input == "" {
				return ev, false, nil
			}
			return llm.Event{Type: llm.EventToolArgs, Index: idx, Text: p.Delta.ToolUse.Input}, true, nil
		}
		return ev, false, nil
	case "messageStop":
		s.stopped = true
		return llm.Event{Type: llm.EventFinish, Finish: finishReason(p.StopReason)}, true, nil
	case "metadata":
		s.metered = true
		if p.Usage == nil {
			return ev, false, nil
		}
		return llm.Event{Type: llm.EventUsage, Usage: p.Usage.canonical()}, true, nil
	}
	return ev, false, nil
}

// toolIndex returns the canonical index of the tool call in content block
// block, or -1.
func (s *stream) toolIndex(block int) int {
	for i := len(s.tools) - 1; i >= 0; i-- {
		if s.tools[i] == block {
			return i
		}
	}
	return -1
}

// Close releases the connection; it may be called at any time, more than
// once, and from another goroutine than Next's (which it then unblocks).
func (s *stream) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.body.Close() })
	return s.closeErr
}
