package h1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestTimeouts(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*Server)
		send      string // sent right after connecting
		thenWait  bool   // read one response before waiting
	}{
		{"header timeout on a partial head", func(s *Server) { s.ReadHeaderTimeout = 100 * time.Millisecond }, "GET / HTTP/1.1\r\nHost: h\r\n", false},
		{"header timeout on a silent new connection", func(s *Server) { s.ReadHeaderTimeout = 100 * time.Millisecond }, "", false},
		{"idle timeout after a response", func(s *Server) { s.IdleTimeout = 100 * time.Millisecond }, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"idle falls back to the header timeout", func(s *Server) { s.ReadHeaderTimeout = 100 * time.Millisecond }, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), tt.configure)
			rc := dialRaw(t, ts.addr)
			start := time.Now()
			if tt.send != "" {
				rc.write(tt.send)
			}
			if tt.thenWait {
				rc.response("GET")
			}
			rc.expectClosed()
			if d := time.Since(start); d < 50*time.Millisecond {
				t.Errorf("closed after %v, before the timeout", d)
			}
		})
	}
}

// TestHeaderTimeoutStartsAtFirstByte checks that a keep-alive connection
// may idle longer than ReadHeaderTimeout when IdleTimeout allows it.
func TestHeaderTimeoutStartsAtFirstByte(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), func(s *Server) {
		s.ReadHeaderTimeout = 100 * time.Millisecond
		s.IdleTimeout = 10 * time.Second
	})
	rc := dialRaw(t, ts.addr)
	rc.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	rc.response("GET")
	time.Sleep(300 * time.Millisecond)
	rc.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if resp := rc.response("GET"); resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestContextCancellation(t *testing.T) {
	t.Run("cancelled when the handler returns", func(t *testing.T) {
		ctxs := make(chan context.Context, 1)
		ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctxs <- r.Context()
		}))
		resp, err := newClient(t).Get(ts.url("/"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ctx := <-ctxs
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("context not cancelled after the handler returned")
		}
	})
	t.Run("cancelled when the client goes away", func(t *testing.T) {
		cancelled := make(chan error, 1)
		ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
				cancelled <- r.Context().Err()
			case <-time.After(10 * time.Second):
				cancelled <- errors.New("context not cancelled")
			}
		}))
		for _, req := range []string{
			"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
			"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
		} {
			rc := dialRaw(t, ts.addr)
			rc.write(req)
			time.Sleep(100 * time.Millisecond)
			rc.nc.Close()
			if err := <-cancelled; !errors.Is(err, context.Canceled) {
				t.Errorf("%q: %v", req[:4], err)
			}
		}
	})
	t.Run("pipelined bytes read while watching are kept", func(t *testing.T) {
		ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				time.Sleep(200 * time.Millisecond)
			}
			if err := r.Context().Err(); err != nil {
				w.WriteHeader(http.StatusInternalServerError)
			}
			io.WriteString(w, r.Method+" "+r.URL.Path)
		}))
		rc := dialRaw(t, ts.addr)
		rc.write("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
		time.Sleep(100 * time.Millisecond) // the background read is running now
		rc.write("GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
		for _, want := range []string{"GET /slow", "GET /next"} {
			resp := rc.response("GET")
			if got := bodyString(t, resp); resp.StatusCode != 200 || got != want {
				t.Errorf("status %d body %q, want 200 %q", resp.StatusCode, got, want)
			}
		}
	})
}

// TestLongStreamGivesBuffersBack checks a response streamed for longer
// than slowHandlerAfter, during which the connection gives its buffers
// back between flushes: the stream arrives whole, a request pipelined
// during it is served next, and the connection keeps serving.
func TestLongStreamGivesBuffersBack(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/stream" {
			io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(body))
			return
		}
		for i := range 4 {
			fmt.Fprintf(w, "event %d;", i)
			w.(http.Flusher).Flush()
			time.Sleep(2 * slowHandlerAfter)
		}
		io.WriteString(w, strings.Repeat("x", 6000)) // more than a buffer, after the buffers went back
		w.(http.Flusher).Flush()
		io.WriteString(w, "end")
	}))
	rc := dialRaw(t, ts.addr)
	rc.write("POST /stream HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi")
	time.Sleep(3 * slowHandlerAfter) // lean by now, with the background read running
	rc.write("POST /next HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
	want := []string{"event 0;event 1;event 2;event 3;" + strings.Repeat("x", 6000) + "end", "POST /next hello"}
	for _, w := range want {
		resp := rc.response("POST")
		if got := bodyString(t, resp); resp.StatusCode != 200 || got != w {
			t.Fatalf("status %d body %.80q..., want 200 %.80q...", resp.StatusCode, got, w)
		}
	}
	for i := range 3 { // and again, on the same connection
		rc.write("GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
		if got := bodyString(t, rc.response("GET")); got != "GET /again " {
			t.Fatalf("request %d after the stream: %q", i, got)
		}
	}
}

func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		io.WriteString(w, "done "+r.URL.Path)
	}))

	idle := dialRaw(t, ts.addr)
	idle.write("GET /idle HTTP/1.1\r\nHost: h\r\n\r\n")
	idle.response("GET")

	busy := dialRaw(t, ts.addr)
	busy.write("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started

	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- ts.Shutdown(context.Background()) }()

	idle.expectClosed()
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Error("listener still accepts after Shutdown")
	}

	close(release)
	resp := busy.response("GET")
	if got := bodyString(t, resp); got != "done /slow" || !resp.Close {
		t.Errorf("in-flight response %q close=%v; want it complete, with close", got, resp.Close)
	}
	busy.expectClosed()
	select {
	case err := <-shutdownErr:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the last request")
	}
	select {
	case err := <-ts.done:
		ts.done <- err // for the cleanup check
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
}

func TestShutdownDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	var once atomic.Bool
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if once.CompareAndSwap(false, true) {
			close(started)
		}
		<-release
	}))
	rc := dialRaw(t, ts.addr)
	rc.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown returned %v, want context.DeadlineExceeded", err)
	}
}

func TestServeErrors(t *testing.T) {
	t.Run("nil handler", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if err := (&Server{}).Serve(ln); !errors.Is(err, errNilHandler) {
			t.Errorf("Serve returned %v", err)
		}
	})
	t.Run("after shutdown", func(t *testing.T) {
		s := &Server{Handler: http.NotFoundHandler()}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
}

// TestUnreadBody checks what happens to a body the handler did not read.
func TestUnreadBody(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	}))
	t.Run("small body is discarded and the connection kept", func(t *testing.T) {
		rc := dialRaw(t, ts.addr)
		rc.write("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("x", 1000))
		rc.write("GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
		for _, want := range []string{"/a", "/b"} {
			if got := bodyString(t, rc.response("GET")); got != want {
				t.Errorf("body %q, want %q", got, want)
			}
		}
	})
	t.Run("large body closes the connection", func(t *testing.T) {
		rc := dialRaw(t, ts.addr)
		rc.write("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 10000000\r\n\r\n" + strings.Repeat("x", 1000))
		resp := rc.response("POST")
		if !resp.Close {
			t.Error("response does not announce close")
		}
		rc.expectClosed()
	})
}
