package sqlcore

import (
	"context"
	"sync"
	"time"
)

// signal wakes every goroutine waiting on it. The zero value is not
// usable; ch must be made.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed by the next broadcast.
func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

// broadcast wakes everyone waiting.
func (s *signal) broadcast() {
	s.mu.Lock()
	close(s.ch)
	s.ch = make(chan struct{})
	s.mu.Unlock()
}

// Watch delivers config versions; see store.ConfigVersions.
func (db *DB) Watch(ctx context.Context) <-chan uint64 {
	db.listenOnce.Do(func() { db.drv.Listen(db.changed.broadcast) })
	out := make(chan uint64, 1)
	db.watchers.Add(1)
	go func() {
		defer db.watchers.Done()
		defer close(out)
		// A store closed or a context ended also ends a read in flight.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-db.closed:
				cancel()
			case <-ctx.Done():
			}
		}()
		db.watch(ctx, out)
	}()
	return out
}

// watch is the body of a Watch goroutine: it reads the version whenever it
// is woken or the poll ticks, and delivers it when it grew.
func (db *DB) watch(ctx context.Context, out chan uint64) {
	ticker := time.NewTicker(db.poll)
	defer ticker.Stop()
	var (
		last    uint64
		started bool
		failing bool
	)
	for {
		// Take the wake channel before reading, so a change committed
		// during the read still wakes the next round.
		wake := db.changed.wait()
		v, err := db.ConfigVersion(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if !failing {
				db.log.Warn("store: cannot read the config version; keeping the current config and retrying", "error", err)
				failing = true
			}
		default:
			if failing {
				db.log.Info("store: config version readable again", "version", v)
				failing = false
			}
			if !started || v > last {
				started, last = true, v
				// Coalesce: replace an undelivered older version. This
				// goroutine is the only sender, so the send cannot block.
				select {
				case <-out:
				default:
				}
				out <- v
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-ticker.C:
		}
	}
}
