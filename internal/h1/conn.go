package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Connection states, as seen by Shutdown.
const (
	connIdle    int32 = iota // waiting for a request's first byte (or the TLS handshake)
	connActive               // reading a request or running its handler
	connClosing              // closed by Shutdown or Close
)

const (
	// readBufSize is the initial read buffer; it grows for larger heads.
	readBufSize = 4 << 10
	// maxChunkLine bounds a chunk-size line, extensions included.
	maxChunkLine = 4 << 10
)

var readBufPool = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// h2Preface is how an HTTP/2 prior-knowledge client opens a connection,
// up to the end of what parses as an HTTP/1 head.
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\n")

var protoNames = [10]string{"HTTP/1.0", "HTTP/1.1", "HTTP/1.2", "HTTP/1.3", "HTTP/1.4",
	"HTTP/1.5", "HTTP/1.6", "HTTP/1.7", "HTTP/1.8", "HTTP/1.9"}

// conn is one client connection and everything reused across its requests.
type conn struct {
	srv *Server
	cfg *config
	rwc net.Conn

	state      atomic.Int32
	remoteAddr string
	tlsState   *tls.ConnectionState
	baseCtx    context.Context

	// Read side: rbuf[r:w] is buffered and not yet consumed.
	rbuf        []byte
	rbufPooled  *[]byte
	r, w        int
	deadlineSet bool // a read deadline may be set on rwc

	parser    *headParser
	head      reqHead
	req       http.Request
	url       url.URL
	reqHeader http.Header
	te        [1]string
	body      body
	resp      response

	// Write side.
	hbuf  []byte      // response head, then bytes not yet written
	wbuf  []byte      // response body buffer
	tail  []byte      // last chunk and trailers
	chunk [20]byte    // chunk-size line of a directly written chunk
	bufs  [5][]byte   // backing array for nb
	nb    net.Buffers // vectored write, kept here so it does not escape

	watch watch

	requests     int
	sentContinue bool
	hijacked     bool
	handedOff    bool // given to the HTTP/2 server
	linger       bool // drain client bytes before closing
}

func newConn(s *Server, rwc net.Conn) *conn {
	c := &conn{srv: s, cfg: &s.cfg, rwc: rwc}
	c.state.Store(connIdle)
	return c
}

// closeIfIdle closes c if it is waiting for a request; it is called by
// Shutdown.
func (c *conn) closeIfIdle() {
	if c.state.CompareAndSwap(connIdle, connClosing) {
		c.rwc.Close()
	}
}

// serve runs the connection until it closes, is hijacked or handed off.
func (c *conn) serve() {
	defer c.end()
	if tc, ok := c.rwc.(*tls.Conn); ok {
		if !c.handshake(tc) {
			return
		}
		if c.tlsState.NegotiatedProtocol == nextProtoH2 {
			c.handOff(c.rwc)
			return
		}
	}
	c.setup()
	for c.serveRequest() {
	}
}

// end releases the connection when serve returns.
func (c *conn) end() {
	if v := recover(); v != nil {
		c.cfg.logger.Error("h1: connection panic", "remote_addr", c.remoteAddr,
			"panic", v, "stack", string(debug.Stack()))
	}
	if !c.hijacked && !c.handedOff {
		if c.linger && c.rbuf != nil {
			c.drain()
		}
		c.rwc.Close()
	}
	c.srv.trackConn(c, false)
	c.watchEnd()
	if c.rbufPooled != nil {
		readBufPool.Put(c.rbufPooled)
	}
	c.rbuf, c.rbufPooled = nil, nil
}

// drain half-closes the connection and reads what the client still sends,
// for a bounded time and size, so that closing does not reset the
// connection before the client has read the response.
func (c *conn) drain() {
	if cw, ok := c.rwc.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() != nil {
			return
		}
	}
	c.rwc.SetReadDeadline(time.Now().Add(lingerTimeout))
	for total := 0; total < maxDiscardBytes; {
		n, err := c.rwc.Read(c.rbuf)
		total += n
		if err != nil {
			return
		}
	}
}

