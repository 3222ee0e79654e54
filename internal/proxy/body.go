package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sluicegw/sluice/internal/httpwire"
	"github.com/sluicegw/sluice/internal/upstream"
)

// replayBody forwards a client request body while keeping its first bytes
// (up to a limit) so that a retry can send the body again intact. A retry
// is possible as long as no more than the limit was consumed. The kept
// bytes grow with the body, so a small body holds a small buffer for as
// long as its request (a stream) lasts, not the limit.
type replayBody struct {
	src      io.Reader
	buf      []byte // bytes read from src so far, up to limit
	limit    int
	pos      int   // read position within buf for the current attempt
	overflow bool  // more than limit bytes were consumed: no replay
	srcErr   error // sticky error from src (io.EOF at the end)
	total    int64 // bytes read from src
}

// maxPooledReplay is the largest kept-bytes buffer a pooled request state
// keeps for the next request.
const maxPooledReplay = 8 << 10

func (b *replayBody) reset(src io.Reader, limit int) {
	*b = replayBody{src: src, buf: b.buf[:0], limit: limit}
}

// recycle empties b for the pool, dropping a buffer too large to keep.
func (b *replayBody) recycle() {
	buf := b.buf[:0]
	if cap(buf) > maxPooledReplay {
		buf = nil
	}
	*b = replayBody{buf: buf}
}

// rewind prepares the body for another attempt. It reports false when the
// body can no longer be replayed.
func (b *replayBody) rewind() bool {
	if b.overflow {
		return false
	}
	b.pos = 0
	return true
}

func (b *replayBody) Read(p []byte) (int, error) {
	if b.pos < len(b.buf) {
		n := copy(p, b.buf[b.pos:])
		b.pos += n
		return n, nil
	}
	if b.srcErr != nil {
		return 0, b.srcErr
	}
	n, err := b.src.Read(p)
	b.total += int64(n)
	if n > 0 {
		if !b.overflow && len(b.buf)+n <= b.limit {
			b.buf = append(b.buf, p[:n]...)
			b.pos = len(b.buf)
		} else {
			b.overflow = true
		}
	}
	if err != nil {
		b.srcErr = err
		if err != io.EOF {
			err = &clientBodyError{err}
		}
	}
	return n, err
}

