package h1

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echoHandler answers with facts about the request and echoes its body.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.Header().Set("X-Body-Error", err.Error())
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	sum := sha256.Sum256(body)
	h := w.Header()
	h.Set("X-Method", r.Method)
	h.Set("X-Path", r.URL.Path)
	h.Set("X-Query", r.URL.RawQuery)
	h.Set("X-Host", r.Host)
	h.Set("X-Proto", r.Proto)
	h.Set("X-Content-Length", strconv.FormatInt(r.ContentLength, 10))
	h.Set("X-Transfer-Encoding", strings.Join(r.TransferEncoding, ","))
	h.Set("X-Body-Sha256", hex.EncodeToString(sum[:]))
	h.Set("X-Close", strconv.FormatBool(r.Close))
	h.Set("X-Header-Keys", strconv.Itoa(len(r.Header)))
	w.Write(body)
}

func TestKeepAliveReuse(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(echoHandler))
	client := newClient(t)
	reused := 0
	for i := range 10 {
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused++
			}
		}}
		req, _ := http.NewRequest(http.MethodGet, ts.url(fmt.Sprintf("/item/%d?x=%d", i, i)), nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		bodyString(t, resp)
		resp.Body.Close()
		if got, want := resp.Header.Get("X-Path"), fmt.Sprintf("/item/%d", i); got != want {
			t.Errorf("request %d: path %q, want %q", i, got, want)
		}
		if got, want := resp.Header.Get("X-Query"), fmt.Sprintf("x=%d", i); got != want {
			t.Errorf("request %d: query %q, want %q", i, got, want)
		}
	}
	if reused != 9 {
		t.Errorf("reused %d of 9 possible connections", reused)
	}
	if n := ts.conns.count(); n != 1 {
		t.Errorf("server accepted %d connections, want 1", n)
	}
}

func TestRequestBodies(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(echoHandler))
	client := newClient(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 KB
	tests := []struct {
		name    string
		body    []byte
		chunked bool
	}{
		{"empty fixed", nil, false},
		{"small fixed", []byte("hello"), false},
		{"large fixed", big, false},
		{"small chunked", []byte("hello"), true},
		{"large chunked", big, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length
			}
			req, _ := http.NewRequest(http.MethodPost, ts.url("/echo"), body)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got := bodyString(t, resp)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Header.Get("X-Body-Error"))
			}
			if got != string(tt.body) {
				t.Errorf("echoed %d bytes, want %d", len(got), len(tt.body))
			}
			wantCL, wantTE := strconv.Itoa(len(tt.body)), ""
			if tt.chunked && len(tt.body) > 0 {
				wantCL, wantTE = "-1", "chunked"
			}
			if got := resp.Header.Get("X-Content-Length"); got != wantCL {
				t.Errorf("request ContentLength %s, want %s", got, wantCL)
			}
			if got := resp.Header.Get("X-Transfer-Encoding"); got != wantTE {
				t.Errorf("request TransferEncoding %q, want %q", got, wantTE)
			}
		})
	}
	if n := ts.conns.count(); n != 1 {
		t.Errorf("server accepted %d connections, want 1", n)
	}
}