func (c *conn) handshake(tc *tls.Conn) bool {
	if d := c.srv.ReadHeaderTimeout; d > 0 {
		tc.SetDeadline(time.Now().Add(d))
	}
	if err := tc.HandshakeContext(context.Background()); err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader[:]) {
			io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		}
		c.cfg.logger.Debug("h1: TLS handshake failed", "remote_addr", tc.RemoteAddr().String(), "error", err)
		return false
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.tlsState = &st
	return true
}

func looksLikeHTTP(hdr []byte) bool {
	for _, m := range []string{"GET /", "HEAD ", "POST ", "PUT /", "OPTIO"} {
		if string(hdr) == m {
			return true
		}
	}
	return false
}

// handOff gives nc, which carries c's connection, to the HTTP/2 server.
func (c *conn) handOff(nc net.Conn) {
	c.handedOff = true
	if c.deadlineSet {
		c.rwc.SetReadDeadline(time.Time{})
	}
	c.srv.trackConn(c, false)
	c.srv.h2.serve(c.srv, nc)
}

// setup prepares the per-connection state for HTTP/1.
func (c *conn) setup() {
	c.remoteAddr = c.rwc.RemoteAddr().String()
	c.baseCtx = context.Background()
	if cc := c.srv.ConnContext; cc != nil {
		c.baseCtx = cc(c.baseCtx, c.rwc)
	}
	c.rbufPooled = readBufPool.Get().(*[]byte)
	c.rbuf = *c.rbufPooled
	c.parser = newHeadParser(c.cfg.maxURLBytes)
	c.reqHeader = make(http.Header, 16)
	c.resp.c = c
	c.resp.header = make(http.Header, 8)
	c.body.c = c
	c.hbuf = make([]byte, 0, 512)
	c.wbuf = make([]byte, 0, wbufCap)
}

// serveRequest reads, dispatches and answers one request. It reports
// whether the connection stays open for another.
func (c *conn) serveRequest() bool {
	cancel, ok := c.nextRequest()
	if !ok {
		return false
	}
	w := &c.resp
	c.watchStart(c.body.done, cancel)
	handled := c.callHandler(w, &c.req)
	cancel()
	c.watchStop()
	w.handlerDone = true
	if c.hijacked || !handled {
		return false
	}
	w.finish()
	return c.keepGoing()
}

