package h1

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// problemHandler renders engine errors as problem+json, as the gateway does.
func problemHandler(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Sluice-Error", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"status": status, "code": code})
}

// TestSmuggling sends malformed or ambiguous requests over raw TCP and
// checks the engine's status and code, that the handler never ran, and that
// the connection is closed, so nothing after the request is interpreted.
func TestSmuggling(t *testing.T) {
	const host = "Host: h\r\n"
	tests := []struct {
		name   string
		req    string
		status int
		code   string
	}{
		{"CL and TE", "POST / HTTP/1.1\r\n" + host + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, CodeBadRequest},
		{"TE and CL", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400, CodeBadRequest},
		{"TE gzip, chunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, CodeNotImplemented},
		{"TE chunked, identity", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 501, CodeNotImplemented},
		{"TE identity", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\n", 501, CodeNotImplemented},
		{"TE chunked twice", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, CodeNotImplemented},
		{"TE xchunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501, CodeNotImplemented},
		{"TE with space before colon", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400, CodeBadRequest},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, CodeBadRequest},
		{"differing CL", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, CodeBadRequest},
		{"differing CL in a list", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1, 2\r\n\r\nab", 400, CodeBadRequest},
		{"non-digit CL", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1a\r\n\r\nab", 400, CodeBadRequest},
		{"negative CL", "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", 400, CodeBadRequest},
		{"space before colon", "GET / HTTP/1.1\r\n" + host + "X-A : 1\r\n\r\n", 400, CodeBadRequest},
		{"obs-fold", "GET / HTTP/1.1\r\n" + host + "X-A: 1\r\n\t2\r\n\r\n", 400, CodeBadRequest},
		{"fold as first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400, CodeBadRequest},
		{"invalid name", "GET / HTTP/1.1\r\n" + host + "X\"A: 1\r\n\r\n", 400, CodeBadRequest},
		{"NUL in value", "GET / HTTP/1.1\r\n" + host + "X-A: 1\x002\r\n\r\n", 400, CodeBadRequest},
		{"bare CR in value", "GET / HTTP/1.1\r\n" + host + "X-A: 1\r2\r\n\r\n", 400, CodeBadRequest},
		{"bare CR as line end", "GET / HTTP/1.1\r" + host + "\r\n", 400, CodeBadRequest},
		{"request line without version", "GET /\r\n" + host + "\r\n", 400, CodeBadRequest},
		{"request line with extra part", "GET / HTTP/1.1 x\r\n" + host + "\r\n", 400, CodeBadRequest},
		{"tab separator", "GET\t/ HTTP/1.1\r\n" + host + "\r\n", 400, CodeBadRequest},
		{"HTTP/2.0 request line", "GET / HTTP/2.0\r\n" + host + "\r\n", 505, CodeHTTPVersionNotSupported},
		{"HTTP/3.0 request line", "GET / HTTP/3.0\r\n" + host + "\r\n", 505, CodeHTTPVersionNotSupported},
		{"h2c preface without H2C", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, CodeHTTPVersionNotSupported},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400, CodeBadRequest},
		{"two Hosts", "GET / HTTP/1.1\r\n" + host + host + "\r\n", 400, CodeBadRequest},
		{"101 header fields", "GET / HTTP/1.1\r\n" + host + strings.Repeat("X-A: 1\r\n", 100) + "\r\n", 431, CodeRequestHeaderTooLarge},
		{"unsupported Expect", "GET / HTTP/1.1\r\n" + host + "Expect: something\r\n\r\n", 417, CodeExpectationFailed},
	}
	var (
		mu  sync.Mutex
		ran []string
	)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		ran = append(ran, r.URL.Path)
	}), func(s *Server) { s.ErrorHandler = problemHandler })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, ts.addr)
			// A valid request follows; it must never be served.
			rc.write(tt.req + "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n")
			resp := rc.response("GET")
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Sluice-Error"); got != tt.code {
				t.Errorf("code %q, want %q", got, tt.code)
			}
			var problem struct{ Code string }
			if err := json.NewDecoder(resp.Body).Decode(&problem); err != nil || problem.Code != tt.code {
				t.Errorf("body code %q (%v), want %q", problem.Code, err, tt.code)
			}
			if !resp.Close {
				t.Error("error response does not announce close")
			}
			rc.expectClosed()
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ran) > 0 {
		t.Errorf("handler ran for %v", ran)
	}
}

