package h1

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// protoHandler answers with the protocol and whether TLS was used.
func protoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	tlsInfo := "plain"
	if r.TLS != nil {
		tlsInfo = "tls:" + r.TLS.NegotiatedProtocol
	}
	io.WriteString(w, r.Proto+" "+tlsInfo+" "+string(body))
}

func TestTLS(t *testing.T) {
	cert, pool := testCert(t)
	ts := startServer(t, http.HandlerFunc(protoHandler), func(s *Server) {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	})
	tests := []struct {
		name string
		h2   bool
		want string
	}{
		{"HTTP/2 negotiated by ALPN", true, "HTTP/2.0 tls:h2 ping"},
		{"HTTP/1.1 over TLS", false, "HTTP/1.1 tls:http/1.1 ping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: tt.h2}
			if !tt.h2 {
				tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
			}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			for range 2 {
				resp, err := client.Post("https://"+ts.addr+"/", "text/plain", strings.NewReader("ping"))
				if err != nil {
					t.Fatal(err)
				}
				got := bodyString(t, resp)
				resp.Body.Close()
				if got != tt.want {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
	t.Run("plain HTTP to the TLS port", func(t *testing.T) {
		rc := dialRaw(t, ts.addr)
		rc.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		if resp := rc.response("GET"); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
}

// TestH2Shutdown checks that Shutdown waits for an HTTP/2 stream in flight
// and then returns.
func TestH2Shutdown(t *testing.T) {
	cert, pool := testCert(t)
	started, release := make(chan struct{}), make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	}), func(s *Server) {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get("https://" + ts.addr + "/")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with an HTTP/2 stream in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if r := <-got; r.err != nil || r.body != "finished" {
		t.Errorf("in-flight HTTP/2 response %q, %v", r.body, r.err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}

func TestH2C(t *testing.T) {
	h2cClient := func() *http.Client {
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	t.Run("enabled", func(t *testing.T) {
		ts := startServer(t, http.HandlerFunc(protoHandler), func(s *Server) { s.H2C = true })
		client := h2cClient()
		for range 2 {
			resp, err := client.Post(ts.url("/"), "text/plain", strings.NewReader("ping"))
			if err != nil {
				t.Fatal(err)
			}
			if got := bodyString(t, resp); got != "HTTP/2.0 plain ping" {
				t.Errorf("got %q", got)
			}
			resp.Body.Close()
		}
		// HTTP/1.1 still works on the same port.
		resp, err := newClient(t).Get(ts.url("/"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if got := bodyString(t, resp); got != "HTTP/1.1 plain " {
			t.Errorf("HTTP/1.1 got %q", got)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		ts := startServer(t, http.HandlerFunc(protoHandler))
		if resp, err := h2cClient().Get(ts.url("/")); err == nil {
			resp.Body.Close()
			t.Fatalf("HTTP/2 prior knowledge served with H2C off: %s", resp.Proto)
		}
		rc := dialRaw(t, ts.addr)
		rc.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
		if resp := rc.response("PRI"); resp.StatusCode != http.StatusHTTPVersionNotSupported {
			t.Errorf("status %d, want 505", resp.StatusCode)
		}
	})
}
