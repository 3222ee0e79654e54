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
// fields ignored, lines ended by LF, CRLF or a lone CR, a leading UTF-8
// byte order mark skipped. Bytes are passed on as they are (no UTF-8
// repair).
type SSEReader struct {
	r     *bufio.Reader
	data  []byte
	event []byte
	line  []byte
	// skipLF is set after a line ended by CR: an LF right after it is the
	// rest of a CRLF, not an empty line.
	skipLF bool
	begun  bool // the byte order mark check is done
}

// NewSSEReader returns a reader of the stream r. A source that buffers
// what it reads itself (it has a Buffered method, like an h1client
// response body) gets a small line buffer: a held stream then keeps one
// 4 KiB buffer, not two. Lines longer than the buffer are joined.
func NewSSEReader(r io.Reader) *SSEReader {
	size := 4 << 10
	if _, ok := r.(interface{ Buffered() int }); ok {
		size = smallSSEBuffer
	}
	return &SSEReader{r: bufio.NewReaderSize(r, size)}
}

// smallSSEBuffer is the line buffer over a buffered source: room for a
// typical event's data line.
const smallSSEBuffer = 512

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

// readLine returns the next line without its terminator (LF, CRLF or CR).
// The line is valid until the next read.
func (s *SSEReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	if !s.begun {
		s.begun = true
		if b, _ := s.r.Peek(3); bytes.Equal(b, utf8BOM) {
			_, _ = s.r.Discard(3)
		}
	}
	from := 0 // buffered bytes known to hold no terminator
	for {
		buf, _ := s.r.Peek(s.r.Buffered())
		if s.skipLF && len(buf) > 0 {
			s.skipLF = false
			if buf[0] == '\n' {
				_, _ = s.r.Discard(1)
				continue
			}
		}
		if end := lineEnd(buf, from); end >= 0 {
			line := buf[:end]
			s.skipLF = buf[end] == '\r'
			if len(s.line)+end > MaxSSELine {
				return nil, ErrSSELineTooLong
			}
			if len(s.line) > 0 {
				s.line = append(s.line, line...)
				line = s.line
			}
			_, _ = s.r.Discard(end + 1)
			return line, nil
		}
		if len(buf) == s.r.Size() { // a full buffer and no line end yet
			if len(s.line)+len(buf) > MaxSSELine {
				return nil, ErrSSELineTooLong
			}
			s.line = append(s.line, buf...)
			_, _ = s.r.Discard(len(buf))
			from = 0
			continue
		}
		from = len(buf)
		if _, err := s.r.Peek(len(buf) + 1); err != nil && err != bufio.ErrBufferFull {
			return nil, err // a partial last line is not an event
		}
	}
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// lineEnd returns the index of the first CR or LF in b at or after from,
// or -1.
func lineEnd(b []byte, from int) int {
	b = b[from:]
	lf := bytes.IndexByte(b, '\n')
	scan := b
	if lf >= 0 {
		scan = b[:lf]
	}
	if cr := bytes.IndexByte(scan, '\r'); cr >= 0 {
		return from + cr
	}
	if lf >= 0 {
		return from + lf
	}
	return -1
}
