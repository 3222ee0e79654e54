package h1

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

func parseString(t *testing.T, head string) (reqHead, *url.URL, http.Header, *protoError) {
	t.Helper()
	p := newHeadParser(DefaultMaxURLBytes)
	var h reqHead
	u := new(url.URL)
	hdr := http.Header{}
	perr := p.parse([]byte(head), &h, u, hdr)
	return h, u, hdr, perr
}

func TestParseHead(t *testing.T) {
	tests := []struct {
		name string
		head string
		want reqHead
		hdr  http.Header
	}{
		{
			name: "simple GET",
			head: "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nuser-agent: t\r\n\r\n",
			want: reqHead{method: "GET", target: "/a/b?x=1", minor: 1, host: "example.com", contentLength: -1},
			hdr:  http.Header{"User-Agent": {"t"}},
		},
		{
			name: "bare LF line ends",
			head: "GET / HTTP/1.1\nHost: h\n\n",
			want: reqHead{method: "GET", target: "/", minor: 1, host: "h", contentLength: -1},
			hdr:  http.Header{},
		},
		{
			name: "duplicates kept in order and OWS trimmed",
			head: "GET / HTTP/1.1\r\nHost: h\r\nX-A:  1 \r\nx-a:\t2\r\nX-Empty:\r\n\r\n",
			want: reqHead{method: "GET", target: "/", minor: 1, host: "h", contentLength: -1},
			hdr:  http.Header{"X-A": {"1", "2"}, "X-Empty": {""}},
		},
		{
			name: "identical Content-Length values",
			head: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n",
			want: reqHead{method: "POST", target: "/", minor: 1, host: "h", contentLength: 5},
			hdr:  http.Header{"Content-Length": {"5, 5", "5"}},
		},
		{
			name: "chunked, Transfer-Encoding not in header",
			head: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n",
			want: reqHead{method: "POST", target: "/", minor: 1, host: "h", contentLength: -1, chunked: true},
			hdr:  http.Header{},
		},
		{
			name: "HTTP/1.0 without Host, keep-alive",
			head: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			want: reqHead{method: "GET", target: "/", minor: 0, contentLength: -1, keepAlive: true},
			hdr:  http.Header{"Connection": {"Keep-Alive"}},
		},
		{
			name: "connection close and expect",
			head: "PUT /x HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
			want: reqHead{method: "PUT", target: "/x", minor: 1, host: "h", contentLength: 3, closeConn: true, expectCont: true},
			hdr:  http.Header{"Connection": {"foo, close"}, "Expect": {"100-Continue"}, "Content-Length": {"3"}},
		},
		{
			name: "expect ignored for HTTP/1.0",
			head: "PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
			want: reqHead{method: "PUT", target: "/x", minor: 0, contentLength: 3},
			hdr:  http.Header{"Expect": {"100-continue"}, "Content-Length": {"3"}},
		},
		{
			name: "absolute-form sets host from the URI",
			head: "GET http://upstream.example:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
			want: reqHead{method: "GET", target: "http://upstream.example:8080/p?q", minor: 1, host: "upstream.example:8080", contentLength: -1},
			hdr:  http.Header{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, hdr, perr := parseString(t, tt.head)
			if perr != nil {
				t.Fatalf("parse: %v", perr)
			}
			if h != tt.want {
				t.Errorf("head = %+v\nwant %+v", h, tt.want)
			}
			if !reflect.DeepEqual(hdr, tt.hdr) {
				t.Errorf("header = %v, want %v", hdr, tt.hdr)
			}
		})
	}
}

func TestParseHeadErrors(t *testing.T) {
	tests := []struct {
		name   string
		head   string
		status int
	}{
		{"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
		{"invalid Host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		{"CL and TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"TE gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"TE twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
		{"TE empty", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", 501},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"differing CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
		{"differing CL list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 05\r\n\r\n", 400},
		{"CL sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400},
		{"CL hex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\n", 400},
		{"CL empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400},
		{"CL overflow", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length : 0\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n", 400},
		{"name with space", "GET / HTTP/1.1\r\nHost: h\r\nX A: 1\r\n\r\n", 400},
		{"name with slash", "GET / HTTP/1.1\r\nHost: h\r\nX/A: 1\r\n\r\n", 400},
		{"empty name", "GET / HTTP/1.1\r\nHost: h\r\n: 1\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n", 400},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400},
		{"bare CR in request line", "GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"CTL in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\n\r\n", 400},
		{"double space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
		{"HTTP/0.9 style", "GET /\r\n\r\n", 400},
		{"lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
		{"version garbage", "GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400},
		{"invalid method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"fragment", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
		{"HTTP/3", "GET / HTTP/3\r\nHost: h\r\n\r\n", 505},
		{"asterisk with GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"relative target", "GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"absolute-form ftp", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"bad escape", "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"CONNECT origin-form", "CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"unsupported expectation", "GET / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", 417},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, perr := parseString(t, tt.head)
			if perr == nil {
				t.Fatal("parse succeeded, want an error")
			}
			if perr.status != tt.status {
				t.Errorf("status = %d (%s), want %d", perr.status, perr.reason, tt.status)
			}
		})
	}
}

// TestParseOriginFormMatchesNetURL pins the allocation-free path to
// url.ParseRequestURI's result.
func TestParseOriginFormMatchesNetURL(t *testing.T) {
	targets := []string{
		"/", "/a/b", "/a/b/", "//double", "/a?b=c&d=e", "/a?", "/a??", "/a?b?c",
		"/~user/x-y_z.json", "/p;params=1", "/a:b@c", "/$&+,=", "/%2F", "/a%20b?c=%20",
		"/a!b", "/a*b", "/(x)", "/é", "/a?q=é", "/a'b",
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			want, err := url.ParseRequestURI(target)
			if err != nil {
				t.Fatal(err)
			}
			var got url.URL
			if perr := parseOriginForm(&got, target); perr != nil {
				t.Fatalf("parseOriginForm: %v", perr)
			}
			if got != *want {
				t.Errorf("got %#v\nwant %#v", got, *want)
			}
		})
	}
}

func TestParseChunkSize(t *testing.T) {
	tests := []struct {
		line string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1a", 26, true},
		{"FF", 255, true},
		{"000000000000000000001", 1, true},
		{"5;name=value", 5, true},
		{"5 ; name=\"quoted\"", 5, true},
		{"5\t;x", 5, true},
		{"", 0, false},
		{" 5", 0, false},
		{"5 ", 0, false},
		{"5 x", 0, false},
		{"0x5", 0, false},
		{"-5", 0, false},
		{"g", 0, false},
		{"5;a\x00b", 0, false},
		{"5;a\rb", 0, false},
		{"10000000000000000", 0, false}, // 2^64
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, ok := parseChunkSize([]byte(tt.line))
			if ok != tt.ok || got != tt.want {
				t.Errorf("parseChunkSize(%q) = %d, %v; want %d, %v", tt.line, got, ok, tt.want, tt.ok)
			}
		})
	}
}
