package h1

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Response framings.
const (
	frameNone    uint8 = iota // no body: HEAD, 1xx, 204, 304
	frameFixed                // Content-Length
	frameChunked              // Transfer-Encoding: chunked
	frameClose                // delimited by closing the connection (HTTP/1.0)
)

const (
	// bodyBufSize is the body buffer: a response whose body fits and is
	// complete when the handler returns is sent with a Content-Length.
	bodyBufSize = 4 << 10
	// chunkRoom is the room kept before buffered data for its chunk-size
	// line ("1000\r\n" at most).
	chunkRoom = 8
	wbufCap   = chunkRoom + bodyBufSize + 2
)

// errHijackAfterEnd is returned by Hijack once the handler has returned.
var errHijackAfterEnd = errors.New("h1: Hijack after the handler returned")

// response is the http.ResponseWriter, reused across a connection's
// requests. Besides http.ResponseWriter it implements http.Flusher,
// http.Hijacker, io.StringWriter and the methods http.ResponseController
// looks for (FlushError, SetReadDeadline, SetWriteDeadline,
// EnableFullDuplex).
type response struct {
	c      *conn
	header http.Header

	minor      int  // the request's HTTP/1.minor
	isHead     bool // the request method is HEAD
	closeAfter bool // the connection closes after this response

	status      int
	wroteHeader bool // the final status is set
	committed   bool // framing is decided and the head is in hbuf or sent
	handlerDone bool
	mode        uint8
	declared    int64 // the handler's Content-Length, or -1
	written     int64 // body bytes accepted
	trailers    []string
	wdeadline   bool // the handler set a write deadline
	err         error
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
	_ http.Hijacker       = (*response)(nil)
)

func (w *response) reset(minor int, isHead, closeAfter bool) {
	clear(w.header)
	*w = response{
		c: w.c, header: w.header, trailers: w.trailers[:0],
		minor: minor, isHead: isHead, closeAfter: closeAfter, declared: -1,
	}
	if w.c.hbuf == nil { // given back by lean
		w.c.hbuf = make([]byte, 0, 512)
	}
	w.c.hbuf = w.c.hbuf[:0]
	w.c.wbuf = w.c.wbuf[:0]
}

// Header implements http.ResponseWriter. Changes after WriteHeader do not
// reach the client, except trailers.
func (w *response) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter. A 1xx status other than 101
// is sent at once, with the current header, and a final status may follow;
// HTTP/1.0 clients do not get 1xx responses.
func (w *response) WriteHeader(code int) {
	if w.c.hijacked {
		w.c.cfg.logger.Debug("h1: WriteHeader on a hijacked connection")
		return
	}
	if w.wroteHeader {
		w.c.cfg.logger.Debug("h1: superfluous WriteHeader call", "status", code)
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInterim(code)
		return
	}
	w.wroteHeader = true
	w.status = code
	if cl := w.header["Content-Length"]; len(cl) == 1 {
		if n, ok := parseContentLength(trimOWS(cl[0])); ok {
			w.declared = n
		}
	}
	if w.declared < 0 && len(w.header["Content-Length"]) > 0 {
		w.c.cfg.logger.Debug("h1: ignoring invalid response Content-Length", "value", w.header["Content-Length"])
	}
	if hasToken(w.header["Connection"], "close") {
		w.closeAfter = true
	}
	w.trailers = declaredTrailers(w.trailers[:0], w.header["Trailer"])
	hb := appendStatusLine(w.c.hbuf[:0], code)
	w.c.hbuf = appendHeader(hb, w.header, w.trailers, code == http.StatusSwitchingProtocols)
}

func (w *response) writeInterim(code int) {
	c := w.c
	if w.minor == 0 || code == http.StatusContinue && c.sentContinue {
		return
	}
	if code == http.StatusContinue {
		c.sentContinue = true
	}
	buf := appendStatusLine(c.hbuf[:0], code)
	buf = appendHeader(buf, w.header, nil, false)
	buf = append(buf, "\r\n"...)
	if _, err := c.rwc.Write(buf); err != nil && w.err == nil {
		w.err = err
	}
	c.hbuf = buf[:0]
}

