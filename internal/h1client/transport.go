// Package h1client is an HTTP/1.1 client for the gateway's calls to
// cleartext servers (self-hosted model servers such as vLLM and Ollama,
// and the benchmarks' mocks), built on the same wire code as the proxy.
//
// Unlike net/http's Transport it runs no goroutine of its own: the request
// is written and its response read on the caller's goroutine, and a
// cancelled context interrupts a blocked read by moving the connection's
// deadline into the past (context.AfterFunc), not by a watcher. A held
// stream costs one connection, one read buffer and no goroutine. A body
// reader can also act while the body waits on the network (flush what it
// relayed, send keepalives, give up after a silence) without a goroutine:
// see Hooks.
package h1client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sluicegw/sluice/internal/httpwire"
	"github.com/sluicegw/sluice/internal/upstream"
)

// Transport is an http.RoundTripper for http:// URLs; requests for other
// schemes go to Fallback. It keeps idle keep-alive connections per host.
// It adds no headers of its own besides Host and Content-Length, asks for
// no compression, follows no redirects and uses no proxy. Its zero value
// is usable.
type Transport struct {
	// Fallback carries the requests this transport does not (https).
	Fallback http.RoundTripper
	// DialTimeout bounds a connect (default 10 s; the request's context
	// may end it sooner).
	DialTimeout time.Duration
	// MaxIdlePerHost is how many idle connections a host keeps (default 64).
	MaxIdlePerHost int
	// IdleTimeout closes connections idle longer than this (default 90 s).
	IdleTimeout time.Duration
	// ReadBufferSize is each connection's read buffer (default 4 KiB); a
	// response head must fit in it.
	ReadBufferSize int

	mu      sync.Mutex
	pools   map[string]*upstream.Pool
	readers *upstream.Readers // a connection holds one only while it reads
}

// maxBufferedBody is the largest request body sent from memory together
// with its head in one write; larger ones follow the head.
const maxBufferedBody = 64 << 10

// maxUnsizedBody bounds a request body of unknown length, which is read
// whole to send it with a Content-Length.
const maxUnsizedBody = 64 << 20

var headBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2<<10); return &b }}

// aLongTimeAgo is a deadline in the past: it interrupts a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" {
		if t.Fallback != nil {
			return t.Fallback.RoundTrip(req)
		}
		closeBody(req)
		return nil, fmt.Errorf("h1client: unsupported scheme %q", req.URL.Scheme)
	}
	if req.URL.Host == "" {
		closeBody(req)
		return nil, errors.New("h1client: no host in request URL")
	}
	ctx := req.Context()
	addr := hostPort(req.URL.Host)
	pool := t.pool(addr)
	for try := 0; ; try++ {
		c, err := t.connect(ctx, pool, addr, try > 0)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err, retry := t.exchange(ctx, pool, c, req)
		if err == nil {
			return resp, nil
		}
		// A kept-alive connection the server closed while it sat idle
		// fails before any byte of the answer: send again, once, on a
		// new connection (the other idle ones may be as stale), if the
		// body can be sent again.
		if retry && try == 0 && ctx.Err() == nil {
			if req.Body == nil || req.Body == http.NoBody {
				continue
			}
			if req.GetBody != nil {
				if b, gerr := req.GetBody(); gerr == nil {
					r2 := *req
					r2.Body = b
					req = &r2
					continue
				}
			}
		}
		return nil, err
	}
}

// CloseIdleConnections closes the idle connections of every host.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	pools := t.pools
	t.pools = nil
	t.mu.Unlock()
	for _, p := range pools {
		p.Close()
	}
	if f, ok := t.Fallback.(interface{ CloseIdleConnections() }); ok {
		f.CloseIdleConnections()
	}
}

func (t *Transport) pool(addr string) *upstream.Pool {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pools[addr]
	if p == nil {
		if t.pools == nil {
			t.pools = map[string]*upstream.Pool{}
		}
		maxIdle, idle := t.MaxIdlePerHost, t.IdleTimeout
		if maxIdle <= 0 {
			maxIdle = 64
		}
		if idle <= 0 {
			idle = 90 * time.Second
		}
		p = upstream.NewPool(maxIdle, idle)
		t.pools[addr] = p
	}
	if t.readers == nil {
		size := t.ReadBufferSize
		if size <= 0 {
			size = 4 << 10
		}
		t.readers = upstream.NewReaders(size)
	}
	return p
}

// connect returns an idle connection to addr, unless fresh, or dials a
// new one.
func (t *Transport) connect(ctx context.Context, pool *upstream.Pool, addr string, fresh bool) (*upstream.Conn, error) {
	if c := pool.Get(); c != nil && !fresh {
		c.TakeReader()
		return c, nil
	} else if c != nil {
		pool.Put(c) // for a later request; it may well be alive
	}
	timeout := t.DialTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	t.mu.Lock()
	rs := t.readers
	t.mu.Unlock()
	return upstream.NewConn(nc, rs), nil
}

