package h1client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/sluicegw/sluice/internal/httpwire"
	"github.com/sluicegw/sluice/internal/upstream"
)

// Hooks let whoever reads a response body act while the body waits for
// the server, on the reading goroutine: flush what it relayed so far
// before each wait, do something every so often while the server is quiet
// (a keepalive to its own client), and give up after a silence. Put them
// in the request's context with WithHooks; the fields may be set or
// changed later, between reads, by the goroutine that reads the body.
// Hooks are honoured only by a Transport carrying the request over
// cleartext HTTP/1.1; Bound reports whether one did.
type Hooks struct {
	// Flush is called before each read that has to wait for the server.
	Flush func()
	// Tick is called every Every while a read waits; an error it returns
	// ends the read with that error.
	Every time.Duration
	Tick  func() error
	// Idle, if positive, fails a read with ErrIdle once no byte has come
	// for that long.
	Idle time.Duration

	bound bool
}

type hooksKey struct{}

// WithHooks returns ctx carrying h for the request made with it.
func WithHooks(ctx context.Context, h *Hooks) context.Context {
	return context.WithValue(ctx, hooksKey{}, h)
}

// Bound reports whether a Transport took the hooks on for a response body.
func (h *Hooks) Bound() bool { return h.bound }

// ErrIdle is the error of a read that waited Hooks.Idle without a byte.
// It is a timeout (a net.Error whose Timeout is true).
var ErrIdle error = idleError{}

type idleError struct{}

func (idleError) Error() string   { return "h1client: no data from the server within the idle timeout" }
func (idleError) Timeout() bool   { return true }
func (idleError) Temporary() bool { return true }

var _ net.Error = idleError{}

// errWouldBlock stops a read that would wait (when Close drains what is
// buffered).
var errWouldBlock = errors.New("h1client: would block")

// errClosed is what reads of a closed body return.
var errClosed = errors.New("h1client: read on closed response body")

// body reads one response body off its connection, de-chunking, and hands
// the connection back to its pool once the body ends cleanly.
type body struct {
	t    *Transport
	ctx  context.Context
	pool *upstream.Pool
	c    *upstream.Conn // nil once released
	stop func() bool    // unregisters the context's interrupt
	rh   httpwire.Head

	left     int64 // bytes left of the body (by length) or of the chunk
	inChunk  bool  // left counts the current chunk's bytes
	needCRLF bool  // the line end after a chunk's data is still to read
	trailer  bool  // the last chunk came; the trailer section is next
	trailers int   // trailer fields read
	err      error // sticky: io.EOF or why the body failed
	noWait   bool  // fail with errWouldBlock instead of waiting

	hooks     *Hooks
	armed     bool      // a read deadline may be set on the connection
	waitStart time.Time // when the current wait began
	nextTick  time.Time // when Hooks.Tick is next due

}

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := b.read(p)
	if err != nil {
		b.fail(err)
		return n, b.err
	}
	return n, nil
}

func (b *body) read(p []byte) (int, error) {
	switch {
	case b.rh.Chunked:
		if !b.inChunk {
			// Wait here, not deeper in nextChunk: a stream between
			// events parks its goroutine on a shallower stack.
			if err := b.wait(1); err != nil {
				return 0, unexpected(err)
			}
			if err := b.nextChunk(); err != nil {
				return 0, err
			}
			if b.err != nil {
				return 0, b.err // the last chunk: the body ended
			}
		}
		n, err := b.data(p[:min(int64(len(p)), b.left)])
		if err != nil {
			return n, unexpected(err)
		}
		b.left -= int64(n)
		if b.left == 0 {
			b.inChunk, b.needCRLF = false, true
			// If the end of the body is buffered already, say so with
			// the last bytes (the connection is free sooner).
			b.noWait = true
			err = b.nextChunk()
			b.noWait = false
			switch {
			case err == errWouldBlock:
				err = nil
			case err == nil && b.err == io.EOF:
				err = io.EOF
			}
		}
		return n, err
	case b.rh.UntilClose:
		n, err := b.data(p)
		if err == io.EOF {
			b.finish(false)
		}
		return n, err
	default:
		n, err := b.data(p[:min(int64(len(p)), b.left)])
		b.left -= int64(n)
		if err == nil && b.left == 0 {
			b.finish(true)
			return n, io.EOF
		}
		return n, unexpected(err)
	}
}

// unexpected turns an EOF before the end of a framed body into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// data copies buffered body bytes into p, waiting for some if none are.
func (b *body) data(p []byte) (int, error) {
	if err := b.wait(1); err != nil {
		return 0, err
	}
	return b.c.R.Read(p[:min(len(p), b.c.R.Buffered())])
}

// nextChunk reads up to the next chunk's data: the line end of the
// previous chunk, the size line and, after the last chunk, the trailer.
// Each step consumes only whole lines, so a wait cut short (a tick, or
// errWouldBlock) resumes where it stopped.
func (b *body) nextChunk() error {
	if b.needCRLF {
		line, err := b.line()
		if err != nil {
			return err
		}
		if len(line) != 0 {
			return fmt.Errorf("%w: missing CRLF after chunk", httpwire.ErrMalformed)
		}
		b.needCRLF = false
	}
	if !b.trailer {
		line, err := b.line()
		if err != nil {
			return err
		}
		size, err := httpwire.ChunkSize(line)
		if err != nil {
			return err
		}
		if size > 0 {
			b.left, b.inChunk = size, true
			return nil
		}
		b.trailer = true
	}
	for b.trailers < 64 { // the trailer section, dropped
		line, err := b.line()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			b.finish(true)
			return nil
		}
		b.trailers++
	}
	return fmt.Errorf("%w: too many trailer fields", httpwire.ErrMalformed)
}