// Write implements http.ResponseWriter. Writing more than a declared
// Content-Length fails with http.ErrContentLength, and writing a body for
// a status that has none with http.ErrBodyNotAllowed.
func (w *response) Write(p []byte) (int, error) {
	if err := w.accept(len(p)); err != nil || len(p) == 0 || w.isHead {
		return acceptedLen(len(p), err)
	}
	c := w.c
	c.takeWbuf(w)
	n := len(p)
	for len(p) > 0 {
		if !w.committed && len(c.wbuf)+len(p) <= bodyBufSize {
			c.wbuf = append(c.wbuf, p...)
			break
		}
		if !w.committed {
			w.commit(false)
		}
		room := bodyBufSize - w.buffered()
		if len(p) <= room {
			c.wbuf = append(c.wbuf, p...)
			break
		}
		if len(p) >= bodyBufSize/2 {
			w.emit(p)
			break
		}
		c.wbuf = append(c.wbuf, p[:room]...)
		p = p[room:]
		w.emit(nil)
	}
	if w.err != nil {
		return 0, w.err
	}
	return n, nil
}

// WriteString implements io.StringWriter.
func (w *response) WriteString(s string) (int, error) {
	if err := w.accept(len(s)); err != nil || len(s) == 0 || w.isHead {
		return acceptedLen(len(s), err)
	}
	c := w.c
	c.takeWbuf(w)
	n := len(s)
	for len(s) > 0 {
		if !w.committed && len(c.wbuf)+len(s) <= bodyBufSize {
			c.wbuf = append(c.wbuf, s...)
			break
		}
		if !w.committed {
			w.commit(false)
		}
		k := min(len(s), bodyBufSize-w.buffered())
		c.wbuf = append(c.wbuf, s[:k]...)
		s = s[k:]
		if len(s) > 0 {
			w.emit(nil)
		}
	}
	if w.err != nil {
		return 0, w.err
	}
	return n, nil
}

func acceptedLen(n int, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return n, nil
}

// accept checks that n more body bytes may be written and counts them.
func (w *response) accept(n int) error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return w.err
	}
	if n == 0 {
		return nil
	}
	if !bodyAllowed(w.status) {
		return http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(n) > w.declared {
		return http.ErrContentLength
	}
	w.written += int64(n)
	return nil
}

// buffered is the number of body bytes in wbuf.
func (w *response) buffered() int {
	if w.mode == frameChunked {
		return len(w.c.wbuf) - chunkRoom
	}
	return len(w.c.wbuf)
}