// exchange sends req on c and reads the response head. retry reports a
// failure on a reused connection before any byte of the answer.
func (t *Transport) exchange(ctx context.Context, pool *upstream.Pool, c *upstream.Conn, req *http.Request) (resp *http.Response, err error, retry bool) {
	// A context that ends interrupts whatever waits on the connection.
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { c.SetDeadline(aLongTimeAgo) })
	}
	fail := func(err error, retryable bool) (*http.Response, error, bool) {
		stop()
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err(), false
		}
		return nil, err, retryable && c.Reused
	}
	if err := writeRequest(c.Conn, req); err != nil {
		var he headerError
		if errors.As(err, &he) {
			return fail(err, false)
		}
		// A write that fails on a reused connection: the server closed it.
		return fail(err, true)
	}
	// The response and its body are apart: a held stream keeps the body,
	// not the response and the request it points to.
	r := &http.Response{Header: make(http.Header, 8)}
	b := &body{t: t}
	rh := &b.rh
	if err := httpwire.ReadHead(c.R, r.Header, req.Method, rh); err != nil {
		none := c.R.Buffered() == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET))
		return fail(err, none)
	}
	if rh.Upgrade {
		return fail(fmt.Errorf("%w: unexpected 101 Switching Protocols", httpwire.ErrMalformed), false)
	}
	r.StatusCode = rh.Status
	r.Status = strconv.Itoa(rh.Status) + " " + http.StatusText(rh.Status)
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	r.ContentLength = rh.ContentLength
	r.Close = rh.Close
	r.Request = req
	b.ctx, b.pool, b.c, b.stop, b.left = ctx, pool, c, stop, rh.ContentLength
	if h, ok := ctx.Value(hooksKey{}).(*Hooks); ok {
		h.bound = true
		b.hooks = h
	}
	if rh.ContentLength == 0 {
		b.finish(true)
		r.Body = http.NoBody
		return r, nil, false
	}
	r.Body = b
	return r, nil, false
}

// headerError is a request header that cannot be sent.
type headerError struct{ name string }

func (e headerError) Error() string { return "h1client: invalid header field " + strconv.Quote(e.name) }

// writeRequest writes req's head and body to w: together in one write
// when the body is small.
func writeRequest(w io.Writer, req *http.Request) error {
	defer closeBody(req)
	var body io.Reader
	if req.Body != nil && req.Body != http.NoBody {
		body = req.Body
	}
	n := req.ContentLength
	if body != nil && n <= 0 {
		// Unknown length: read it whole to send its length.
		all, err := io.ReadAll(io.LimitReader(body, maxUnsizedBody+1))
		if err != nil {
			return fmt.Errorf("h1client: reading request body: %w", err)
		}
		if len(all) > maxUnsizedBody {
			return fmt.Errorf("h1client: request body over %d bytes without a length", maxUnsizedBody)
		}
		body, n = bytes.NewReader(all), int64(len(all))
	}

	bp := headBufPool.Get().(*[]byte)
	buf, err := appendHead((*bp)[:0], req, n)
	if err == nil && body != nil && n <= maxBufferedBody {
		start := len(buf)
		buf = slices.Grow(buf, int(n))[:start+int(n)]
		if _, err = io.ReadFull(body, buf[start:]); err != nil {
			err = fmt.Errorf("h1client: reading request body: %w", err)
		}
		body = nil
	}
	if err == nil {
		_, err = w.Write(buf)
	}
	if cap(buf) <= maxBufferedBody+4<<10 {
		*bp = buf[:0]
		headBufPool.Put(bp)
	}
	if err != nil || body == nil {
		return err
	}
	m, err := io.Copy(w, io.LimitReader(body, n))
	if err == nil && m < n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// appendHead appends req's request line and header fields, with
// Content-Length n for a method that carries a body.
func appendHead(buf []byte, req *http.Request, n int64) ([]byte, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	buf = append(buf, method...)
	buf = append(buf, ' ')
	if req.URL.Opaque != "" {
		buf = append(buf, req.URL.Opaque...)
	} else {
		p := req.URL.EscapedPath()
		if p == "" {
			p = "/"
		}
		buf = append(buf, p...)
	}
	if req.URL.RawQuery != "" || req.URL.ForceQuery {
		buf = append(buf, '?')
		buf = append(buf, req.URL.RawQuery...)
	}
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !validValue(host) {
		return buf, headerError{"Host"}
	}
	buf = append(buf, host...)
	buf = append(buf, "\r\n"...)
	for k, vv := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
			"Proxy-Connection", "Te", "Trailer", "Upgrade":
			continue
		}
		if !httpwire.ValidToken(k) {
			return buf, headerError{k}
		}
		for _, v := range vv {
			if !validValue(v) {
				return buf, headerError{k}
			}
			buf = append(buf, k...)
			buf = append(buf, ": "...)
			buf = append(buf, v...)
			buf = append(buf, "\r\n"...)
		}
	}
	if n > 0 || (method != http.MethodGet && method != http.MethodHead) {
		buf = append(buf, "Content-Length: "...)
		buf = strconv.AppendInt(buf, n, 10)
		buf = append(buf, "\r\n"...)
	}
	buf = append(buf, "\r\n"...)
	return buf, nil
}

// validValue reports whether v can be sent as a field value: no CR, LF
// or NUL (which would let it start another field).
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// hostPort adds the default port to a URL host.
func hostPort(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if len(host) > 0 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return net.JoinHostPort(host, "80")
}