func TestResponseFraming(t *testing.T) {
	big := strings.Repeat("x", 10000)
	tests := []struct {
		name    string
		method  string
		handler http.HandlerFunc
		wantCL  int64 // resp.ContentLength as the client sees it
		wantTE  []string
		body    string
	}{
		{
			name:    "small body gets Content-Length",
			handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") },
			wantCL:  5, body: "hello",
		},
		{
			name:    "empty body gets Content-Length 0",
			handler: func(w http.ResponseWriter, r *http.Request) {},
			wantCL:  0,
		},
		{
			name:    "large body is chunked",
			handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) },
			wantCL:  -1, wantTE: []string{"chunked"}, body: big,
		},
		{
			name: "large body in small writes is chunked",
			handler: func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i < len(big); i += 100 {
					w.Write([]byte(big[i : i+100]))
				}
			},
			wantCL: -1, wantTE: []string{"chunked"}, body: big,
		},
		{
			name: "flushed body is chunked",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "a")
				w.(http.Flusher).Flush()
				io.WriteString(w, "b")
			},
			wantCL: -1, wantTE: []string{"chunked"}, body: "ab",
		},
		{
			name: "declared Content-Length is kept for a large body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(big)))
				w.Write([]byte(big))
			},
			wantCL: int64(len(big)), body: big,
		},
		{
			name: "HEAD gets the computed length and no body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "hello")
			},
			method: http.MethodHead, wantCL: 5,
		},
		{
			name: "HEAD with declared length",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "1234")
			},
			method: http.MethodHead, wantCL: 1234,
		},
		{
			name: "204 has no body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
				if _, err := io.WriteString(w, "x"); !errors.Is(err, http.ErrBodyNotAllowed) {
					panic(fmt.Sprintf("write on 204: %v", err))
				}
			},
			wantCL: 0,
		},
		{
			name: "304 has no body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotModified)
			},
			wantCL: 0,
		},
		{
			name: "WriteString",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.(io.StringWriter).WriteString("a")
				w.(io.StringWriter).WriteString(big)
			},
			wantCL: -1, wantTE: []string{"chunked"}, body: "a" + big,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.handler)
			client := newClient(t)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			for i := range 2 { // twice, to see the connection survive
				req, _ := http.NewRequest(method, ts.url("/"), nil)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got := bodyString(t, resp)
				resp.Body.Close()
				if got != tt.body {
					t.Errorf("body %d bytes, want %d", len(got), len(tt.body))
				}
				if resp.ContentLength != tt.wantCL {
					t.Errorf("ContentLength %d, want %d", resp.ContentLength, tt.wantCL)
				}
				if fmt.Sprint(resp.TransferEncoding) != fmt.Sprint(tt.wantTE) {
					t.Errorf("TransferEncoding %v, want %v", resp.TransferEncoding, tt.wantTE)
				}
				if resp.Header.Get("Date") == "" {
					t.Error("no Date header")
				}
				if ct := resp.Header.Get("Content-Type"); ct != "" {
					t.Errorf("Content-Type %q was sniffed", ct)
				}
				if i == 1 && ts.conns.count() != 1 {
					t.Errorf("server accepted %d connections, want 1", ts.conns.count())
				}
			}
		})
	}
}

func TestContentLengthEnforced(t *testing.T) {
	excess := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		switch r.URL.Path {
		case "/excess":
			io.WriteString(w, "0123456789")
			_, err := io.WriteString(w, "!")
			excess <- err
		case "/short":
			io.WriteString(w, "01234")
		}
	}))
	client := newClient(t)

	t.Run("excess write fails", func(t *testing.T) {
		resp, err := client.Get(ts.url("/excess"))
		if err != nil {
			t.Fatal(err)
		}
		if got := bodyString(t, resp); got != "0123456789" {
			t.Errorf("body %q", got)
		}
		resp.Body.Close()
		if err := <-excess; !errors.Is(err, http.ErrContentLength) {
			t.Errorf("excess write returned %v, want http.ErrContentLength", err)
		}
	})
	t.Run("short body is a truncation", func(t *testing.T) {
		resp, err := client.Get(ts.url("/short"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("reading a short body returned %v, want io.ErrUnexpectedEOF", err)
		}
	})
}

func TestHTTP10(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			io.WriteString(w, strings.Repeat("y", 9000))
			return
		}
		io.WriteString(w, r.Proto)
	}))

	t.Run("closes by default", func(t *testing.T) {
		rc := dialRaw(t, ts.addr)
		rc.write("GET / HTTP/1.0\r\n\r\n")
		resp := rc.response("GET")
		if got := bodyString(t, resp); got != "HTTP/1.0" {
			t.Errorf("body %q", got)
		}
		if !resp.Close {
			t.Error("response does not announce close")
		}
		rc.expectClosed()
	})
	t.Run("keep-alive on request", func(t *testing.T) {
		rc := dialRaw(t, ts.addr)
		for range 2 {
			rc.write("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
			resp := rc.response("GET")
			if got := resp.Header.Get("Connection"); got != "keep-alive" {
				t.Errorf("Connection %q, want keep-alive", got)
			}
			if resp.ContentLength != 8 {
				t.Errorf("ContentLength %d, want 8", resp.ContentLength)
			}
		}
	})
	t.Run("unknown length is close-delimited", func(t *testing.T) {
		rc := dialRaw(t, ts.addr)
		rc.write("GET /big HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		out := rc.readAll()
		head, body, _ := strings.Cut(out, "\r\n\r\n")
		if strings.Contains(head, "Content-Length") || strings.Contains(head, "chunked") {
			t.Errorf("head has framing: %q", head)
		}
		if len(body) != 9000 {
			t.Errorf("body %d bytes, want 9000", len(body))
		}
	})
	t.Run("client close on HTTP/1.1", func(t *testing.T) {
		rc := dialRaw(t, ts.addr)
		rc.write("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		if resp := rc.response("GET"); !resp.Close {
			t.Error("response does not announce close")
		}
		rc.expectClosed()
	})
}

func TestExpectContinue(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/reject" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		echoHandler(w, r)
	}))

	t.Run("100 Continue on first body read", func(t *testing.T) {
		rc := dialRaw(t, ts.addr)
		rc.write("POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		line, err := rc.br.ReadString('\n')
		if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("read %q, %v; want the 100 Continue line", line, err)
		}
		if blank, _ := rc.br.ReadString('\n'); blank != "\r\n" {
			t.Fatalf("100 Continue not followed by an empty line: %q", blank)
		}
		rc.write("hello")
		resp := rc.response("POST")
		if got := bodyString(t, resp); resp.StatusCode != 200 || got != "hello" {
			t.Errorf("status %d body %q", resp.StatusCode, got)
		}
	})
	t.Run("final status without reading closes", func(t *testing.T) {
		rc := dialRaw(t, ts.addr)
		rc.write("POST /reject HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		resp := rc.response("POST")
		if resp.StatusCode != http.StatusForbidden || !resp.Close {
			t.Errorf("status %d close %v; want 403 and close", resp.StatusCode, resp.Close)
		}
		rc.expectClosed()
	})
	t.Run("net/http client", func(t *testing.T) {
		tr := &http.Transport{ExpectContinueTimeout: 10 * time.Second}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodPost, ts.url("/echo"), strings.NewReader("payload"))
		req.Header.Set("Expect", "100-continue")
		start := time.Now()
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if got := bodyString(t, resp); got != "payload" {
			t.Errorf("body %q", got)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v: the client waited out ExpectContinueTimeout", d)
		}
	})
}