// commit decides the framing and completes the head in hbuf, moving the
// buffered body behind it. final means the handler has returned, so a
// buffered body is the whole body.
func (w *response) commit(final bool) {
	c := w.c
	w.committed = true
	cl := int64(-1)
	switch {
	case !bodyAllowed(w.status):
		w.mode = frameNone
		if w.status == http.StatusNotModified {
			cl = w.declared
		}
	case w.isHead:
		w.mode = frameNone
		cl = w.declared
		if cl < 0 && final && w.written > 0 && !w.hasTrailers() {
			cl = w.written
		}
	case w.declared >= 0:
		w.mode, cl = frameFixed, w.declared
	case final && !w.hasTrailers():
		w.mode, cl = frameFixed, int64(len(c.wbuf))
	case w.minor >= 1:
		w.mode = frameChunked
	default:
		w.mode = frameClose
		w.closeAfter = true
	}
	// After 101 the connection no longer speaks HTTP/1.1, unless hijacked.
	if w.status == http.StatusSwitchingProtocols || c.srv.shutdown.Load() || c.expectsUnreadBody() {
		w.closeAfter = true
	}

	hb := c.hbuf
	if cl >= 0 {
		hb = append(hb, "Content-Length: "...)
		hb = appendInt(hb, cl)
		hb = append(hb, "\r\n"...)
	}
	if w.mode == frameChunked {
		hb = append(hb, "Transfer-Encoding: chunked\r\n"...)
	}
	if w.status != http.StatusSwitchingProtocols {
		if w.closeAfter {
			hb = append(hb, "Connection: close\r\n"...)
		} else if w.minor == 0 {
			hb = append(hb, "Connection: keep-alive\r\n"...)
		}
	}
	if _, ok := w.header["Date"]; !ok {
		hb = appendDate(hb)
	}
	hb = append(hb, "\r\n"...)
	c.hbuf = hb
	switch w.mode {
	case frameFixed, frameClose:
		c.hbuf = append(hb, c.wbuf...)
		c.wbuf = c.wbuf[:0]
	case frameChunked:
		// The body buffered so far becomes the first chunk, framed in
		// place like the later ones (emit): it moves up to leave the
		// room for its size line. The head buffer does not grow.
		n := len(c.wbuf)
		c.wbuf = c.wbuf[:chunkRoom+n]
		copy(c.wbuf[chunkRoom:], c.wbuf[:n])
	default:
		c.wbuf = c.wbuf[:0]
	}
}

// expectsUnreadBody reports whether the request body will not be read to
// its end, so the connection cannot be reused: it waits for 100 Continue
// that was not sent, or is too large to discard.
func (c *conn) expectsUnreadBody() bool {
	b := &c.body
	if b.done {
		return false
	}
	return b.err != nil || c.head.expectCont && !c.sentContinue ||
		!b.chunked && b.remain > maxDiscardBytes
}

// hasTrailers reports whether the handler declared or set trailers, which
// need chunked framing.
func (w *response) hasTrailers() bool {
	if len(w.trailers) > 0 {
		return true
	}
	for k := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// emit writes the pending head, the buffered body and then p, framed per
// the response mode, in one vectored write. Errors are sticky.
func (w *response) emit(p []byte) {
	c := w.c
	if w.err != nil {
		return
	}
	bufs := c.bufs[:0]
	if len(c.hbuf) > 0 {
		bufs = append(bufs, c.hbuf)
	}
	if n := w.buffered(); n > 0 {
		if w.mode == frameChunked {
			bufs = append(bufs, frameChunk(c.wbuf))
		} else {
			bufs = append(bufs, c.wbuf)
		}
	}
	if len(p) > 0 && w.mode != frameNone {
		if w.mode == frameChunked {
			hdr := appendHex(c.chunk[:0], len(p))
			bufs = append(bufs, append(hdr, "\r\n"...), p, crlf)
		} else {
			bufs = append(bufs, p)
		}
	}
	w.writeBufs(bufs)
}

// writeBufs writes bufs and resets the write buffers.
func (w *response) writeBufs(bufs [][]byte) {
	c := w.c
	var err error
	switch len(bufs) {
	case 0:
	case 1:
		_, err = c.rwc.Write(bufs[0])
	default:
		c.nb = bufs
		_, err = c.nb.WriteTo(c.rwc)
		clear(c.bufs[:])
	}
	if err != nil {
		w.err = err
	}
	c.hbuf = c.hbuf[:0]
	c.wbuf = c.wbuf[:0]
	if w.mode == frameChunked {
		c.wbuf = c.wbuf[:chunkRoom]
	}
}

var crlf = []byte("\r\n")

// finish completes the response after the handler returned.
func (w *response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.c.takeWbuf(w)
	if !w.committed {
		w.commit(true)
	}
	if w.mode != frameChunked {
		w.emit(nil)
	} else if w.err == nil {
		c := w.c
		bufs := c.bufs[:0]
		if len(c.hbuf) > 0 {
			bufs = append(bufs, c.hbuf)
		}
		if w.buffered() > 0 {
			bufs = append(bufs, frameChunk(c.wbuf))
		}
		c.tail = append(c.tail[:0], "0\r\n"...)
		c.tail = w.appendTrailers(c.tail)
		c.tail = append(c.tail, "\r\n"...)
		w.writeBufs(append(bufs, c.tail))
	}
	if w.mode == frameFixed && w.written < w.declared || w.mode == frameClose {
		w.closeAfter = true
	}
	if w.wdeadline {
		w.c.rwc.SetWriteDeadline(time.Time{})
	}
}

// Flush implements http.Flusher: it sends the head and the buffered body.
// A response flushed before it is complete is sent chunked (HTTP/1.1) or
// close-delimited (HTTP/1.0), unless the handler set Content-Length.
func (w *response) Flush() { w.FlushError() }

// FlushError is Flush that reports the write error, for
// http.ResponseController.
func (w *response) FlushError() error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	c := w.c
	c.takeWbuf(w)
	if !w.committed {
		w.commit(false)
	}
	w.emit(nil)
	if w.err == nil && (w.mode == frameChunked || w.mode == frameClose) {
		c.lean(w)
	}
	return w.err
}

