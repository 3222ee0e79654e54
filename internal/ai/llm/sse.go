package llm

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxSSELine bounds one SSE line; a provider sending longer lines is broken.
const MaxSSELine = 4 << 20

// SSEEvent is one server-sent event. Data is valid until the next call to
// Next.
type SSEEvent struct {
	Event string
	Data  []byte
}

// SSEReader parses a text/event-stream (the WHATWG format): "event:" and
// "data:" fields, multi-line data joined with "\n", comments and other
// fields ignored, LF or CRLF line ends.
type SSEReader struct {
	r     *bufio.Reader
	data  []byte
	event []byte
	line  []byte
}

// NewSSEReader returns a reader of the stream r.
func NewSSEReader(r io.Reader) *SSEReader {
	return &SSEReader{r: bufio.NewReaderSize(r, 4<<10)}
}

// ErrSSELineTooLong reports a line over MaxSSELine.
var ErrSSELineTooLong = errors.New("sse: line too long")

// Next returns the next event. It returns io.EOF at the end of the stream
// (an event not terminated by a blank line before EOF is dropped, as the
// format says) and io.ErrUnexpectedEOF never: a cut stream simply ends.
func (s *SSEReader) Next() (SSEEvent, error) {
	s.data, s.event = s.data[:0], s.event[:0]
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			return SSEEvent{}, err
		}
		if len(line) == 0 {
			if !hasData {
				s.event = s.event[:0]
				continue
			}
			return SSEEvent{Event: string(s.event), Data: s.data}, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			hasData = true
		case "event":
			s.event = append(s.event[:0], value...)
		}
	}
}

// readLine returns the next line without its terminator (LF or CRLF).
func (s *SSEReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(s.line)+len(chunk) > MaxSSELine {
			return nil, ErrSSELineTooLong
		}
		switch err {
		case nil:
			var line []byte
			if len(s.line) == 0 {
				line = chunk // no copy: valid until the next read
			} else {
				s.line = append(s.line, chunk...)
				line = s.line
			}
			line = line[:len(line)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, nil
		case bufio.ErrBufferFull:
			s.line = append(s.line, chunk...)
		default:
			return nil, err // a partial last line is not an event
		}
	}
}