func TestPipelining(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(echoHandler))
	rc := dialRaw(t, ts.addr)
	rc.write("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n" +
		"POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" +
		"POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n" +
		"HEAD /4 HTTP/1.1\r\nHost: h\r\n\r\n" +
		"GET /5 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	for _, want := range []struct{ method, path, body string }{
		{"GET", "/1", ""}, {"POST", "/2", "abc"}, {"POST", "/3", "xy"}, {"HEAD", "/4", ""}, {"GET", "/5", ""},
	} {
		resp := rc.response(want.method)
		if got := resp.Header.Get("X-Path"); got != want.path {
			t.Errorf("response for %s, want %s", got, want.path)
		}
		if got := bodyString(t, resp); got != want.body {
			t.Errorf("%s: body %q, want %q", want.path, got, want.body)
		}
	}
	rc.expectClosed()
}

func TestHijack(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		defer nc.Close()
		if _, _, err := w.(http.Hijacker).Hijack(); !errors.Is(err, http.ErrHijacked) {
			panic(fmt.Sprintf("second Hijack: %v", err))
		}
		if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrHijacked) {
			panic(fmt.Sprintf("Write after Hijack: %v", err))
		}
		buffered := rw.Reader.Buffered()
		line, _ := rw.ReadString('\n')
		fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		fmt.Fprintf(rw, "buffered=%d first=%q\n", buffered, line)
		rw.Flush()
		more, _ := rw.ReadString('\n')
		fmt.Fprintf(rw, "then=%q\n", more)
		rw.Flush()
	}))
	rc := dialRaw(t, ts.addr)
	rc.write("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly bytes\n")
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	tp := textproto.NewReader(rc.br)
	if line, _ := tp.ReadLine(); line != `buffered=12 first="early bytes\n"` {
		t.Errorf("hijacked reader saw %q", line)
	}
	rc.write("later\n")
	if line, _ := tp.ReadLine(); line != `then="later\n"` {
		t.Errorf("hijacked reader saw %q", line)
	}
	rc.expectClosed()
}

func TestAbortHandler(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/after-flush" {
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
		}
		panic(http.ErrAbortHandler)
	}))
	client := newClient(t)

	t.Run("after the head: truncated body", func(t *testing.T) {
		resp, err := client.Get(ts.url("/after-flush"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil {
			t.Fatalf("body %q read without error; want a truncation error", body)
		}
		if string(body) != "partial" {
			t.Errorf("body %q, want %q", body, "partial")
		}
	})
	t.Run("before the head: no response", func(t *testing.T) {
		if resp, err := client.Get(ts.url("/")); err == nil {
			resp.Body.Close()
			t.Fatalf("got status %d, want an error", resp.StatusCode)
		}
	})
	if strings.Contains(ts.logs.String(), "handler panic") {
		t.Errorf("ErrAbortHandler was logged as a panic:\n%s", ts.logs)
	}
}

func TestHandlerPanicLogged(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	}))
	rc := dialRaw(t, ts.addr)
	rc.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	rc.expectClosed()
	logs := ts.logs.String()
	if !strings.Contains(logs, "handler panic") || !strings.Contains(logs, "boom") ||
		!strings.Contains(logs, "conformance_test.go") {
		t.Errorf("panic not logged with its stack:\n%s", logs)
	}
}

