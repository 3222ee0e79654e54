package bedrock

import (
	"context"
	"encoding/base64"
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
		ReasoningContent *reasoningDelta `json:"reasoningContent"`
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
	tools     []int
	reasoning reasoningBlock
	// pending are events made and not yet returned, from head on; the
	// slice is reused once drained.
	pending []llm.Event
	head    int
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
	for s.head == len(s.pending) {
		s.pending, s.head = s.pending[:0], 0
		if s.err != nil {
			return llm.Event{}, s.err
		}
		f, err := s.fr.next()
		if err != nil {
			err = s.endError(err)
		} else {
			err = s.handle(&f)
		}
		if err != nil {
			s.fail(err) // after the events the message made, if any
		}
	}
	ev := s.pending[s.head]
	s.head++
	return ev, nil
}

// emit queues ev, after a Start if none was sent: a stream that skipped
// messageStart still opens with Start.
func (s *stream) emit(ev llm.Event) {
	if !s.started {
		s.started = true
		s.pending = append(s.pending, llm.Event{Type: llm.EventStart, ID: s.id, Model: s.model})
	}
	s.pending = append(s.pending, ev)
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

// handle translates one message into queued events; some make none
// (contentBlockStop of a text or tool block, unknown events).
func (s *stream) handle(f *frame) error {
	var p streamPayload
	switch string(f.messageType) {
	case "exception":
		_ = json.Unmarshal(f.payload, &p)
		typ := string(f.exceptionType)
		return &llm.ProviderError{Class: classify(typ, p.Message, 0), Type: typ, Message: p.Message}
	case "error":
		typ := string(f.errorCode)
		return &llm.ProviderError{Class: classify(typ, string(f.errorMessage), 0), Type: typ, Message: string(f.errorMessage)}
	case "event", "":
	default:
		return nil
	}
	if err := json.Unmarshal(f.payload, &p); err != nil {
		return llm.Errorf(llm.ClassBadResponse, "bedrock: decoding a %s event: %w", f.eventType, err)
	}
	switch string(f.eventType) {
	case "messageStart":
		if !s.started {
			s.started = true
			s.pending = append(s.pending, llm.Event{Type: llm.EventStart, ID: s.id, Model: s.model})
		}
	case "contentBlockStart":
		if p.Start == nil || p.Start.ToolUse == nil {
			return nil
		}
		idx := len(s.tools)
		s.tools = append(s.tools, p.ContentBlockIndex)
		s.emit(llm.Event{Type: llm.EventToolStart, Index: idx, ID: p.Start.ToolUse.ToolUseID, Name: p.Start.ToolUse.Name})
	case "contentBlockDelta":
		switch {
		case p.Delta == nil:
		case p.Delta.Text != nil:
			if *p.Delta.Text != "" {
				s.emit(llm.Event{Type: llm.EventText, Text: *p.Delta.Text})
			}
		case p.Delta.ToolUse != nil:
			idx := s.toolIndex(p.ContentBlockIndex)
			if idx < 0 {
				return llm.Errorf(llm.ClassBadResponse, "bedrock: tool input for content block %d, which started no tool call", p.ContentBlockIndex)
			}
			if p.Delta.ToolUse.Input != "" {
				s.emit(llm.Event{Type: llm.EventToolArgs, Index: idx, Text: p.Delta.ToolUse.Input})
			}
		case p.Delta.ReasoningContent != nil:
			return s.reason(p.ContentBlockIndex, p.Delta.ReasoningContent)
		}
	case "contentBlockStop":
		if s.reasoning.block == p.ContentBlockIndex+1 {
			s.endReasoning()
		}
	case "messageStop":
		s.endReasoning() // a block the stream never stopped
		s.stopped = true
		s.emit(llm.Event{Type: llm.EventFinish, Finish: finishReason(p.StopReason)})
	case "metadata":
		s.metered = true
		if p.Usage != nil {
			s.emit(llm.Event{Type: llm.EventUsage, Usage: p.Usage.canonical()})
		}
	}
	return nil
}

// reasoningDelta is a ReasoningContentBlockDelta union: a piece of
// reasoning text, the block's signature, or redacted data (base64).
type reasoningDelta struct {
	Text            *string `json:"text"`
	Signature       *string `json:"signature"`
	RedactedContent *string `json:"redactedContent"`
}

// reasoningBlock is a stream's open reasoningContent block. Bedrock sends
// no contentBlockStart for one: its first delta opens it.
type reasoningBlock struct {
	block     int // the content block index plus one; 0: none open
	redacted  bool
	signature string
	data      []byte // the redacted data so far, decoded
}

// reason handles a reasoning delta of content block block: text goes out
// as it comes; the signature and redacted data wait for the block's end,
// since the canonical stream carries each whole (with EventThinkingEnd,
// and as one EventRedactedThinking).
func (s *stream) reason(block int, d *reasoningDelta) error {
	redacted := d.RedactedContent != nil
	if r := &s.reasoning; r.block != block+1 || r.redacted != redacted {
		s.endReasoning()
		r.block, r.redacted = block+1, redacted
	}
	switch {
	case d.Text != nil:
		if *d.Text != "" {
			s.emit(llm.Event{Type: llm.EventThinking, Text: *d.Text})
		}
	case d.Signature != nil:
		s.reasoning.signature += *d.Signature
	case redacted:
		data, err := base64.StdEncoding.AppendDecode(s.reasoning.data, []byte(*d.RedactedContent))
		if err != nil {
			return llm.Errorf(llm.ClassBadResponse, "bedrock: the redacted reasoning of content block %d is not base64: %w", block, err)
		}
		s.reasoning.data = data
	}
	return nil
}

// endReasoning closes the open reasoning block, if any: a thinking block
// with its signature, or a redacted one with its data re-encoded (each
// delta's base64 decodes apart, so their concatenation may not).
func (s *stream) endReasoning() {
	r := &s.reasoning
	switch {
	case r.block == 0:
		return
	case r.redacted && len(r.data) > 0:
		s.emit(llm.Event{Type: llm.EventRedactedThinking, Text: base64.StdEncoding.EncodeToString(r.data)})
	case !r.redacted:
		s.emit(llm.Event{Type: llm.EventThinkingEnd, Text: r.signature})
	}
	r.block, r.redacted, r.signature, r.data = 0, false, "", r.data[:0]
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