// nextRequest reads and parses the next request head into c.req and
// readies the response. It is apart from serveRequest so that its large
// frame is not on the stack while the handler runs (a long-held stream's
// goroutine stack stays small).
func (c *conn) nextRequest() (context.CancelFunc, bool) {
	start, end, perr, ok := c.readHead()
	if perr != nil {
		c.refuse(perr)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	raw := c.rbuf[start:end]
	if c.requests == 0 && c.srv.H2C && bytes.HasPrefix(raw, h2Preface) {
		c.handOff(&prefixConn{Conn: c.rwc, prefix: bytes.Clone(c.rbuf[start:c.w])})
		return nil, false
	}
	c.requests++
	clear(c.reqHeader)
	c.url = url.URL{}
	h := &c.head
	if perr := c.parser.parse(raw, h, &c.url, c.reqHeader); perr != nil {
		c.refuse(perr)
		return nil, false
	}
	c.r = end

	keepAlive := !h.closeConn && (h.minor >= 1 || h.keepAlive)
	ctx, cancel := context.WithCancel(c.baseCtx)
	r := http.Request{
		Method:     h.method,
		URL:        &c.url,
		Proto:      protoNames[h.minor],
		ProtoMajor: 1,
		ProtoMinor: h.minor,
		Header:     c.reqHeader,
		Body:       http.NoBody,
		Host:       h.host,
		RemoteAddr: c.remoteAddr,
		RequestURI: h.target,
		TLS:        c.tlsState,
		Close:      !keepAlive,
	}
	c.sentContinue = false
	c.body.reset(h)
	switch {
	case h.chunked:
		c.te[0] = "chunked"
		r.Body, r.ContentLength, r.TransferEncoding = &c.body, -1, c.te[:]
	case h.contentLength > 0:
		r.Body, r.ContentLength = &c.body, h.contentLength
	}
	c.req = *r.WithContext(ctx)
	c.resp.reset(h.minor, h.method == http.MethodHead, !keepAlive)
	return cancel, true
}

// keepGoing decides, after a response, whether the connection serves
// another request.
func (c *conn) keepGoing() bool {
	w := &c.resp
	if w.err != nil || c.watch.gone {
		return false
	}
	if w.closeAfter {
		c.linger = !c.body.done || c.r < c.w
		return false
	}
	if !c.body.done {
		c.setIdleDeadline()
		if !c.body.discardRest() {
			c.linger = true
			return false
		}
	}
	return !c.srv.shutdown.Load()
}

// callHandler runs the handler; it reports false if the handler panicked
// (or called runtime.Goexit), in which case the connection closes without
// finishing the response.
func (c *conn) callHandler(w *response, r *http.Request) (ok bool) {
	defer func() {
		if ok {
			return
		}
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			c.cfg.logger.Error("h1: handler panic", "remote_addr", c.remoteAddr,
				"method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	c.srv.Handler.ServeHTTP(w, r)
	return true
}

// refuse answers a request the engine refused through ErrorHandler; the
// connection closes afterwards.
func (c *conn) refuse(pe *protoError) {
	c.cfg.logger.Debug("h1: refused request", "remote_addr", c.remoteAddr,
		"status", pe.status, "reason", pe.reason)
	c.linger = true
	w := &c.resp
	clear(w.header)
	w.reset(1, false, true)
	eh := c.srv.ErrorHandler
	if eh == nil {
		eh = plainError
	}
	func() {
		defer func() {
			if v := recover(); v != nil {
				c.cfg.logger.Error("h1: ErrorHandler panic", "panic", v, "stack", string(debug.Stack()))
			}
		}()
		eh(w, pe.status, pe.code)
	}()
	if c.hijacked || w.err != nil {
		return
	}
	if !w.wroteHeader {
		w.WriteHeader(pe.status)
	}
	w.handlerDone = true
	w.finish()
}

// plainError is the default ErrorHandler.
func plainError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, http.StatusText(status)+" ("+code+")\n")
}

// takeRbuf gives the connection a read buffer again after lean.
func (c *conn) takeRbuf() {
	if c.rbufPooled == nil {
		c.rbufPooled = readBufPool.Get().(*[]byte)
		c.rbuf = *c.rbufPooled
	}
}

// readHead reads until a whole request head is buffered at rbuf[start:end].
// It reports ok false when the connection should close silently: the
// client went away, a timeout fired or the Server is shutting down.
func (c *conn) readHead() (start, end int, perr *protoError, ok bool) {
	if c.r == c.w {
		c.r, c.w = 0, 0
		c.takeRbuf()
		if len(c.rbuf) != readBufSize { // a large head grew it
			c.rbuf = *c.rbufPooled
		}
		c.state.Store(connIdle)
		if c.srv.shutdown.Load() {
			return 0, 0, nil, false
		}
		c.setIdleDeadline()
		if c.fill(len(c.rbuf)) != nil {
			return 0, 0, nil, false
		}
		if !c.state.CompareAndSwap(connIdle, connActive) {
			return 0, 0, nil, false
		}
	}
	maxHead := c.cfg.maxHeaderBytes
	armed := false
	scan, lineStart, lines, skipped := 0, 0, 0, 0 // offsets relative to c.r
	for {
		for {
			i := bytes.IndexByte(c.rbuf[c.r+scan:c.w], '\n')
			if i < 0 {
				break
			}
			nl := scan + i
			if nl == lineStart || nl == lineStart+1 && c.rbuf[c.r+lineStart] == '\r' {
				if lines == 0 { // an empty line before the request line is ignored
					skipped += nl + 1
					if skipped > maxHead {
						return 0, 0, badRequest("too many empty lines"), false
					}
					c.r += nl + 1
					scan, lineStart = 0, 0
					continue
				}
				if nl+1 > maxHead {
					return 0, 0, c.headTooLarge(lines), false
				}
				return c.r, c.r + nl + 1, nil, true
			}
			if lines++; lines > maxHeaderCount+1 {
				return 0, 0, errTooManyFields, false
			}
			scan, lineStart = nl+1, nl+1
		}
		scan = c.w - c.r
		if scan > maxHead {
			return 0, 0, c.headTooLarge(lines), false
		}
		if lines == 0 && scan > c.cfg.maxURLBytes && c.targetTooLong() {
			return 0, 0, errURITooLong, false
		}
		if !armed {
			c.setHeadDeadline()
			armed = true
		}
		if c.fill(maxHead+2) != nil {
			return 0, 0, nil, false
		}
	}
}

// headTooLarge picks 414 or 431 for a head over MaxHeaderBytes.
func (c *conn) headTooLarge(lines int) *protoError {
	if lines == 0 && c.targetTooLong() {
		return errURITooLong
	}
	return errHeadTooLarge
}

// targetTooLong reports whether the (possibly incomplete) request line
// buffered at rbuf[r:] has a target longer than MaxURLBytes.
func (c *conn) targetTooLong() bool {
	line := c.rbuf[c.r:c.w]
	if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
		line = line[:nl]
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return false
	}
	target := line[sp+1:]
	if sp2 := bytes.IndexByte(target, ' '); sp2 >= 0 {
		target = target[:sp2]
	}
	return len(target) > c.cfg.maxURLBytes
}

