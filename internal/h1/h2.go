package h1

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// h2Bridge hands HTTP/2 connections to net/http's bundled HTTP/2 server
// through a shadow http.Server that serves a channel-fed listener. The
// shadow server is started with the first HTTP/2 connection; Shutdown and
// Close of the Server are forwarded to it, so HTTP/2 connections get a
// graceful GOAWAY and are waited for (or are closed) like HTTP/1 ones.
type h2Bridge struct {
	mu      sync.Mutex
	srv     *http.Server // nil until the first HTTP/2 connection
	ln      *chanListener
	stopped bool
}

// serve passes c, a TLS connection that negotiated "h2" or a cleartext one
// that opens with the HTTP/2 preface, to the shadow server. It closes c if
// the Server is shutting down.
func (b *h2Bridge) serve(s *Server, c net.Conn) {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		c.Close()
		return
	}
	if b.srv == nil {
		b.start(s)
	}
	ln := b.ln
	b.mu.Unlock()
	if !ln.push(c) {
		c.Close()
	}
}

// start builds and runs the shadow server; b.mu must be held.
func (b *h2Bridge) start(s *Server) {
	protos := new(http.Protocols)
	protos.SetHTTP2(true)
	if s.H2C {
		protos.SetUnencryptedHTTP2(true)
	}
	b.srv = &http.Server{
		Handler:           s.Handler,
		Protocols:         protos,
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    s.cfg.maxHeaderBytes,
		ConnContext:       s.ConnContext,
		ErrorLog:          slog.NewLogLogger(s.cfg.logger.Handler(), slog.LevelWarn),
	}
	b.ln = newChanListener()
	go func(srv *http.Server, ln net.Listener) {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.logger.Error("h1: HTTP/2 server stopped", "error", err)
		}
	}(b.srv, b.ln)
}

// shutdown gracefully stops the shadow server, if it was started.
func (b *h2Bridge) shutdown(ctx context.Context) error {
	b.mu.Lock()
	b.stopped = true
	srv := b.srv
	b.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

// close immediately closes the shadow server, if it was started.
func (b *h2Bridge) close() error {
	b.mu.Lock()
	b.stopped = true
	srv := b.srv
	b.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// chanListener is a net.Listener whose connections are pushed in by the
// HTTP/1 engine.
type chanListener struct {
	ch        chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

// push delivers c to Accept; it reports false if the listener is closed.
func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

// Accept implements net.Listener.
func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (l *chanListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener.
func (l *chanListener) Addr() net.Addr { return bridgeAddr{} }

type bridgeAddr struct{}

func (bridgeAddr) Network() string { return "h2bridge" }
func (bridgeAddr) String() string  { return "h2bridge" }

// prefixConn is a net.Conn whose first reads return bytes the HTTP/1 engine
// had already read from it.
type prefixConn struct {
	net.Conn
	prefix []byte
}

// Read implements net.Conn.
func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
