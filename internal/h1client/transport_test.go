package h1client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/httpwire"
)

// rawServer is a real TCP listener that reads each request with
// net/http's parser and answers with whatever bytes the test's handler
// writes, so framing, cuts and silences are the test's to choose.
type rawServer struct {
	ln    net.Listener
	conns atomic.Int64
	mu    sync.Mutex
	reqs  []*recorded
}

type recorded struct {
	conn int64
	head string
	body []byte
}

// handler answers one request; it returns false to close the connection.
type handler func(w *bufio.Writer, req *http.Request, conn net.Conn) bool

func startRaw(t *testing.T, h handler) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			id := s.conns.Add(1)
			go s.serve(c, id, h)
		}
	}()
	return s
}

func (s *rawServer) serve(c net.Conn, id int64, h handler) {
	defer c.Close()
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	for {
		var head bytes.Buffer
		req, err := http.ReadRequest(bufio.NewReader(io.TeeReader(br, &head)))
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, &recorded{conn: id, head: head.String(), body: body})
		s.mu.Unlock()
		ok := h(bw, req, c)
		bw.Flush()
		if !ok {
			return
		}
	}
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() }

func (s *rawServer) requests() []*recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*recorded(nil), s.reqs...)
}

func get(t *testing.T, tr http.RoundTripper, ctx context.Context, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr.RoundTrip(req)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

func TestFramingAndReuse(t *testing.T) {
	answers := map[string]string{
		"/length":  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello",
		"/chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
		"/empty":   "HTTP/1.1 204 No Content\r\n\r\n",
		"/lf-only": "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
	}
	want := map[string]string{"/length": "hello", "/chunked": "hello world", "/empty": "", "/lf-only": "ok"}
	srv := startRaw(t, func(w *bufio.Writer, req *http.Request, _ net.Conn) bool {
		w.WriteString(answers[req.URL.Path])
		return true
	})
	tr := &Transport{}
	defer tr.CloseIdleConnections()
	for range 3 {
		for _, path := range []string{"/length", "/chunked", "/empty", "/lf-only"} {
			resp, err := get(t, tr, context.Background(), srv.url()+path)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if got := readAll(t, resp); got != want[path] {
				t.Errorf("%s: body %q, want %q", path, got, want[path])
			}
			if path == "/length" && (resp.StatusCode != 200 || resp.Header.Get("X-A") != "1" || resp.ContentLength != 5) {
				t.Errorf("%s: status %d, X-A %q, length %d", path, resp.StatusCode, resp.Header.Get("X-A"), resp.ContentLength)
			}
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections for 12 sequential requests, want 1 (keep-alive)", n)
	}
}

func TestUntilCloseBody(t *testing.T) {
	srv := startRaw(t, func(w *bufio.Writer, _ *http.Request, _ net.Conn) bool {
		w.WriteString("HTTP/1.1 200 OK\r\n\r\nall of it")
		return false
	})
	tr := &Transport{}
	for range 2 {
		resp, err := get(t, tr, context.Background(), srv.url())
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "all of it" {
			t.Fatalf("body %q", got)
		}
	}
	if n := srv.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (a body that ends with the connection cannot reuse it)", n)
	}
}

func TestRequestOnTheWire(t *testing.T) {
	srv := startRaw(t, func(w *bufio.Writer, _ *http.Request, _ net.Conn) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		return true
	})
	tr := &Transport{}
	defer tr.CloseIdleConnections()
	small := `{"model":"m"}`
	large := strings.Repeat("x", 200<<10) // sent after its head
	for _, body := range []string{small, large} {
		req, _ := http.NewRequest(http.MethodPost, srv.url()+"/v1/chat/completions?api-version=2024-10-21", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer sk-1")
		req.Header.Set("Connection", "keep-alive") // hop-by-hop: not sent
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// A body of unknown length is sent with its length.
	req, _ := http.NewRequest(http.MethodPost, srv.url()+"/u", io.MultiReader(strings.NewReader("ab"), strings.NewReader("c")))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	reqs := srv.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	h := reqs[0].head
	for _, want := range []string{"POST /v1/chat/completions?api-version=2024-10-21 HTTP/1.1\r\n", "\r\nHost: " + srv.ln.Addr().String() + "\r\n",
		"\r\nAuthorization: Bearer sk-1\r\n", "\r\nContent-Length: 13\r\n"} {
		if !strings.Contains(h, want) {
			t.Errorf("head %q lacks %q", h, want)
		}
	}
	if strings.Contains(h, "Connection") || strings.Contains(h, "User-Agent") || strings.Contains(h, "Accept-Encoding") {
		t.Errorf("head %q has a field the transport must not send", h)
	}
	if string(reqs[0].body) != small || string(reqs[1].body) != large || string(reqs[2].body) != "abc" {
		t.Errorf("bodies: %d, %d, %q bytes", len(reqs[0].body), len(reqs[1].body), reqs[2].body)
	}
	if !strings.Contains(reqs[2].head, "Content-Length: 3\r\n") {
		t.Errorf("unsized body head %q", reqs[2].head)
	}
	if srv.conns.Load() != 1 {
		t.Errorf("%d connections, want 1", srv.conns.Load())
	}
}

func TestHeaderInjectionRefused(t *testing.T) {
	srv := startRaw(t, func(w *bufio.Writer, _ *http.Request, _ net.Conn) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		return true
	})
	tr := &Transport{}
	for _, bad := range []http.Header{{"X-A": {"1\r\nX-Injected: 1"}}, {"Bad Name": {"1"}}} {
		req, _ := http.NewRequest(http.MethodGet, srv.url(), nil)
		req.Header = bad
		if _, err := tr.RoundTrip(req); err == nil {
			t.Errorf("header %v was sent", bad)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// A kept-alive connection the server closed while idle fails the next
// request before any answer byte: it is sent again on a new connection.
func TestStaleConnectionRetried(t *testing.T) {
	srv := startRaw(t, func(w *bufio.Writer, req *http.Request, _ net.Conn) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return false // close after each answer without saying so
	})
	tr := &Transport{}
	defer tr.CloseIdleConnections()
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodPost, srv.url(), strings.NewReader("body"))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got := readAll(t, resp); got != "ok" {
			t.Fatalf("request %d: %q", i, got)
		}
		time.Sleep(20 * time.Millisecond) // let the close arrive
	}
	for _, r := range srv.requests() {
		if string(r.body) != "body" {
			t.Errorf("a resent request had body %q", r.body)
		}
	}
}

func TestMalformedResponse(t *testing.T) {
	for name, raw := range map[string]string{
		"not http":       "SSH-2.0-OpenSSH\r\n\r\n",
		"bad chunk size": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
		"short body":     "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
		"cut chunk":      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
	} {
		t.Run(name, func(t *testing.T) {
			srv := startRaw(t, func(w *bufio.Writer, _ *http.Request, _ net.Conn) bool {
				w.WriteString(raw)
				return false
			})
			resp, err := get(t, &Transport{}, context.Background(), srv.url())
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if !errors.Is(err, httpwire.ErrMalformed) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("err = %v, want malformed or unexpected EOF", err)
			}
		})
	}
}

