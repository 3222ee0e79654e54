package h1

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Default limits, used when the corresponding Server field is zero.
const (
	// DefaultMaxHeaderBytes bounds the request line plus header fields.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxURLBytes bounds the request-target.
	DefaultMaxURLBytes = 8 << 10
)

// Engine limits that are not configurable.
const (
	// maxHeaderCount is the most header field lines a request may carry.
	maxHeaderCount = 100
	// slowHandlerAfter is how long a handler runs before the engine starts
	// watching the connection for the client going away.
	slowHandlerAfter = 25 * time.Millisecond
	// maxDiscardBytes is how much unread request body the engine reads and
	// throws away after the handler to keep the connection; beyond it the
	// connection is closed.
	maxDiscardBytes = 256 << 10
	// lingerTimeout bounds how long a closing connection keeps draining
	// client bytes after an error response, so the client can read the
	// response before the close turns into a reset.
	lingerTimeout = 500 * time.Millisecond
)

// Error codes passed to ErrorHandler.
const (
	CodeBadRequest              = "bad_request"
	CodeURITooLong              = "uri_too_long"
	CodeRequestHeaderTooLarge   = "request_header_too_large"
	CodeExpectationFailed       = "expectation_failed"
	CodeNotImplemented          = "not_implemented"
	CodeHTTPVersionNotSupported = "http_version_not_supported"
)

// Server is an HTTP/1.1 server engine for an http.Handler, with HTTP/2 over
// TLS (ALPN "h2") and optional HTTP/2 prior-knowledge cleartext (H2C).
//
// The exported fields configure the Server and must not be changed once
// Serve has been called. A Server may Serve several listeners at once.
type Server struct {
	// Handler serves every request; it must not be nil.
	Handler http.Handler

	// TLSConfig, when non-nil, makes Serve run TLS on accepted connections.
	// If its NextProtos is empty, ALPN offers "h2" and "http/1.1"; a
	// non-empty NextProtos is used as given. The config is cloned by Serve.
	TLSConfig *tls.Config

	// H2C accepts HTTP/2 with prior knowledge on cleartext connections
	// (detected by the "PRI * HTTP/2.0" preface). Off by default, in which
	// case such a request is answered 505.
	H2C bool

	// ReadHeaderTimeout bounds the time from the first byte of a request head
	// to its end, and the TLS handshake. On a new connection it also bounds
	// the wait for the first request's first byte. Zero means no limit.
	ReadHeaderTimeout time.Duration

	// IdleTimeout bounds how long a keep-alive connection waits for the next
	// request's first byte. Zero means ReadHeaderTimeout is used; if both are
	// zero, idle connections wait forever.
	IdleTimeout time.Duration

	// MaxHeaderBytes bounds the request line plus header fields; a larger
	// head is refused with 431. Zero means DefaultMaxHeaderBytes.
	MaxHeaderBytes int

	// MaxURLBytes bounds the request-target; a longer one is refused with
	// 414. Zero means DefaultMaxURLBytes.
	MaxURLBytes int

	// ErrorHandler renders the errors the engine itself makes (400, 414,
	// 417, 431, 501, 505) with one of the Code* constants. It may set
	// headers and write a body; the engine writes the status if the handler
	// did not, and closes the connection afterwards. Nil means a plain-text
	// body.
	ErrorHandler func(w http.ResponseWriter, status int, code string)

	// Logger receives handler panics and engine diagnostics. Nil means
	// slog.Default().
	Logger *slog.Logger

	// ConnContext, if non-nil, derives the base context of every request on
	// a connection from the connection.
	ConnContext func(ctx context.Context, c net.Conn) context.Context

	initOnce sync.Once
	cfg      config

	shutdown atomic.Bool

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	conns     map[*conn]struct{}
	drained   chan struct{} // closed once conns is empty after Shutdown began

	h2 h2Bridge
}

// config holds the resolved settings of a Server.
type config struct {
	maxHeaderBytes int
	maxURLBytes    int
	logger         *slog.Logger
	tls            *tls.Config
}