// TestLimits checks 414 and 431 through ErrorHandler.
func TestLimits(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		func(s *Server) {
			s.ErrorHandler = problemHandler
			s.MaxURLBytes = 100
			s.MaxHeaderBytes = 1000
		})
	tests := []struct {
		name   string
		req    string
		status int
		code   string
	}{
		{"long target", "GET /" + strings.Repeat("a", 100) + " HTTP/1.1\r\nHost: h\r\n\r\n", 414, CodeURITooLong},
		{"long target beyond the head limit", "GET /" + strings.Repeat("a", 2000), 414, CodeURITooLong},
		{"large header", "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("b", 1000) + "\r\n\r\n", 431, CodeRequestHeaderTooLarge},
		{"large incomplete header", "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("b", 2000), 431, CodeRequestHeaderTooLarge},
		{"target at the limit", "GET /" + strings.Repeat("a", 99) + " HTTP/1.1\r\nHost: h\r\n\r\n", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, ts.addr)
			rc.write(tt.req)
			resp := rc.response("GET")
			if resp.StatusCode != tt.status || resp.Header.Get("Sluice-Error") != tt.code {
				t.Errorf("status %d code %q, want %d %q", resp.StatusCode, resp.Header.Get("Sluice-Error"), tt.status, tt.code)
			}
		})
	}
}

func TestDefaultErrorHandler(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	rc := dialRaw(t, ts.addr)
	rc.write("GET / HTTP/1.1\r\n\r\n")
	resp := rc.response("GET")
	body := bodyString(t, resp)
	if resp.StatusCode != 400 || body != "Bad Request (bad_request)\n" ||
		resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("status %d type %q body %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// TestChunkedRequestFraming checks chunked bodies: valid framing keeps the
// connection, framing errors reach the handler's Read and close it.
func TestChunkedRequestFraming(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(echoHandler))
	const head = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	tests := []struct {
		name    string
		body    string
		want    string // echoed body; empty with ok false means a read error
		ok      bool
		trailer bool
	}{
		{"several chunks", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "abcde", true, false},
		{"extensions", "3;a=b;c=\"d\"\r\nabc\r\n0;last\r\n\r\n", "abc", true, false},
		{"upper-case hex and leading zeros", "00A\r\n0123456789\r\n0\r\n\r\n", "0123456789", true, false},
		{"trailers discarded", "3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n", "abc", true, true},
		{"garbage after chunk data", "3\r\nabcXX\r\n0\r\n\r\n", "", false, false},
		{"missing CRLF after data", "3\r\nabc0\r\n\r\n", "", false, false},
		{"invalid size", "zz\r\nabc\r\n0\r\n\r\n", "", false, false},
		{"size with 0x", "0x3\r\nabc\r\n0\r\n\r\n", "", false, false},
		{"bare LF after size", "3\nabc\r\n0\r\n\r\n", "", false, false},
		{"space inside size", "3 3\r\nabc\r\n0\r\n\r\n", "", false, false},
		{"oversized extension", "3;" + strings.Repeat("x", maxChunkLine) + "\r\nabc\r\n0\r\n\r\n", "", false, false},
		{"size overflow", "fffffffffffffffff\r\nabc\r\n0\r\n\r\n", "", false, false},
		{"invalid trailer", "0\r\nBad Trailer: 1\r\n\r\n", "", false, false},
		{"truncated", "3\r\nab", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, ts.addr)
			rc.write(head + tt.body)
			if tt.name == "truncated" {
				rc.nc.(interface{ CloseWrite() error }).CloseWrite()
			}
			resp := rc.response("POST")
			got := bodyString(t, resp)
			if tt.ok {
				if resp.StatusCode != 200 || got != tt.want {
					t.Fatalf("status %d body %q, want 200 %q", resp.StatusCode, got, tt.want)
				}
				// The connection is still in sync.
				rc.write("GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
				if next := rc.response("GET"); next.Header.Get("X-Path") != "/next" {
					t.Errorf("next request answered for %q", next.Header.Get("X-Path"))
				}
				return
			}
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("status %d, want the handler's 422 after a read error", resp.StatusCode)
			}
			if !resp.Close {
				t.Error("response does not announce close")
			}
			rc.expectClosed()
		})
	}
}

// TestRequestBodyReadErrors checks a Content-Length body cut short.
func TestRequestBodyReadErrors(t *testing.T) {
	readErr := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	}))
	rc := dialRaw(t, ts.addr)
	rc.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
	rc.nc.(interface{ CloseWrite() error }).CloseWrite()
	if err := <-readErr; err != io.ErrUnexpectedEOF {
		t.Errorf("read error %v, want io.ErrUnexpectedEOF", err)
	}
	rc.readAll()
}

// TestLeadingEmptyLinesAndBareLF checks the tolerances RFC 9112 allows.
func TestLeadingEmptyLinesAndBareLF(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(echoHandler))
	rc := dialRaw(t, ts.addr)
	rc.write("\r\n\r\nGET /a HTTP/1.1\nHost: h\n\n")
	if resp := rc.response("GET"); resp.StatusCode != 200 || resp.Header.Get("X-Path") != "/a" {
		t.Errorf("status %d path %q", resp.StatusCode, resp.Header.Get("X-Path"))
	}
	for i := range 3 {
		rc.write(fmt.Sprintf("POST /%d HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx\r\n", i))
		if resp := rc.response("POST"); resp.StatusCode != 200 {
			t.Errorf("status %d", resp.StatusCode)
		}
	}
}
