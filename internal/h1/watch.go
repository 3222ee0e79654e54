package h1

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync"
	"time"
)

// watch detects a client closing its connection while a slow handler runs,
// to cancel the request's context. Fast requests pay two uncontended mutex
// operations: the timer is not reset or stopped per request; while
// requests flow it fires at most once per slowHandlerAfter and re-arms
// itself for the current handler. The background read that notices a close
// starts only once the handler has run for slowHandlerAfter and the request
// body has been read to its end (before that, body reads see the close).
type watch struct {
	mu       sync.Mutex
	timer    *time.Timer // fires onSlow; created with the first request
	pending  bool        // the timer is scheduled
	armed    bool        // a handler is running
	start    time.Time   // when the handler started
	bodyDone bool        // the request body has been read to its end
	elapsed  bool        // the handler has run for slowHandlerAfter
	reading  bool        // the background read is running
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	// peer, when set by the handler, is interrupted (its deadline set in the
	// past) when the client goes away: see response.WatchClientClose.
	peer deadliner

	// Set by the background read.
	b    [1]byte // a byte of the next request, if n == 1
	n    int
	gone bool // the client closed or reset the connection
}

// aLongTimeAgo is a deadline in the past that interrupts a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// watchStart arms the watch for a handler about to run.
func (c *conn) watchStart(bodyDone bool, cancel context.CancelFunc) {
	w := &c.watch
	w.mu.Lock()
	w.armed, w.start, w.bodyDone, w.elapsed = true, time.Now(), bodyDone, false
	w.cancel, w.n, w.gone, w.peer = cancel, 0, false, nil
	switch {
	case w.timer == nil:
		w.timer = time.AfterFunc(slowHandlerAfter, c.onSlow)
	case !w.pending:
		w.timer.Reset(slowHandlerAfter)
	}
	w.pending = true
	w.mu.Unlock()
}

// onSlow runs on the timer. A timer scheduled for an earlier request
// re-arms itself for the rest of the current handler's grace period.
func (c *conn) onSlow() {
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = false
	if !w.armed {
		return
	}
	if ran := time.Since(w.start); ran < slowHandlerAfter {
		w.pending = true
		w.timer.Reset(slowHandlerAfter - ran)
		return
	}
	w.elapsed = true
	if w.bodyDone {
		c.startBackgroundReadLocked()
	}
}

// watchBodyDone records that the request body was read to its end.
func (c *conn) watchBodyDone() {
	w := &c.watch
	w.mu.Lock()
	w.bodyDone = true
	if w.armed && w.elapsed {
		c.startBackgroundReadLocked()
	}
	w.mu.Unlock()
}

// startBackgroundReadLocked starts the background read; w.mu must be held.
func (c *conn) startBackgroundReadLocked() {
	w := &c.watch
	if w.reading {
		return
	}
	w.reading = true
	c.clearDeadline()
	w.wg.Add(1)
	go c.backgroundRead()
}

// backgroundRead reads one byte: a byte of a pipelined request is kept for
// the next request; an error other than a deadline means the client is
// gone, which cancels the request context.
func (c *conn) backgroundRead() {
	w := &c.watch
	defer w.wg.Done()
	n, err := c.rwc.Read(w.b[:])
	w.mu.Lock()
	w.n = n
	gone := n == 0 && err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
	w.gone = gone
	cancel := w.cancel
	if gone && w.peer != nil {
		w.peer.SetDeadline(aLongTimeAgo)
	}
	w.mu.Unlock()
	if gone {
		cancel()
	}
}

// deadliner is what WatchClientClose interrupts: typically the handler's
// connection to an upstream.
type deadliner interface {
	SetDeadline(t time.Time) error
}

// WatchClientClose makes the engine interrupt peer (by setting its deadline
// in the past) if the client closes the connection while the handler runs.
// It is the allocation-free equivalent of context.AfterFunc on the request
// context for that one purpose. One peer is watched at a time; the handler
// must call UnwatchClientClose before it reuses or releases peer.
func (w *response) WatchClientClose(peer interface{ SetDeadline(time.Time) error }) {
	c := w.c
	c.watch.mu.Lock()
	c.watch.peer = peer
	c.watch.mu.Unlock()
}

// UnwatchClientClose stops watching. It reports true when the peer was not
// interrupted, so it may be reused; false when the client went away and the
// peer's deadline was set in the past.
func (w *response) UnwatchClientClose() bool {
	c := w.c
	c.watch.mu.Lock()
	defer c.watch.mu.Unlock()
	c.watch.peer = nil
	return !c.watch.gone
}

// watchEnd stops the timer when the connection ends.
func (c *conn) watchEnd() {
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

// watchStop disarms the watch when the handler returns or hijacks; it waits
// for a background read to end and keeps the byte it read. The timer is left
// to fire for the next request (see watch).
func (c *conn) watchStop() {
	w := &c.watch
	w.mu.Lock()
	w.armed = false
	reading := w.reading
	w.mu.Unlock()
	if !reading {
		return
	}
	c.rwc.SetReadDeadline(aLongTimeAgo)
	c.deadlineSet = true
	w.wg.Wait()
	w.reading = false
	if w.n == 1 {
		c.takeRbuf()
		if c.w == len(c.rbuf) {
			if c.r > 0 {
				c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
				c.r = 0
			} else {
				c.rbuf = append(make([]byte, 0, 2*len(c.rbuf)), c.rbuf...)[:2*len(c.rbuf)]
			}
		}
		c.rbuf[c.w] = w.b[0]
		c.w++
		w.n = 0
	}
}

// SetReadDeadline sets the connection's read deadline, as
// http.ResponseController does; the engine resets it after the handler.
func (w *response) SetReadDeadline(t time.Time) error {
	c := w.c
	if c.hijacked {
		return http.ErrHijacked
	}
	c.watch.mu.Lock()
	defer c.watch.mu.Unlock()
	c.deadlineSet = true
	return c.rwc.SetReadDeadline(t)
}

// The proxy detects this capability by interface assertion.
var _ interface {
	WatchClientClose(peer interface{ SetDeadline(time.Time) error })
	UnwatchClientClose() bool
} = (*response)(nil)
