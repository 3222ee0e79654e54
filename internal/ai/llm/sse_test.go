package llm

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// refEvent is an event as the reference parser dispatches it.
type refEvent struct {
	event, data string
}

// refParse is a plain reading of the WHATWG event-stream algorithm: split
// the whole stream into lines at CRLF, LF or CR (a last line without an
// end is dropped), then apply the field rules line by line.
func refParse(b []byte) []refEvent {
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	var lines []string
	start := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\n':
			lines = append(lines, string(b[start:i]))
			start = i + 1
		case '\r':
			lines = append(lines, string(b[start:i]))
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	var out []refEvent
	var data, event string
	hasData := false
	for _, line := range lines {
		switch {
		case line == "":
			if hasData {
				out = append(out, refEvent{event, strings.TrimSuffix(data, "\n")})
			}
			data, event, hasData = "", "", false
		case line[0] == ':':
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "data":
				data += value + "\n"
				hasData = true
			case "event":
				event = value
			}
		}
	}
	return out
}

func readAll(t testing.TB, r io.Reader) ([]refEvent, error) {
	s := NewSSEReader(r)
	var out []refEvent
	for {
		ev, err := s.Next()
		if err != nil {
			return out, err
		}
		out = append(out, refEvent{ev.Event, string(ev.Data)})
	}
}

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []refEvent
	}{
		{"lf", "data: a\n\nevent: e\ndata: b\n\n", []refEvent{{"", "a"}, {"e", "b"}}},
		{"crlf", "data: a\r\n\r\nevent: e\r\ndata: b\r\n\r\n", []refEvent{{"", "a"}, {"e", "b"}}},
		{"cr", "data: a\r\rdata: b\r\r", []refEvent{{"", "a"}, {"", "b"}}},
		{"mixed ends", "data: a\r\ndata: b\rdata: c\n\r\n", []refEvent{{"", "a\nb\nc"}}},
		{"multi-line data", "data: {\ndata:  x\ndata\n\n", []refEvent{{"", "{\n x\n"}}},
		{"comments and other fields", ": hi\nid: 7\nretry: 10\nfoo\ndata: x\n\n", []refEvent{{"", "x"}}},
		{"event without data is not dispatched", "event: ping\n\ndata: x\n\n", []refEvent{{"", "x"}}},
		{"empty data is dispatched", "data:\n\n", []refEvent{{"", ""}}},
		{"value without a space", "data:x\n\n", []refEvent{{"", "x"}}},
		{"byte order mark", "\xEF\xBB\xBFdata: x\n\n", []refEvent{{"", "x"}}},
		{"unterminated event dropped", "data: a\n\ndata: b\n", []refEvent{{"", "a"}}},
		{"partial last line dropped", "data: a\n\ndata: b", []refEvent{{"", "a"}}},
		{"colon in value", "data: a: b\n\n", []refEvent{{"", "a: b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, r := range map[string]io.Reader{
				"whole":    strings.NewReader(tt.in),
				"one byte": iotest.OneByteReader(strings.NewReader(tt.in)),
				"buffered": bufferedSource{strings.NewReader(tt.in)},
			} {
				got, err := readAll(t, r)
				if err != io.EOF {
					t.Fatalf("%s: end %v, want io.EOF", name, err)
				}
				if !equalEvents(got, tt.want) {
					t.Errorf("%s: %q, want %q", name, got, tt.want)
				}
			}
			if ref := refParse([]byte(tt.in)); !equalEvents(ref, tt.want) {
				t.Errorf("reference parser: %q, want %q", ref, tt.want)
			}
		})
	}
}

// TestSSEReaderCRDoesNotWait checks that a line ended by a lone CR is
// returned without waiting for the next byte (which may be an LF).
func TestSSEReaderCRDoesNotWait(t *testing.T) {
	pr, pw := io.Pipe()
	s := NewSSEReader(pr)
	got := make(chan SSEEvent, 1)
	go func() {
		ev, _ := s.Next()
		got <- SSEEvent{Event: ev.Event, Data: bytes.Clone(ev.Data)}
	}()
	_, _ = pw.Write([]byte("data: x\r\r"))
	ev := <-got // the test times out if Next waits for more
	if string(ev.Data) != "x" {
		t.Fatalf("data %q", ev.Data)
	}
	pw.Close()
}

// bufferedSource is a source that says it buffers (as an h1client body
// does): the reader uses its small line buffer over it.
type bufferedSource struct{ io.Reader }

func (bufferedSource) Buffered() int { return 0 }

func TestSSEReaderLongLines(t *testing.T) {
	long := strings.Repeat("x", 10<<10) // longer than the read buffer
	for _, src := range []io.Reader{strings.NewReader("data: " + long + "\r\n\r\n"), bufferedSource{strings.NewReader("data: " + long + "\r\n\r\n")}} {
		got, err := readAll(t, src)
		if err != io.EOF || len(got) != 1 || got[0].data != long {
			t.Fatalf("got %d events (%v)", len(got), err)
		}
	}
	// Lines around the small buffer's size, CRLF split across reads.
	for _, n := range []int{smallSSEBuffer - 8, smallSSEBuffer - 7, smallSSEBuffer - 6, smallSSEBuffer, smallSSEBuffer + 1} {
		line := strings.Repeat("z", n)
		in := "data: " + line[6:] + "\r\n\r\ndata: b\r\n\r\n"
		got, err := readAll(t, bufferedSource{iotest.OneByteReader(strings.NewReader(in))})
		if err != io.EOF || len(got) != 2 || got[0].data != line[6:] || got[1].data != "b" {
			t.Fatalf("line of %d: got %q (%v)", n, got, err)
		}
	}
	_, err := readAll(t, io.MultiReader(strings.NewReader("data: "), strings.NewReader(strings.Repeat("y", MaxSSELine+16<<10))))
	if !errors.Is(err, ErrSSELineTooLong) {
		t.Fatalf("end %v, want ErrSSELineTooLong", err)
	}
}

func equalEvents(a, b []refEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzSSEReader checks the reader against the reference parser on
// arbitrary bytes, read whole and one byte at a time: the same events,
// data that never holds a CR (a line end, which belongs between lines),
// and a clean io.EOF at the end.
func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n", "data: a\r\n\r\n", "data: a\r\r", "event: e\ndata: b\ndata: c\n\n",
		": c\n\ndata\n\n", "\xEF\xBB\xBFdata: x\r\n\r\n", "data: x\r", "data:\r\n\n",
		"data: [DONE]\n\n", "event: ping\ndata: {\"type\": \"ping\"}\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := refParse(b)
		for name, r := range map[string]io.Reader{
			"whole":    bytes.NewReader(b),
			"one byte": iotest.OneByteReader(bytes.NewReader(b)),
			"buffered": bufferedSource{iotest.HalfReader(bytes.NewReader(b))},
		} {
			got, err := readAll(t, r)
			if err != io.EOF {
				t.Fatalf("%s: end %v", name, err)
			}
			for _, ev := range got {
				if strings.ContainsRune(ev.data, '\r') || strings.ContainsAny(ev.event, "\r\n") {
					t.Fatalf("%s: event %q holds a line end", name, ev)
				}
			}
			if !equalEvents(got, want) {
				t.Fatalf("%s: %q, reference parser %q", name, got, want)
			}
		}
	})
}
