package testkit

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadHead(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		wantErr error
		want    RecordedRequest
	}{
		{
			name: "origin form",
			raw:  "GET /p?q HTTP/1.1\r\nHost: h\r\n\r\n",
			want: RecordedRequest{Method: "GET", Target: "/p?q", Proto: "HTTP/1.1", Headers: []HeaderField{{"Host", "h"}}},
		},
		{
			name: "leading empty line and bare LF",
			raw:  "\r\nGET / HTTP/1.0\nA:b\n\n",
			want: RecordedRequest{Method: "GET", Target: "/", Proto: "HTTP/1.0", Headers: []HeaderField{{"A", "b"}}},
		},
		{name: "space before colon", raw: "GET / HTTP/1.1\r\nHost : h\r\n\r\n", wantErr: errBadRequest},
		{name: "obsolete line folding", raw: "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", wantErr: errBadRequest},
		{name: "no colon", raw: "GET / HTTP/1.1\r\nHost\r\n\r\n", wantErr: errBadRequest},
		{name: "two spaces in request line", raw: "GET  / HTTP/1.1\r\n\r\n", wantErr: errBadRequest},
		{name: "bad version", raw: "GET / HTTP/x\r\n\r\n", wantErr: errBadRequest},
		{name: "head too large", raw: "GET / HTTP/1.1\r\nA: " + strings.Repeat("a", maxHeadBytes) + "\r\n\r\n", wantErr: errHeadTooLarge},
		{name: "truncated head", raw: "GET / HTTP/1.1\r\nHost: h\r\n", wantErr: io.ErrUnexpectedEOF},
		{name: "nothing", raw: "", wantErr: io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readHead(bufio.NewReader(strings.NewReader(tt.raw)))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Method != tt.want.Method || got.Target != tt.want.Target || got.Proto != tt.want.Proto ||
				len(got.Headers) != len(tt.want.Headers) || (len(got.Headers) > 0 && got.Headers[0] != tt.want.Headers[0]) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRequestFraming(t *testing.T) {
	tests := []struct {
		name    string
		headers []HeaderField
		want    framing
		wantErr bool
	}{
		{name: "none", want: framing{}},
		{name: "length", headers: []HeaderField{{"Content-Length", "12"}}, want: framing{length: 12}},
		{name: "repeated equal lengths", headers: []HeaderField{{"Content-Length", "3"}, {"content-length", "3, 3"}}, want: framing{length: 3}},
		{name: "differing lengths", headers: []HeaderField{{"Content-Length", "3"}, {"Content-Length", "4"}}, wantErr: true},
		{name: "signed length", headers: []HeaderField{{"Content-Length", "+3"}}, wantErr: true},
		{name: "chunked", headers: []HeaderField{{"Transfer-Encoding", "chunked"}}, want: framing{chunked: true}},
		{name: "chunked wins over length", headers: []HeaderField{{"Content-Length", "3"}, {"Transfer-Encoding", "gzip, chunked"}}, want: framing{chunked: true, conflict: true}},
		{name: "chunked not last", headers: []HeaderField{{"Transfer-Encoding", "chunked, gzip"}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := requestFraming(RecordedRequest{Headers: tt.headers})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSplitTarget(t *testing.T) {
	tests := []struct {
		target, path, query string
	}{
		{"/a/b?c=d", "/a/b", "c=d"},
		{"/a%2F..%2fb", "/a%2F..%2fb", ""},
		{"//double//slash", "//double//slash", ""},
		{"http://host:80/x?y", "/x", "y"},
		{"http://host", "", ""},
		{"/redirect?to=http://x/y", "/redirect", "to=http://x/y"},
		{"*", "*", ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			p, q := splitTarget(tt.target)
			if p != tt.path || q != tt.query {
				t.Errorf("splitTarget(%q) = %q, %q; want %q, %q", tt.target, p, q, tt.path, tt.query)
			}
		})
	}
}

// TestRawRequestAndRefusals drives the upstream with bytes no well-behaved
// client would send.
func TestRawRequestAndRefusals(t *testing.T) {
	tests := []struct {
		name       string
		raw        string
		wantStatus string
		wantBody   string
		wantHits   int64
		wantBodyOf string // the recorded body of the last request
	}{
		{
			name:       "path tricks pass through verbatim",
			raw:        "GET /a/%2e%2e//b%2Fc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			wantStatus: "HTTP/1.1 200 OK",
			wantBody:   "GET /a/%2e%2e//b%2Fc\n",
			wantHits:   1,
		},
		{
			name:       "HEAD has no body",
			raw:        "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n",
			wantStatus: "HTTP/1.1 200 OK",
			wantHits:   1,
		},
		{
			name:       "HTTP/1.0 without keep-alive closes",
			raw:        "GET /old HTTP/1.0\r\n\r\n",
			wantStatus: "HTTP/1.1 200 OK",
			wantBody:   "GET /old\n",
			wantHits:   1,
		},
		{
			name:       "malformed header is refused",
			raw:        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
			wantStatus: "HTTP/1.1 400 Bad Request",
			wantBody:   "Bad Request\n",
		},
		{
			name:       "conflicting lengths are refused",
			raw:        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
			wantStatus: "HTTP/1.1 400 Bad Request",
			wantBody:   "Bad Request\n",
			wantHits:   1,
		},
		{
			name: "chunked wins over length and the smuggled request is body",
			raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"5\r\nGET /\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
			wantStatus: "HTTP/1.1 200 OK",
			wantBody:   "POST /\n",
			wantHits:   1,
			wantBodyOf: "GET /",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := Start(t, OK)
			head, body, err := RawRequest(t, u.Addr, tt.raw)
			if err != nil {
				t.Fatalf("RawRequest: %v (head %q)", err, head)
			}
			if status, _, _ := strings.Cut(head, "\r\n"); status != tt.wantStatus {
				t.Errorf("status line %q, want %q", status, tt.wantStatus)
			}
			if string(body) != tt.wantBody {
				t.Errorf("body %q, want %q", body, tt.wantBody)
			}
			if got := u.Hits(); got != tt.wantHits {
				t.Errorf("Hits() = %d, want %d", got, tt.wantHits)
			}
			if tt.wantBodyOf != "" {
				if got := string(u.LastRequest().Body); got != tt.wantBodyOf {
					t.Errorf("recorded body %q, want %q", got, tt.wantBodyOf)
				}
			}
		})
	}
}

func TestRawRequestReadsChunkedAndSkipsContinue(t *testing.T) {
	u := Start(t, Drip(2, 0))
	head, body, err := RawRequest(t, u.Addr, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(head, "\r\n") || strings.HasSuffix(head, "\r\n\r\n") {
		t.Errorf("head = %q", head)
	}
	if !strings.Contains(head, "\r\nTransfer-Encoding: chunked\r\n") {
		t.Errorf("head %q does not announce a chunked body", head)
	}
	if string(body) != "chunk 1\nchunk 2\n" {
		t.Errorf("body = %q", body)
	}
}

func TestRawRequestReportsGarbage(t *testing.T) {
	u := Start(t, Garbage)
	head, _, err := RawRequest(t, u.Addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if err == nil || head != "HELLO WORLD\r\n" {
		t.Errorf("got head %q, err %v; want the garbage and an error", head, err)
	}
}