// writeBody copies the request body to the upstream connection, framed by
// Content-Length (length >= 0) or chunked (length < 0), refreshing the write
// deadline before each write.
func writeBody(c net.Conn, w *bufio.Writer, body io.Reader, length int64, scratch []byte, timeout time.Duration) error {
	var sent int64
	for {
		n, rerr := body.Read(scratch)
		if n > 0 {
			if length >= 0 && sent+int64(n) > length {
				return &clientBodyError{errors.New("request body longer than its Content-Length")}
			}
			c.SetWriteDeadline(time.Now().Add(timeout))
			if length < 0 {
				fmt.Fprintf(w, "%x\r\n", n)
			}
			w.Write(scratch[:n])
			if length < 0 {
				w.WriteString("\r\n")
			}
			if err := w.Flush(); err != nil {
				return err
			}
			sent += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if length >= 0 && sent != length {
		return &clientBodyError{io.ErrUnexpectedEOF}
	}
	if length < 0 {
		c.SetWriteDeadline(time.Now().Add(timeout))
		w.WriteString("0\r\n\r\n")
		return w.Flush()
	}
	return nil
}

// errClientWrite marks a failure to write the response to the client.
type clientWriteError struct{ err error }

func (e *clientWriteError) Error() string { return "writing to client: " + e.err.Error() }
func (e *clientWriteError) Unwrap() error { return e.err }

// copyResponseBody streams the upstream body to the client as it arrives:
// whatever was relayed is flushed to the client before the proxy blocks
// waiting for more from the upstream, so SSE and chunked streams are never
// held back, while a body that arrives whole is written in one go. Each
// wait for upstream bytes is bounded by idle. It returns the bytes written
// and an error that is either a *clientWriteError or an upstream read error.
func copyResponseBody(w http.ResponseWriter, c *upstream.Conn, rh *httpwire.Head, idle time.Duration) (int64, error) {
	bc := bodyCopier{w: w, c: c, idle: idle}
	bc.fl, _ = w.(http.Flusher)
	err := bc.copy(rh)
	return bc.written, err
}

// bodyCopier relays one response body. It reads c.R afresh each time: a
// wait for the upstream gives the buffer back (upstream.Conn.WaitReadable).
type bodyCopier struct {
	w       http.ResponseWriter
	fl      http.Flusher
	c       *upstream.Conn
	idle    time.Duration
	written int64
	pending bool // bytes written to w since the last flush
}

func (bc *bodyCopier) copy(rh *httpwire.Head) error {
	switch {
	case rh.Chunked:
		for {
			size, err := bc.chunkSize()
			if err != nil {
				return err
			}
			if size == 0 {
				return bc.trailer()
			}
			for size > 0 {
				if err := bc.fill(); err != nil {
					return unexpected(err)
				}
				n, err := bc.send(size)
				if err != nil {
					return err
				}
				size -= int64(n)
			}
			if err := bc.crlf(); err != nil {
				return err
			}
		}
	case rh.UntilClose:
		for {
			if err := bc.fill(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
			if _, err := bc.send(-1); err != nil {
				return err
			}
		}
	default:
		for remaining := rh.ContentLength; remaining > 0; {
			if err := bc.fill(); err != nil {
				return unexpected(err)
			}
			n, err := bc.send(remaining)
			if err != nil {
				return err
			}
			remaining -= int64(n)
		}
		return nil
	}
}

// send writes what r holds (at most max bytes; max < 0 = all) to w.
func (bc *bodyCopier) send(max int64) (int, error) {
	b, _ := bc.c.R.Peek(bc.c.R.Buffered())
	if max >= 0 && int64(len(b)) > max {
		b = b[:max]
	}
	n, err := bc.w.Write(b)
	bc.c.R.Discard(n)
	bc.written += int64(n)
	bc.pending = bc.pending || n > 0
	if err != nil {
		return n, &clientWriteError{err}
	}
	return n, nil
}

// wait is called before blocking on the upstream: it flushes what the
// client has not been sent yet and arms the idle deadline.
func (bc *bodyCopier) wait() {
	if bc.pending && bc.fl != nil {
		bc.fl.Flush()
		bc.pending = false
	}
	bc.c.SetReadDeadline(time.Now().Add(bc.idle))
}

// fill waits for at least one byte from the upstream.
func (bc *bodyCopier) fill() error {
	if bc.c.R.Buffered() > 0 {
		return nil
	}
	bc.wait()
	return bc.c.WaitReadable()
}

// line reads one line of a chunked body (size line or trailer field).
func (bc *bodyCopier) line() ([]byte, error) {
	if bc.c.R.Buffered() == 0 || bytes.IndexByte(peekAll(bc.c.R), '\n') < 0 {
		bc.wait()
		if err := bc.c.WaitReadable(); err != nil {
			return nil, unexpected(err)
		}
	}
	line, err := bc.c.R.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: chunk line too long", errBadResponse)
		}
		return nil, unexpected(err)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func peekAll(r *bufio.Reader) []byte {
	b, _ := r.Peek(r.Buffered())
	return b
}

// chunkSize reads a chunk-size line, ignoring chunk extensions.
func (bc *bodyCopier) chunkSize() (int64, error) {
	line, err := bc.line()
	if err != nil {
		return 0, err
	}
	return httpwire.ChunkSize(line)
}

// crlf consumes the line end after chunk data.
func (bc *bodyCopier) crlf() error {
	line, err := bc.line()
	if err != nil {
		return err
	}
	if len(line) != 0 {
		return fmt.Errorf("%w: missing CRLF after chunk", errBadResponse)
	}
	return nil
}

// trailer consumes (and drops) the trailer section of a chunked body.
func (bc *bodyCopier) trailer() error {
	for range 64 {
		line, err := bc.line()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
	}
	return fmt.Errorf("%w: too many trailer fields", errBadResponse)
}

// discardBody reads and drops a response body (to reuse the connection
// after a retried status). It reports whether the connection may be reused.
func discardBody(c *upstream.Conn, rh *httpwire.Head, idle time.Duration) bool {
	if rh.UntilClose || rh.Close || rh.ContentLength > 64<<10 {
		return false
	}
	_, err := copyResponseBody(discardWriter{}, c, rh, idle)
	return err == nil
}

type discardWriter struct{}

func (discardWriter) Header() http.Header         { return nil }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}

// unexpected turns an EOF in the middle of a framed body into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