func TestInformationalAndTrailers(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Trailer", "X-Checksum")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "body")
		w.Header().Set("X-Checksum", "abc")
		w.Header().Set(http.TrailerPrefix+"X-Late", "late")
	}))
	var hints []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if h.Get("Link") == "" {
			t.Error("103 without its Link header")
		}
		hints = append(hints, code)
		return nil
	}}
	req, _ := http.NewRequest(http.MethodGet, ts.url("/"), nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := bodyString(t, resp); got != "body" {
		t.Errorf("body %q", got)
	}
	if fmt.Sprint(hints) != "[103]" {
		t.Errorf("interim responses %v, want [103]", hints)
	}
	if got := resp.Trailer.Get("X-Checksum"); got != "abc" {
		t.Errorf("declared trailer %q, want abc", got)
	}
	if got := resp.Trailer.Get("X-Late"); got != "late" {
		t.Errorf("prefixed trailer %q, want late", got)
	}
	if got := resp.Header.Get("X-Checksum"); got != "" {
		t.Errorf("declared trailer also sent as a header: %q", got)
	}
}

func TestResponseHeaderSanitised(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Split", "a\r\nSet-Cookie: evil=1")
		w.Header()["content-length"] = []string{"999"}
		w.Header()["Bad Name"] = []string{"v"}
		io.WriteString(w, "ok")
	}))
	rc := dialRaw(t, ts.addr)
	rc.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	resp := rc.response("GET")
	if resp.Header.Get("Set-Cookie") != "" {
		t.Error("a header value split the response")
	}
	if got := resp.Header.Get("X-Split"); got != "a  Set-Cookie: evil=1" {
		t.Errorf("X-Split %q", got)
	}
	if resp.ContentLength != 2 || bodyString(t, resp) != "ok" {
		t.Errorf("ContentLength %d: a non-canonical Content-Length leaked", resp.ContentLength)
	}
}

func TestRequestFields(t *testing.T) {
	type seen struct {
		method, uri, host, path, remote string
		header                          http.Header
		body                            bool
	}
	got := make(chan seen, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Method, r.RequestURI, r.Host, r.URL.Path, r.RemoteAddr, r.Header.Clone(), r.Body == http.NoBody}
	}))
	rc := dialRaw(t, ts.addr)
	rc.write("OPTIONS * HTTP/1.1\r\nHost: example.com:8080\r\nX-A: 1\r\nX-A: 2\r\naccept: */*\r\n\r\n")
	rc.response("OPTIONS")
	s := <-got
	if s.method != "OPTIONS" || s.uri != "*" || s.path != "*" || s.host != "example.com:8080" {
		t.Errorf("got %+v", s)
	}
	if s.remote != rc.nc.LocalAddr().String() {
		t.Errorf("RemoteAddr %q, want %q", s.remote, rc.nc.LocalAddr())
	}
	if want := (http.Header{"X-A": {"1", "2"}, "Accept": {"*/*"}}); fmt.Sprint(s.header) != fmt.Sprint(want) {
		t.Errorf("header %v, want %v", s.header, want)
	}
	if !s.body {
		t.Error("Body is not http.NoBody for a request without one")
	}
}

// countingListener counts the Write calls on its connections.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, writes: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestOneWritePerResponse pins that a small response leaves in a single
// write: status line, header and body together.
func TestOneWritePerResponse(t *testing.T) {
	tests := []struct {
		name, method string
		handler      http.HandlerFunc
	}{
		{"small body", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Request-Id", "abc")
			io.WriteString(w, `{"ok":true}`)
		}},
		{"body of several writes", "GET", func(w http.ResponseWriter, r *http.Request) {
			for range 10 {
				io.WriteString(w, strings.Repeat("z", 300))
			}
		}},
		{"no body", "GET", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }},
		{"HEAD", "HEAD", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") }},
		{"declared length", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "2")
			io.WriteString(w, "ok")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cl := &countingListener{Listener: ln}
			s := &Server{Handler: tt.handler}
			go s.Serve(cl)
			defer s.Close()
			rc := dialRaw(t, ln.Addr().String())
			for i := range 3 {
				rc.write(tt.method + " / HTTP/1.1\r\nHost: h\r\n\r\n")
				rc.response(tt.method)
				if got := cl.writes.Load(); got != int64(i+1) {
					t.Fatalf("after %d responses: %d writes", i+1, got)
				}
			}
		})
	}
}