// held answers with a head and a first event, then waits for release
// before the rest.
func heldServer(t *testing.T, release <-chan struct{}) *rawServer {
	return startRaw(t, func(w *bufio.Writer, _ *http.Request, _ net.Conn) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
		w.WriteString("8\r\ndata: 1\n\r\n")
		w.Flush()
		<-release
		w.WriteString("8\r\ndata: 2\n\r\n0\r\n\r\n")
		return true
	})
}

func TestContextCancelInterruptsRead(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := heldServer(t, release)
	tr := &Transport{}
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := get(t, tr, ctx, srv.url())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := resp.Body.Read(buf); err != nil || string(buf[:n]) != "data: 1\n" {
		t.Fatalf("first read %q, %v", buf[:n], err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = resp.Body.Read(buf)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v", d)
	}
	resp.Body.Close()
	// The interrupted connection is not reused.
	if tr.pool(hostPort(srv.ln.Addr().String())).Idle() != 0 {
		t.Fatal("an interrupted connection went back to the pool")
	}
}

func TestCancelBeforeHead(t *testing.T) {
	srv := startRaw(t, func(w *bufio.Writer, _ *http.Request, _ net.Conn) bool {
		time.Sleep(2 * time.Second)
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := get(t, &Transport{}, ctx, srv.url())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestHooks(t *testing.T) {
	t.Run("flush before waiting, ticks while quiet", func(t *testing.T) {
		release := make(chan struct{})
		srv := heldServer(t, release)
		var flushes, ticks atomic.Int32
		h := &Hooks{}
		resp, err := get(t, &Transport{}, WithHooks(context.Background(), h), srv.url())
		if err != nil {
			t.Fatal(err)
		}
		if !h.Bound() {
			t.Fatal("hooks not bound")
		}
		h.Flush = func() { flushes.Add(1) }
		h.Every = 30 * time.Millisecond
		h.Tick = func() error {
			if ticks.Add(1) == 3 {
				close(release)
			}
			return nil
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(got) != "data: 1\ndata: 2\n" {
			t.Fatalf("body %q, %v", got, err)
		}
		if ticks.Load() < 3 {
			t.Errorf("%d ticks", ticks.Load())
		}
		if flushes.Load() == 0 {
			t.Error("no flush before waiting")
		}
	})
	t.Run("tick error ends the read", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		srv := heldServer(t, release)
		boom := errors.New("client gone")
		h := &Hooks{Every: 20 * time.Millisecond, Tick: func() error { return boom }}
		resp, err := get(t, &Transport{}, WithHooks(context.Background(), h), srv.url())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the tick's", err)
		}
	})
	t.Run("idle", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		srv := heldServer(t, release)
		var ticks atomic.Int32
		h := &Hooks{Idle: 150 * time.Millisecond, Every: 20 * time.Millisecond, Tick: func() error { ticks.Add(1); return nil }}
		resp, err := get(t, &Transport{}, WithHooks(context.Background(), h), srv.url())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		start := time.Now()
		_, err = io.ReadAll(resp.Body)
		var ne net.Error
		if !errors.Is(err, ErrIdle) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("err = %v, want ErrIdle (a timeout)", err)
		}
		if d := time.Since(start); d < 150*time.Millisecond || d > 5*time.Second {
			t.Errorf("idle after %v, want 150ms", d)
		}
		if ticks.Load() == 0 {
			t.Error("no tick while idle")
		}
	})
	t.Run("no tick while data flows", func(t *testing.T) {
		srv := startRaw(t, func(w *bufio.Writer, _ *http.Request, _ net.Conn) bool {
			w.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
			for range 30 {
				w.WriteString("2\r\nx\n\r\n")
				w.Flush()
				time.Sleep(10 * time.Millisecond)
			}
			w.WriteString("0\r\n\r\n")
			return true
		})
		var ticks atomic.Int32
		h := &Hooks{Every: 100 * time.Millisecond, Tick: func() error { ticks.Add(1); return nil }}
		resp, err := get(t, &Transport{}, WithHooks(context.Background(), h), srv.url())
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != strings.Repeat("x\n", 30) {
			t.Fatalf("body %q", got)
		}
		// Bytes every 10 ms: a tick would need 100 ms of silence. (A
		// loaded machine may stall once; many ticks would be a bug.)
		if n := ticks.Load(); n > 1 {
			t.Errorf("%d ticks while data flowed", n)
		}
	})
}

func TestCloseDrainsBufferedEnd(t *testing.T) {
	srv := startRaw(t, func(w *bufio.Writer, _ *http.Request, _ net.Conn) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{}\n\n\n\n\n")
		return true
	})
	tr := &Transport{}
	defer tr.CloseIdleConnections()
	for range 3 {
		resp, err := get(t, tr, context.Background(), srv.url())
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 2)
		io.ReadFull(resp.Body, b) // the value, not the trailing newlines
		time.Sleep(10 * time.Millisecond)
		resp.Body.Close()
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1: a body whose rest is buffered must not cost its connection", n)
	}
}

