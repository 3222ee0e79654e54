package proxy

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/httpwire"
	"github.com/sluicegw/sluice/internal/upstream"
)

type recorder struct {
	h      http.Header
	b      strings.Builder
	writes int
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(int)             {}
func (r *recorder) Write(p []byte) (int, error) { r.writes++; return r.b.Write(p) }

// serveConn gives copyResponseBody a connection that yields data in
// pieces a few bytes apart, then ends: a pipe (no socket: reads wait with
// their buffer) or a loopback TCP socket (waits give the buffer back).
func serveConn(t *testing.T, kind, data string) *upstream.Conn {
	t.Helper()
	var a, b net.Conn
	if kind == "pipe" {
		a, b = net.Pipe()
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if a, err = net.Dial("tcp", ln.Addr().String()); err != nil {
			t.Fatal(err)
		}
		if b, err = ln.Accept(); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		for len(data) > 0 {
			n := min(len(data), 4)
			io.WriteString(b, data[:n])
			data = data[n:]
			time.Sleep(time.Millisecond)
		}
		b.Close()
	}()
	t.Cleanup(func() { a.Close() })
	return upstream.NewConn(a, nil)
}

func TestCopyResponseBody(t *testing.T) {
	cases := []struct {
		name, raw, want string
		rh              httpwire.Head
		wantErr         bool
	}{
		{name: "length", raw: "hello world", rh: httpwire.Head{ContentLength: 5}, want: "hello"},
		{name: "chunked", raw: "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n", rh: httpwire.Head{Chunked: true, ContentLength: -1}, want: "hello world"},
		{name: "until close", raw: "all of it", rh: httpwire.Head{UntilClose: true, ContentLength: -1}, want: "all of it"},
		{name: "short length", raw: "hel", rh: httpwire.Head{ContentLength: 5}, want: "hel", wantErr: true},
		{name: "bad chunk size", raw: "zz\r\nhello\r\n", rh: httpwire.Head{Chunked: true, ContentLength: -1}, wantErr: true},
		{name: "missing chunk crlf", raw: "5\r\nhelloXX0\r\n\r\n", rh: httpwire.Head{Chunked: true, ContentLength: -1}, want: "hello", wantErr: true},
		{name: "cut chunked", raw: "5\r\nhel", rh: httpwire.Head{Chunked: true, ContentLength: -1}, want: "hel", wantErr: true},
	}
	for _, tc := range cases {
		for _, kind := range []string{"pipe", "tcp"} {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				c := serveConn(t, kind, tc.raw)
				rec := &recorder{h: http.Header{}}
				n, err := copyResponseBody(rec, c, &tc.rh, time.Second)
				if (err != nil) != tc.wantErr {
					t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
				}
				if rec.b.String() != tc.want || n != int64(len(tc.want)) {
					t.Errorf("body %q (n=%d), want %q", rec.b.String(), n, tc.want)
				}
			})
		}
	}
}

func TestReplayBody(t *testing.T) {
	var b replayBody
	b.reset(strings.NewReader("0123456789"), 16)
	first, _ := io.ReadAll(&b)
	if !b.rewind() {
		t.Fatal("a body within the buffer must rewind")
	}
	second, _ := io.ReadAll(&b)
	if string(first) != "0123456789" || string(second) != string(first) {
		t.Fatalf("first %q second %q", first, second)
	}
	// Partly consumed, then replayed: the rest still comes from the source.
	b.reset(strings.NewReader("abcdefgh"), 16)
	p := make([]byte, 3)
	io.ReadFull(&b, p)
	b.rewind()
	all, _ := io.ReadAll(&b)
	if string(all) != "abcdefgh" {
		t.Fatalf("replay after partial read = %q", all)
	}
	// Over the limit: no replay.
	b.reset(strings.NewReader(strings.Repeat("x", 100)), 10)
	io.ReadAll(&b)
	if b.rewind() {
		t.Fatal("a body over the limit must not rewind")
	}
}

func TestStatusSet(t *testing.T) {
	var s StatusSet
	for _, c := range []int{100, 502, 503, 599, 600, 99} {
		s.Add(c)
	}
	for c, want := range map[int]bool{100: true, 502: true, 503: true, 599: true, 504: false, 600: false, 99: false, 200: false} {
		if s.Has(c) != want {
			t.Errorf("Has(%d) = %v", c, !want)
		}
	}
}
