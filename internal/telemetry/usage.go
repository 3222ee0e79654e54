package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/store"
)

// UsageSink stores AI usage batches (store.UsageLog does).
type UsageSink interface {
	InsertUsage(ctx context.Context, entries []store.UsageEntry) error
}

// UsageWriter writes AI usage entries to the store in batches, off the
// request path. Unlike the request log it never samples: every AI request
// is accounted for. RecordUsage never blocks and wakes nothing: entries
// wait in memory for the writer's next tick (or for a full batch); when
// the store cannot keep up (or is down) for longer than that memory
// lasts, entries are dropped and counted, and a failed batch is retried
// for 30 s before it is.
type UsageWriter struct {
	sink    UsageSink
	log     *slog.Logger
	mu      sync.Mutex
	pending []store.UsageEntry // recorded, not yet taken by the writer
	closed  bool
	kick    chan struct{} // a full batch is waiting
	written atomic.Uint64
	dropped atomic.Uint64
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

const (
	// usageBatch is the most entries one insert writes.
	usageBatch = 256
	// maxUsagePending bounds the entries waiting for the writer.
	maxUsagePending = 64 << 10
	// maxUsageRetries is how many ticks (250 ms apart) a failed batch is
	// retried: 30 s, enough for a store that is still opening or briefly
	// away.
	maxUsageRetries = 120
)

// NewUsageWriter starts a writer; Close stops it after writing what is
// queued.
func NewUsageWriter(sink UsageSink, log *slog.Logger) *UsageWriter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &UsageWriter{sink: sink, log: log, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop(250 * time.Millisecond)
	return w
}

// RecordUsage queues e. A request pays for a lock and an append; the
// writer is woken only when a batch is full, not per entry (a wakeup per
// request costs more than the rest of the accounting).
func (w *UsageWriter) RecordUsage(e store.UsageEntry) {
	w.mu.Lock()
	if w.closed || len(w.pending) >= maxUsagePending {
		w.mu.Unlock()
		w.dropped.Add(1)
		return
	}
	w.pending = append(w.pending, e)
	full := len(w.pending) == usageBatch
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// Stats returns how many entries were written and dropped.
func (w *UsageWriter) Stats() (written, dropped uint64) { return w.written.Load(), w.dropped.Load() }

// Close writes what is queued (until ctx ends) and stops the writer.
func (w *UsageWriter) Close(ctx context.Context) error {
	w.once.Do(func() { close(w.stop) })
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *UsageWriter) loop(every time.Duration) {
	defer close(w.done)
	var batch []store.UsageEntry // being written; kept while it fails
	tick := time.NewTicker(every)
	defer tick.Stop()
	failures := 0
	// take moves waiting entries into the batch: all of them when the
	// batch is empty (the two slices swap), else as many as fit while
	// the store fails; the rest are shed.
	take := func() {
		w.mu.Lock()
		if len(batch) == 0 {
			batch, w.pending = w.pending, batch[:0]
			w.mu.Unlock()
			return
		}
		n := min(4*usageBatch-len(batch), len(w.pending))
		n = max(n, 0)
		batch = append(batch, w.pending[:n]...)
		shed := len(w.pending) - n
		clear(w.pending)
		w.pending = w.pending[:0]
		w.mu.Unlock()
		w.dropped.Add(uint64(shed))
	}
	write := func() {
		off := 0
		defer func() {
			// What failed stays, at the front, for the next tick.
			batch = batch[:copy(batch, batch[off:])]
		}()
		for off < len(batch) {
			part := batch[off:min(len(batch), off+usageBatch)]
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := w.sink.InsertUsage(ctx, part)
			cancel()
			if err != nil {
				failures++
				if failures < maxUsageRetries {
					if failures == 1 {
						w.log.Error("ai usage: writing a batch failed; retrying", "entries", len(batch)-off, "error", err)
					}
					return
				}
				w.log.Error("ai usage: entries lost", "entries", len(part), "error", err)
				w.dropped.Add(uint64(len(part)))
			} else {
				w.written.Add(uint64(len(part)))
			}
			failures = 0
			clear(part)
			off += len(part)
		}
	}
	for {
		select {
		case <-w.kick:
		case <-tick.C:
		case <-w.stop:
			w.mu.Lock()
			w.closed = true
			w.mu.Unlock()
			take()
			failures = maxUsageRetries - 1 // one last try
			write()
			return
		}
		take()
		write()
	}
}
