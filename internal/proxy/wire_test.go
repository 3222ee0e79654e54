package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseHead(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		method  string
		wantErr bool
		want    respHead
		header  map[string]string
		absent  []string
	}{
		{name: "content-length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n",
			want: respHead{status: 200, contentLength: 5}, header: map[string]string{"X-A": "1", "Content-Length": "5"}},
		{name: "chunked overrides length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
			want: respHead{status: 200, contentLength: -1, chunked: true}, absent: []string{"Content-Length", "Transfer-Encoding"}},
		{name: "until close", raw: "HTTP/1.1 200 OK\r\n\r\n",
			want: respHead{status: 200, contentLength: -1, untilClose: true, close: true}},
		{name: "http/1.0 closes", raw: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
			want: respHead{status: 200, contentLength: 0, close: true}},
		{name: "http/1.0 keep-alive", raw: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n",
			want: respHead{status: 200, contentLength: 0}},
		{name: "connection close and named hop", raw: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n\r\n",
			want: respHead{status: 200, contentLength: 0, close: true}, absent: []string{"X-Hop", "Keep-Alive", "Connection"}},
		{name: "head request has no body", method: "HEAD", raw: "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n",
			want: respHead{status: 200, contentLength: 0}, header: map[string]string{"Content-Length": "500"}},
		{name: "304 no body", raw: "HTTP/1.1 304 Not Modified\r\n\r\n", want: respHead{status: 304, contentLength: 0}},
		{name: "interim 100 skipped", raw: "HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
			want: respHead{status: 201, contentLength: 0}, absent: []string{"X-Early"}},
		{name: "bare LF", raw: "HTTP/1.1 200 OK\nContent-Length: 0\n\n", want: respHead{status: 200, contentLength: 0}},
		{name: "no reason", raw: "HTTP/1.1 204\r\n\r\n", want: respHead{status: 204, contentLength: 0}},
		{name: "duplicate header kept", raw: "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
			want: respHead{status: 200, contentLength: 0}},
		{name: "garbage", raw: "HELLO WORLD\r\n\r\n", wantErr: true},
		{name: "bad status", raw: "HTTP/1.1 2x0 OK\r\n\r\n", wantErr: true},
		{name: "http/2 line", raw: "HTTP/2 200\r\n\r\n", wantErr: true},
		{name: "conflicting lengths", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", wantErr: true},
		{name: "negative length", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: true},
		{name: "space in name", raw: "HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n", wantErr: true},
		{name: "space before colon", raw: "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n", wantErr: true},
		{name: "obs-fold", raw: "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			var rh respHead
			method := tc.method
			if method == "" {
				method = "GET"
			}
			err := readHead(bufio.NewReader(strings.NewReader(tc.raw)), h, method, &rh)
			if tc.wantErr {
				if !errors.Is(err, errBadResponse) {
					t.Fatalf("err = %v, want errBadResponse", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rh != tc.want {
				t.Errorf("head = %+v, want %+v", rh, tc.want)
			}
			for k, v := range tc.header {
				if h.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, h.Get(k), v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := h[k]; ok {
					t.Errorf("%s should have been dropped", k)
				}
			}
		})
	}
	h := http.Header{}
	var rh respHead
	readHead(bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n")), h, "GET", &rh)
	if got := h["Set-Cookie"]; len(got) != 2 || got[0] != "a=1" || got[1] != "b=2" {
		t.Errorf("Set-Cookie = %q", got)
	}
}

func TestReadHeadTruncated(t *testing.T) {
	for _, raw := range []string{"", "HTTP/1.1 200 OK\r\nContent-Le"} {
		err := readHead(bufio.NewReader(strings.NewReader(raw)), http.Header{}, "GET", &respHead{})
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%q: err = %v, want EOF", raw, err)
		}
	}
}

type recorder struct {
	h      http.Header
	b      strings.Builder
	writes int
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(int)             {}
func (r *recorder) Write(p []byte) (int, error) { r.writes++; return r.b.Write(p) }

// pipeConn gives copyResponseBody a real net.Conn for deadlines.
func pipeConn(t *testing.T, data string) (net.Conn, *bufio.Reader) {
	t.Helper()
	a, b := net.Pipe()
	go func() {
		io.WriteString(b, data)
		b.Close()
	}()
	t.Cleanup(func() { a.Close() })
	return a, bufio.NewReader(a)
}

func TestCopyResponseBody(t *testing.T) {
	cases := []struct {
		name, raw, want string
		rh              respHead
		wantErr         bool
	}{
		{name: "length", raw: "hello world", rh: respHead{contentLength: 5}, want: "hello"},
		{name: "chunked", raw: "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n", rh: respHead{chunked: true, contentLength: -1}, want: "hello world"},
		{name: "until close", raw: "all of it", rh: respHead{untilClose: true, contentLength: -1}, want: "all of it"},
		{name: "short length", raw: "hel", rh: respHead{contentLength: 5}, want: "hel", wantErr: true},
		{name: "bad chunk size", raw: "zz\r\nhello\r\n", rh: respHead{chunked: true, contentLength: -1}, wantErr: true},
		{name: "missing chunk crlf", raw: "5\r\nhelloXX0\r\n\r\n", rh: respHead{chunked: true, contentLength: -1}, want: "hello", wantErr: true},
		{name: "cut chunked", raw: "5\r\nhel", rh: respHead{chunked: true, contentLength: -1}, want: "hel", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, br := pipeConn(t, tc.raw)
			rec := &recorder{h: http.Header{}}
			n, err := copyResponseBody(rec, c, br, &tc.rh, time.Second)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if rec.b.String() != tc.want || n != int64(len(tc.want)) {
				t.Errorf("body %q (n=%d), want %q", rec.b.String(), n, tc.want)
			}
		})
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
