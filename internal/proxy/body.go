package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// replayBody forwards a client request body while keeping its first bytes
// (up to a limit) so that a retry can send the body again intact. A retry
// is possible as long as no more than the limit was consumed.
type replayBody struct {
	src      io.Reader
	buf      []byte // bytes read from src so far, up to cap(buf)
	pos      int    // read position within buf for the current attempt
	overflow bool   // more than cap(buf) bytes were consumed: no replay
	srcErr   error  // sticky error from src (io.EOF at the end)
	total    int64  // bytes read from src
}

func (b *replayBody) reset(src io.Reader, limit int) {
	if cap(b.buf) < limit {
		b.buf = make([]byte, 0, limit)
	}
	*b = replayBody{src: src, buf: b.buf[:0:limit]}
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
		if !b.overflow && len(b.buf)+n <= cap(b.buf) {
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

// copyResponseBody streams the upstream body to the client as it arrives,
// flushing whenever the upstream has nothing more buffered, so that SSE and
// chunked streams are never held back. Each wait for upstream bytes is
// bounded by idle. It returns the bytes written and an error that is either
// a *clientWriteError or an upstream read error.
func copyResponseBody(w http.ResponseWriter, c net.Conn, r *bufio.Reader, rh *respHead, idle time.Duration) (int64, error) {
	fl, _ := w.(http.Flusher)
	var written int64
	// send writes what r holds (at most max bytes; max < 0 = all) to w.
	send := func(max int64) (int, error) {
		b, _ := r.Peek(r.Buffered())
		if max >= 0 && int64(len(b)) > max {
			b = b[:max]
		}
		n, err := w.Write(b)
		r.Discard(n)
		written += int64(n)
		if err != nil {
			return n, &clientWriteError{err}
		}
		if r.Buffered() == 0 && fl != nil {
			fl.Flush()
		}
		return n, nil
	}
	// fill waits for at least one byte from the upstream.
	fill := func() error {
		if r.Buffered() > 0 {
			return nil
		}
		c.SetReadDeadline(time.Now().Add(idle))
		_, err := r.Peek(1)
		return err
	}
	switch {
	case rh.chunked:
		for {
			size, err := readChunkSize(r, c, idle)
			if err != nil {
				return written, err
			}
			if size == 0 {
				return written, readTrailer(r, c, idle)
			}
			for size > 0 {
				if err := fill(); err != nil {
					return written, unexpected(err)
				}
				n, err := send(size)
				if err != nil {
					return written, err
				}
				size -= int64(n)
			}
			if err := expectCRLF(r, c, idle); err != nil {
				return written, err
			}
		}
	case rh.untilClose:
		for {
			if err := fill(); err != nil {
				if err == io.EOF {
					return written, nil
				}
				return written, err
			}
			if _, err := send(-1); err != nil {
				return written, err
			}
		}
	default:
		for remaining := rh.contentLength; remaining > 0; {
			if err := fill(); err != nil {
				return written, unexpected(err)
			}
			n, err := send(remaining)
			if err != nil {
				return written, err
			}
			remaining -= int64(n)
		}
		return written, nil
	}
}

// unexpected turns an EOF in the middle of a framed body into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readLine reads one line of a chunked body (size line or trailer field).
func readLine(r *bufio.Reader, c net.Conn, idle time.Duration) ([]byte, error) {
	if r.Buffered() == 0 {
		c.SetReadDeadline(time.Now().Add(idle))
	}
	line, err := r.ReadSlice('\n')
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

// readChunkSize reads a chunk-size line, ignoring chunk extensions.
func readChunkSize(r *bufio.Reader, c net.Conn, idle time.Duration) (int64, error) {
	line, err := readLine(r, c, idle)
	if err != nil {
		return 0, err
	}
	var size int64
	digits := 0
	for _, ch := range line {
		var d byte
		switch {
		case ch >= '0' && ch <= '9':
			d = ch - '0'
		case ch >= 'a' && ch <= 'f':
			d = ch - 'a' + 10
		case ch >= 'A' && ch <= 'F':
			d = ch - 'A' + 10
		case ch == ';' || ch == ' ' || ch == '\t':
			if digits == 0 {
				return 0, fmt.Errorf("%w: bad chunk size", errBadResponse)
			}
			return size, nil
		default:
			return 0, fmt.Errorf("%w: bad chunk size", errBadResponse)
		}
		digits++
		if digits > 15 {
			return 0, fmt.Errorf("%w: chunk size too large", errBadResponse)
		}
		size = size<<4 | int64(d)
	}
	if digits == 0 {
		return 0, fmt.Errorf("%w: bad chunk size", errBadResponse)
	}
	return size, nil
}

// expectCRLF consumes the line end after chunk data.
func expectCRLF(r *bufio.Reader, c net.Conn, idle time.Duration) error {
	line, err := readLine(r, c, idle)
	if err != nil {
		return err
	}
	if len(line) != 0 {
		return fmt.Errorf("%w: missing CRLF after chunk", errBadResponse)
	}
	return nil
}

// readTrailer consumes (and drops) the trailer section of a chunked body.
func readTrailer(r *bufio.Reader, c net.Conn, idle time.Duration) error {
	for range 64 {
		line, err := readLine(r, c, idle)
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
func discardBody(c net.Conn, r *bufio.Reader, rh *respHead, idle time.Duration) bool {
	if rh.untilClose || rh.close || rh.contentLength > 64<<10 {
		return false
	}
	_, err := copyResponseBody(discardWriter{}, c, r, rh, idle)
	return err == nil
}

type discardWriter struct{}

func (discardWriter) Header() http.Header         { return nil }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}