// errNilHandler is returned by Serve when Server.Handler is nil.
var errNilHandler = errors.New("h1: Server.Handler is nil")

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.cfg.maxHeaderBytes = s.MaxHeaderBytes
		if s.cfg.maxHeaderBytes <= 0 {
			s.cfg.maxHeaderBytes = DefaultMaxHeaderBytes
		}
		s.cfg.maxURLBytes = s.MaxURLBytes
		if s.cfg.maxURLBytes <= 0 {
			s.cfg.maxURLBytes = DefaultMaxURLBytes
		}
		s.cfg.logger = s.Logger
		if s.cfg.logger == nil {
			s.cfg.logger = slog.Default()
		}
		if s.TLSConfig != nil {
			t := s.TLSConfig.Clone()
			if len(t.NextProtos) == 0 {
				t.NextProtos = []string{nextProtoH2, "http/1.1"}
			}
			s.cfg.tls = t
		}
	})
}

// Serve accepts connections on l and serves them until l fails or the Server
// is shut down or closed, in which case it returns http.ErrServerClosed.
// Serve closes l when it returns.
func (s *Server) Serve(l net.Listener) error {
	if s.Handler == nil {
		return errNilHandler
	}
	s.init()
	if !s.trackListener(&l, true) {
		return http.ErrServerClosed
	}
	defer s.trackListener(&l, false)
	defer l.Close()

	var delay time.Duration
	for {
		rw, err := l.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return http.ErrServerClosed
			}
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.cfg.logger.Warn("h1: accept failed; retrying", "error", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if s.cfg.tls != nil {
			rw = tls.Server(rw, s.cfg.tls)
		}
		c := newConn(s, rw)
		if !s.trackConn(c, true) {
			rw.Close()
			continue
		}
		go c.serve()
	}
}

// Shutdown gracefully stops the Server: it closes the listeners, closes idle
// keep-alive connections at once, lets connections in the middle of a
// request finish that request (its response says "Connection: close") and
// then closes them, and gracefully stops HTTP/2 connections. It waits until
// all connections are closed or ctx ends, returning ctx.Err() in the latter
// case. Hijacked connections are not tracked. Serve calls return
// http.ErrServerClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdown.Store(true)
	s.mu.Lock()
	err := s.closeListenersLocked()
	for c := range s.conns {
		c.closeIfIdle()
	}
	if s.drained == nil {
		s.drained = make(chan struct{})
		if len(s.conns) == 0 {
			close(s.drained)
		}
	}
	drained := s.drained
	s.mu.Unlock()

	h2done := make(chan error, 1)
	go func() { h2done <- s.h2.shutdown(ctx) }()
	select {
	case <-drained:
	case <-ctx.Done():
		return ctx.Err()
	}
	if h2err := <-h2done; h2err != nil {
		return h2err
	}
	return err
}

// Close immediately closes the listeners and every tracked connection,
// including HTTP/2 ones, without waiting for handlers. Prefer Shutdown.
func (s *Server) Close() error {
	s.shutdown.Store(true)
	s.mu.Lock()
	err := s.closeListenersLocked()
	for c := range s.conns {
		c.state.Store(connClosing)
		c.rwc.Close()
	}
	s.mu.Unlock()
	if h2err := s.h2.close(); h2err != nil && err == nil {
		err = h2err
	}
	return err
}

// trackListener adds or removes l; adding fails once the Server shuts down.
func (s *Server) trackListener(l *net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.listeners, l)
		return true
	}
	if s.shutdown.Load() {
		return false
	}
	if s.listeners == nil {
		s.listeners = make(map[*net.Listener]struct{})
	}
	s.listeners[l] = struct{}{}
	return true
}

func (s *Server) closeListenersLocked() error {
	var err error
	for l := range s.listeners {
		if cerr := (*l).Close(); cerr != nil && err == nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
	}
	return err
}

// trackConn adds or removes c; adding fails once the Server shuts down.
func (s *Server) trackConn(c *conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.shutdown.Load() {
			return false
		}
		if s.conns == nil {
			s.conns = make(map[*conn]struct{})
		}
		s.conns[c] = struct{}{}
		return true
	}
	delete(s.conns, c)
	if s.drained != nil && len(s.conns) == 0 && !isClosed(s.drained) {
		close(s.drained)
	}
	return true
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// nextProtoH2 is the ALPN protocol ID of HTTP/2 over TLS.
const nextProtoH2 = "h2"
