package httpwire

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestParseHead(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		method  string
		wantErr bool
		want    Head
		header  map[string]string
		absent  []string
	}{
		{name: "content-length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n",
			want: Head{Status: 200, ContentLength: 5}, header: map[string]string{"X-A": "1", "Content-Length": "5"}},
		{name: "chunked overrides length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
			want: Head{Status: 200, ContentLength: -1, Chunked: true}, absent: []string{"Content-Length", "Transfer-Encoding"}},
		{name: "until close", raw: "HTTP/1.1 200 OK\r\n\r\n",
			want: Head{Status: 200, ContentLength: -1, UntilClose: true, Close: true}},
		{name: "http/1.0 closes", raw: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
			want: Head{Status: 200, ContentLength: 0, Close: true}},
		{name: "http/1.0 keep-alive", raw: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n",
			want: Head{Status: 200, ContentLength: 0}},
		{name: "connection close and named hop", raw: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n\r\n",
			want: Head{Status: 200, ContentLength: 0, Close: true}, absent: []string{"X-Hop", "Keep-Alive", "Connection"}},
		{name: "head request has no body", method: "HEAD", raw: "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n",
			want: Head{Status: 200, ContentLength: 0}, header: map[string]string{"Content-Length": "500"}},
		{name: "304 no body", raw: "HTTP/1.1 304 Not Modified\r\n\r\n", want: Head{Status: 304, ContentLength: 0}},
		{name: "interim 100 skipped", raw: "HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
			want: Head{Status: 201, ContentLength: 0}, absent: []string{"X-Early"}},
		{name: "bare LF", raw: "HTTP/1.1 200 OK\nContent-Length: 0\n\n", want: Head{Status: 200, ContentLength: 0}},
		{name: "no reason", raw: "HTTP/1.1 204\r\n\r\n", want: Head{Status: 204, ContentLength: 0}},
		{name: "duplicate header kept", raw: "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
			want: Head{Status: 200, ContentLength: 0}},
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
			var rh Head
			method := tc.method
			if method == "" {
				method = "GET"
			}
			err := ReadHead(bufio.NewReader(strings.NewReader(tc.raw)), h, method, &rh)
			if tc.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
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
	var rh Head
	ReadHead(bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n")), h, "GET", &rh)
	if got := h["Set-Cookie"]; len(got) != 2 || got[0] != "a=1" || got[1] != "b=2" {
		t.Errorf("Set-Cookie = %q", got)
	}
}

func TestReadHeadTruncated(t *testing.T) {
	for _, raw := range []string{"", "HTTP/1.1 200 OK\r\nContent-Le"} {
		err := ReadHead(bufio.NewReader(strings.NewReader(raw)), http.Header{}, "GET", &Head{})
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%q: err = %v, want EOF", raw, err)
		}
	}
}