func TestFallbackForOtherSchemes(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tls") }))
	defer ts.Close()
	fb := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer fb.CloseIdleConnections()
	tr := &Transport{Fallback: fb}
	resp, err := get(t, tr, context.Background(), ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "tls" {
		t.Fatalf("body %q", got)
	}
	if _, err := get(t, &Transport{}, context.Background(), ts.URL); err == nil {
		t.Fatal("https without a fallback must fail")
	}
}

// TestWaitSeesBytesLeftInTheSocket checks the wait without a buffer: a
// burst larger than the read buffer leaves bytes in the socket, which
// will not wake the poller again; they must be read at once, not after
// the server's next write.
func TestWaitSeesBytesLeftInTheSocket(t *testing.T) {
	release := make(chan struct{})
	burst := strings.Repeat("0123456789", 3000) // 30 KB: several buffers
	srv := startRaw(t, func(w *bufio.Writer, _ *http.Request, _ net.Conn) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		fmt.Fprintf(w, "%x\r\n%s\r\n", len(burst), burst)
		w.Flush()
		<-release
		w.WriteString("3\r\nend\r\n0\r\n\r\n")
		return true
	})
	defer close(release)
	for _, size := range []int{0, 64} { // the default buffer, and a tiny one
		tr := &Transport{ReadBufferSize: size}
		resp, err := get(t, tr, WithHooks(context.Background(), &Hooks{}), srv.url())
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(burst))
		done := make(chan error, 1)
		go func() {
			_, err := io.ReadFull(resp.Body, got)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil || string(got) != burst {
				t.Fatalf("buffer %d: %v", size, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("buffer %d: the burst was not read while the server waited", size)
		}
		resp.Body.Close()
	}
}

// TestAllIdleConnectionsStale checks the resend after a stale connection
// goes out on a new one, not on another idle one the server also closed.
func TestAllIdleConnectionsStale(t *testing.T) {
	hold := make(chan struct{})
	var n atomic.Int32
	srv := startRaw(t, func(w *bufio.Writer, req *http.Request, _ net.Conn) bool {
		if n.Add(1) <= 2 {
			<-hold // the first two requests overlap: two connections
		}
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return false // and each is closed after its answer, unannounced
	})
	tr := &Transport{}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := get(t, tr, context.Background(), srv.url())
			if err == nil {
				io.ReadAll(resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for srv.conns.Load() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	close(hold)
	wg.Wait()
	time.Sleep(50 * time.Millisecond) // let the closes arrive
	if idle := tr.pool(hostPort(srv.ln.Addr().String())).Idle(); idle != 2 {
		t.Fatalf("%d idle connections, want 2", idle)
	}
	resp, err := get(t, tr, context.Background(), srv.url())
	if err != nil {
		t.Fatalf("with every idle connection stale: %v", err)
	}
	if got := readAll(t, resp); got != "ok" {
		t.Fatalf("body %q", got)
	}
}