// fill reads at least one more byte into rbuf, compacting it, or growing
// it up to limit bytes, when it is full.
func (c *conn) fill(limit int) error {
	if c.w == len(c.rbuf) {
		switch {
		case c.r > 0:
			c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
			c.r = 0
		case len(c.rbuf) < limit:
			nb := make([]byte, min(2*len(c.rbuf), limit))
			copy(nb, c.rbuf[:c.w])
			c.rbuf = nb
		default:
			return errBufferFull
		}
	}
	for {
		n, err := c.rwc.Read(c.rbuf[c.w:])
		c.w += n
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var errBufferFull = errors.New("h1: read buffer full")

// setIdleDeadline bounds the wait for a request's first byte: the first
// request of a connection by ReadHeaderTimeout (else IdleTimeout), later
// ones by IdleTimeout (else ReadHeaderTimeout).
func (c *conn) setIdleDeadline() {
	d1, d2 := c.srv.IdleTimeout, c.srv.ReadHeaderTimeout
	if c.requests == 0 {
		d1, d2 = d2, d1
	}
	if d1 <= 0 {
		d1 = d2
	}
	c.setReadDeadline(d1)
}

// setHeadDeadline bounds the rest of a started request head.
func (c *conn) setHeadDeadline() {
	c.setReadDeadline(c.srv.ReadHeaderTimeout)
}

func (c *conn) setReadDeadline(d time.Duration) {
	if d > 0 {
		c.rwc.SetReadDeadline(time.Now().Add(d))
		c.deadlineSet = true
	} else {
		c.clearDeadline()
	}
}

// clearDeadline removes a head or idle deadline before an unbounded read;
// deadlines are cleared lazily so that a request without a body costs no
// extra deadline update.
func (c *conn) clearDeadline() {
	if c.deadlineSet {
		c.rwc.SetReadDeadline(time.Time{})
		c.deadlineSet = false
	}
}

// hijackReader returns a reader that yields buffered, then reads from the
// connection; its Buffered reports the buffered bytes.
func hijackReader(buffered []byte, nc net.Conn) *bufio.Reader {
	if len(buffered) == 0 {
		return bufio.NewReader(nc)
	}
	buf := bytes.Clone(buffered)
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(buf), nc), max(4096, len(buf)))
	br.Peek(len(buf)) // pulls exactly buf, never touching the connection
	return br
}