// line returns the next line without its line end. It waits for more
// bytes without consuming any until the whole line is buffered, so a
// wait interrupted by a tick loses nothing.
func (b *body) line() ([]byte, error) {
	for need := 1; ; {
		if err := b.wait(need); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		buf, _ := b.c.R.Peek(b.c.R.Buffered())
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			b.c.R.Discard(i + 1)
			return bytes.TrimSuffix(buf[:i], []byte{'\r'}), nil
		}
		if len(buf) == b.c.R.Size() {
			return nil, fmt.Errorf("%w: chunk line too long", httpwire.ErrMalformed)
		}
		need = len(buf) + 1
	}
}

// wait returns once n bytes are buffered. Before it blocks it runs the
// hooks' Flush; while blocked, their Tick and Idle, both counted from the
// start of the wait: keepalives go out only while the server is quiet.
func (b *body) wait(n int) error {
	if b.c.R.Buffered() >= n {
		return nil
	}
	if b.noWait {
		return errWouldBlock
	}
	if h := b.hooks; h != nil {
		if h.Flush != nil {
			h.Flush()
		}
		if h.Every > 0 || h.Idle > 0 {
			// The deadline already set can only be earlier than these
			// (it was computed from an earlier start): an early wakeup
			// re-arms it, so no deadline is set per wait.
			now := time.Now()
			b.waitStart, b.nextTick = now, now.Add(h.Every)
			if !b.armed {
				b.armed = true
				if err := b.arm(); err != nil {
					return err
				}
			}
		}
	}
	for {
		var err error
		if b.c.R.Buffered() == 0 {
			// Nothing at hand: wait for the server without a buffer.
			err = b.c.WaitReadable()
		}
		if err == nil {
			if _, err = b.c.R.Peek(n); err == nil {
				return nil
			}
		}
		if b.ctx.Err() != nil {
			return b.ctx.Err()
		}
		if !b.armed || !isTimeout(err) {
			return err
		}
		if err := b.quiet(); err != nil {
			return err
		}
	}
}

// quiet runs when a wait's deadline passed: the idle limit, a tick, or
// neither (a deadline set for an earlier wait).
func (b *body) quiet() error {
	h := b.hooks
	now := time.Now()
	if h.Idle > 0 && now.Sub(b.waitStart) >= h.Idle {
		return ErrIdle
	}
	if h.Every > 0 && !now.Before(b.nextTick) {
		b.nextTick = now.Add(h.Every)
		if h.Tick != nil {
			if err := h.Tick(); err != nil {
				return err
			}
		}
	}
	return b.arm()
}

// arm sets the read deadline to the next tick or the idle limit,
// whichever comes first. A context that ended meanwhile wins: its
// interrupt may have been overwritten.
func (b *body) arm() error {
	h := b.hooks
	var d time.Time
	if h.Every > 0 {
		d = b.nextTick
	}
	if h.Idle > 0 {
		if end := b.waitStart.Add(h.Idle); d.IsZero() || end.Before(d) {
			d = end
		}
	}
	b.c.SetReadDeadline(d)
	return b.ctx.Err()
}

// fail makes err the body's sticky error; unless the body ended, the
// connection is closed.
func (b *body) fail(err error) {
	if b.err == nil {
		b.err = err
	}
	if b.c != nil {
		b.stop()
		b.c.Close()
		b.c = nil
	}
}

// finish ends the body: the connection goes back to the pool if reuse
// and the response allows it and the context's interrupt cannot touch it
// any more.
func (b *body) finish(reuse bool) {
	b.err = io.EOF
	c := b.c
	b.c = nil
	if reuse && !b.rh.Close && b.stop() && c.R.Buffered() == 0 {
		if b.armed {
			c.SetReadDeadline(time.Time{})
		}
		c.Reused = true
		c.ReleaseReader()
		b.pool.Put(c)
		return
	}
	b.stop()
	c.Close()
}

// Close implements io.Closer. What the body still holds in the buffer is
// consumed, so a body read to its last value (a JSON decoder that did not
// ask for the final line end) still lets its connection be reused.
func (b *body) Close() error {
	if b.c == nil {
		if b.err == nil {
			b.err = errClosed
		}
		return nil
	}
	if !b.rh.UntilClose {
		b.noWait = true
		var scratch [512]byte
		for b.err == nil {
			if _, err := b.read(scratch[:]); err != nil {
				break
			}
		}
	}
	if b.c != nil {
		b.fail(errClosed)
	}
	if b.err == io.EOF {
		b.err = errClosed
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var _ io.ReadCloser = (*body)(nil)

// Buffered returns the number of bytes buffered on the connection, some
// of which may belong to the body. Its presence tells a reader that the
// body buffers what it reads (see llm.NewSSEReader).
func (b *body) Buffered() int {
	if b.c == nil {
		return 0
	}
	return b.c.R.Buffered()
}
