package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// errCut is the cause of a stream that ended before Gemini said why it
// finished.
var errCut = errors.New("gemini: stream ended without a finish reason")

// stream reads a streamGenerateContent?alt=sse answer chunk by chunk.
// Each SSE event carries one GenerateContentResponse; its parts become
// Text events, each functionCall part (Gemini sends the whole call in one
// chunk) a ToolStart and one ToolArgs event with the whole arguments
// object. Usage is reported whenever a chunk's usageMetadata changes.
type stream struct {
	p     *Provider
	ctx   context.Context
	model string
	body  io.ReadCloser
	sse   *llm.SSEReader

	queue  []llm.Event
	qi     int
	err    error // sticky: returned once the queue is drained
	closed atomic.Bool

	started  bool
	finished bool
	ids      *callIDs
	calls    int
	usage    llm.Usage
	hasUsage bool
	chunk    wireResponse
}

var _ llm.Stream = (*stream)(nil)

func (p *Provider) newStream(ctx context.Context, model string, body io.ReadCloser) *stream {
	return &stream{p: p, ctx: ctx, model: model, body: body, sse: llm.NewSSEReader(body), queue: make([]llm.Event, 0, 8)}
}

// Next returns the next event; io.EOF after a stream that finished, a
// *llm.ProviderError for an error Gemini sent, a cut stream (ClassOverloaded)
// or a broken connection.
func (s *stream) Next() (llm.Event, error) {
	for {
		if s.closed.Load() {
			return llm.Event{}, errClosed
		}
		if s.qi < len(s.queue) {
			ev := s.queue[s.qi]
			s.qi++
			return ev, nil
		}
		if s.err != nil {
			return llm.Event{}, s.err
		}
		s.queue, s.qi = s.queue[:0], 0
		s.err = s.read()
	}
}

// read decodes the next SSE event into queued events, or returns the
// stream's end.
func (s *stream) read() error {
	ev, err := s.sse.Next()
	switch {
	case err == io.EOF && s.finished:
		return io.EOF
	case err == io.EOF:
		return &llm.ProviderError{Class: llm.ClassOverloaded, Status: 200, Err: errCut}
	case errors.Is(err, llm.ErrSSELineTooLong):
		return &llm.ProviderError{Class: llm.ClassBadResponse, Status: 200, Err: err}
	case err != nil:
		return transportError(s.ctx, err, true)
	}
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 {
		return nil
	}
	s.chunk = wireResponse{}
	if err := json.Unmarshal(data, &s.chunk); err != nil {
		return &llm.ProviderError{Class: llm.ClassBadResponse, Status: 200, Err: fmt.Errorf("gemini: decode stream chunk: %w", err)}
	}
	return s.handle(&s.chunk)
}

// handle queues the events of one chunk: Start (first chunk), text and
// tool calls, Finish, Usage.
func (s *stream) handle(w *wireResponse) error {
	if w.Error != nil {
		return statusError(0, nil, w.Error)
	}
	if !s.started {
		s.started = true
		model := w.ModelVersion
		if model == "" {
			model = s.model
		}
		s.ids = newCallIDs(w.ResponseID)
		s.queue = append(s.queue, llm.Event{Type: llm.EventStart, ID: w.ResponseID, Model: model})
	}
	var finishErr error
	switch {
	case s.finished:
		// Only usage counts after the finish: the answer is complete.
	case len(w.Candidates) == 0:
		if w.PromptFeedback != nil && w.PromptFeedback.BlockReason != "" {
			s.finished = true
			s.queue = append(s.queue, llm.Event{Type: llm.EventFinish, Finish: llm.FinishContentFilter})
		}
	default:
		cand := &w.Candidates[0]
		if cand.Content != nil {
			for i := range cand.Content.Parts {
				part := &cand.Content.Parts[i]
				switch {
				case part.Thought:
				case part.FunctionCall != nil:
					tc := s.p.toolCall(s.model, s.ids, part)
					s.queue = append(s.queue,
						llm.Event{Type: llm.EventToolStart, Index: s.calls, ID: tc.ID, Name: tc.Name},
						llm.Event{Type: llm.EventToolArgs, Index: s.calls, Text: tc.Arguments})
					s.calls++
				case part.Text != "":
					s.queue = append(s.queue, llm.Event{Type: llm.EventText, Text: part.Text})
				}
			}
		}
		if cand.FinishReason != "" {
			fr, err := finishReason(cand.FinishReason, cand.FinishMessage, s.calls > 0)
			if err != nil {
				finishErr = err
			} else {
				s.finished = true
				s.queue = append(s.queue, llm.Event{Type: llm.EventFinish, Finish: fr})
			}
		}
	}
	if w.UsageMetadata != nil {
		if u := usage(w.UsageMetadata); !s.hasUsage || u != s.usage {
			s.usage, s.hasUsage = u, true
			s.queue = append(s.queue, llm.Event{Type: llm.EventUsage, Usage: u})
		}
	}
	return finishErr
}

// errClosed is what Next returns after Close.
var errClosed = &llm.ProviderError{Class: llm.ClassConnect, Err: errors.New("gemini: stream closed")}

// Close releases the connection. It may be called from another goroutine
// while Next waits: that Next, and any later one, fails.
func (s *stream) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.body.Close()
}