// wbufPool holds the body buffers long streams give back between flushes.
var wbufPool = sync.Pool{New: func() any { return new([wbufCap]byte) }}

// lean gives back the connection's buffers while a response streams (it
// was flushed, so they are empty): a stream held for minutes then keeps
// no read buffer, body buffer or head buffer between its writes.
// The body buffer is taken again by the next write (takeWbuf), the read
// buffer by the next request (readHead), the head buffer by reset. The
// read buffer goes only once the request body is read and nothing of a
// next request is buffered.
func (c *conn) lean(w *response) {
	if cap(c.wbuf) == wbufCap && w.buffered() <= 0 {
		wbufPool.Put((*[wbufCap]byte)(c.wbuf[:wbufCap]))
		c.wbuf = nil
	}
	if len(c.hbuf) == 0 {
		c.hbuf = nil
	}
	if c.rbufPooled != nil && c.r == c.w && c.body.done {
		readBufPool.Put(c.rbufPooled)
		c.rbuf, c.rbufPooled = nil, nil
		c.r, c.w = 0, 0
	}
}

// takeWbuf gives the connection a body buffer again after lean.
func (c *conn) takeWbuf(w *response) {
	if c.wbuf != nil {
		return
	}
	c.wbuf = wbufPool.Get().(*[wbufCap]byte)[:0]
	if w.committed && w.mode == frameChunked {
		c.wbuf = c.wbuf[:chunkRoom]
	}
}

// SetWriteDeadline sets the connection's write deadline, for
// http.ResponseController; the engine clears it after the handler.
func (w *response) SetWriteDeadline(t time.Time) error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	w.wdeadline = true
	return w.c.rwc.SetWriteDeadline(t)
}

// EnableFullDuplex is a no-op for http.ResponseController: the engine
// always lets a handler read the request body while writing the response.
func (w *response) EnableFullDuplex() error { return nil }

// Hijack implements http.Hijacker. The returned ReadWriter's Reader holds
// any client bytes the engine had buffered; the Server forgets the
// connection. A head already written with WriteHeader is flushed first.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.c
	switch {
	case c.hijacked:
		return nil, nil, http.ErrHijacked
	case w.handlerDone:
		return nil, nil, errHijackAfterEnd
	}
	if w.wroteHeader {
		if err := w.FlushError(); err != nil {
			return nil, nil, err
		}
	}
	c.watchStop()
	c.clearDeadline()
	c.hijacked = true
	c.srv.trackConn(c, false)
	br := hijackReader(c.rbuf[c.r:c.w], c.rwc)
	c.r = c.w
	return c.rwc, bufio.NewReadWriter(br, bufio.NewWriter(c.rwc)), nil
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
