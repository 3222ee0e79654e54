package openai

import (
	"io"
	"strconv"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/jsonenc"
)

// StreamWriter renders canonical stream events as Chat Completions chunks
// (text/event-stream), one SSE event per canonical event, flushed as it
// goes. It is not safe for concurrent use.
type StreamWriter struct {
	w       io.Writer
	flush   func()
	head    []byte // the chunk prefix: {"id":...,"object":...,"created":...,"model":...,
	usage   llm.Usage
	include bool // the client asked for the usage chunk
	buf     []byte
	tools   int // tool calls started
}

// NewStreamWriter returns a writer of a stream with the given id and model
// (as the client sees them). includeUsage adds the final usage chunk the
// client asked for with stream_options.include_usage.
func NewStreamWriter(w io.Writer, flush func(), id, model string, created int64, includeUsage bool) *StreamWriter {
	head := []byte(`{"id":`)
	head = appendJSONString(head, id)
	head = append(head, `,"object":"chat.completion.chunk","created":`...)
	head = strconv.AppendInt(head, created, 10)
	head = append(head, `,"model":`...)
	head = appendJSONString(head, model)
	head = append(head, `,"system_fingerprint":null,"choices":`...)
	return &StreamWriter{w: w, flush: flush, head: head, include: includeUsage}
}

// Event writes ev. Usage events are remembered for the final usage chunk.
// The chunk is encoded straight into the writer's buffer: no allocation
// per event once the buffer has grown.
func (s *StreamWriter) Event(ev llm.Event) error {
	b := s.buf[:0]
	finish := ""
	switch ev.Type {
	case llm.EventStart:
		b = append(s.open(b), `{"role":"assistant","content":""}`...)
	case llm.EventText:
		b = append(s.open(b), `{"content":`...)
		b = append(appendJSONString(b, ev.Text), '}')
	case llm.EventThinking:
		// Chat Completions has no field for reasoning text; this is the
		// one DeepSeek, vLLM and LiteLLM send (see EncodeChat).
		b = append(s.open(b), `{"reasoning_content":`...)
		b = append(appendJSONString(b, ev.Text), '}')
	case llm.EventToolStart:
		b = append(s.open(b), `{"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(ev.Index), 10)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, ev.ID)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = appendJSONString(b, ev.Name)
		b = append(b, `,"arguments":""}}]}`...)
		s.tools++
	case llm.EventToolArgs:
		b = append(s.open(b), `{"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(ev.Index), 10)
		b = append(b, `,"function":{"arguments":`...)
		b = appendJSONString(b, ev.Text)
		b = append(b, `}}]}`...)
	case llm.EventFinish:
		b = append(s.open(b), `{}`...)
		finish = finishReason(ev.Finish)
	case llm.EventUsage:
		s.usage = ev.Usage
		return nil
	default:
		return nil
	}
	b = s.close(b, finish)
	s.buf = b
	return s.write(b)
}

// open appends the start of an SSE event holding a chunk with a single
// choice, up to its delta.
func (s *StreamWriter) open(b []byte) []byte {
	b = append(b, "data: "...)
	b = append(b, s.head...)
	return append(b, `[{"index":0,"delta":`...)
}

// close appends the rest of the event after the delta.
func (s *StreamWriter) close(b []byte, finish string) []byte {
	b = append(b, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, finish)
	}
	return append(b, `}],"usage":null}`+"\n\n"...)
}

// Done writes the usage chunk (when the client asked for it) and the
// closing [DONE].
func (s *StreamWriter) Done() error {
	b := s.buf[:0]
	if s.include {
		b = append(b, "data: "...)
		b = append(b, s.head...)
		b = append(b, `[],"usage":`...)
		b = appendUsage(b, encodeUsage(s.usage))
		b = append(b, "}\n\n"...)
	}
	b = append(b, "data: [DONE]\n\n"...)
	s.buf = b
	return s.write(b)
}

// Error writes a terminal error event: the SDKs raise it as an error
// rather than treating the stream as complete. No [DONE] follows.
func (s *StreamWriter) Error(status int, code, message string) error {
	b := append(s.buf[:0], "data: "...)
	e := EncodeError(status, code, message, "")
	b = append(b, e[:len(e)-1]...) // without the encoder's newline
	b = append(b, "\n\n"...)
	s.buf = b
	return s.write(b)
}

// Raw writes one data event holding the JSON object obj as it is.
func (s *StreamWriter) Raw(obj []byte) error {
	b := append(s.buf[:0], "data: "...)
	b = append(b, obj...)
	b = append(b, "\n\n"...)
	s.buf = b
	return s.write(b)
}

// Keepalive writes an SSE comment, which clients ignore, to keep a quiet
// stream's connection from idling out.
func (s *StreamWriter) Keepalive() error { return s.write([]byte(": keepalive\n\n")) }

func (s *StreamWriter) write(b []byte) error {
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	if s.flush != nil {
		s.flush()
	}
	return nil
}

// appendJSONString appends s as a JSON string (invalid UTF-8 replaced,
// so the output is always valid JSON).
func appendJSONString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }
