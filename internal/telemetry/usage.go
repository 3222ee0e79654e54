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
// is accounted for. RecordUsage never blocks; when the store cannot keep
// up (or is down) for longer than the queue lasts, entries are dropped and
// counted, and a failed batch is retried for 30 s before it is.
type UsageWriter struct {
	sink    UsageSink
	log     *slog.Logger
	queue   chan store.UsageEntry
	written atomic.Uint64
	dropped atomic.Uint64
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// NewUsageWriter starts a writer; Close stops it after writing what is
// queued.
func NewUsageWriter(sink UsageSink, log *slog.Logger) *UsageWriter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &UsageWriter{sink: sink, log: log, queue: make(chan store.UsageEntry, 65536), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// RecordUsage queues e.
func (w *UsageWriter) RecordUsage(e store.UsageEntry) {
	select {
	case <-w.stop:
		w.dropped.Add(1)
		return
	default:
	}
	select {
	case w.queue <- e:
	default:
		w.dropped.Add(1)
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

// maxUsageRetries is how many ticks (250 ms apart) a failed batch is
// retried: 30 s, enough for a store that is still opening or briefly away.
const maxUsageRetries = 120

func (w *UsageWriter) loop() {
	defer close(w.done)
	const batchSize = 256
	batch := make([]store.UsageEntry, 0, batchSize)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	failures := 0
	write := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.sink.InsertUsage(ctx, batch)
		cancel()
		if err != nil {
			failures++
			if failures < maxUsageRetries {
				if failures == 1 {
					w.log.Error("ai usage: writing a batch failed; retrying", "entries", len(batch), "error", err)
				}
				return // kept for the next tick
			}
			w.log.Error("ai usage: entries lost", "entries", len(batch), "error", err)
			w.dropped.Add(uint64(len(batch)))
		} else {
			w.written.Add(uint64(len(batch)))
		}
		failures = 0
		clear(batch)
		batch = batch[:0]
	}
	for {
		select {
		case e := <-w.queue:
			if len(batch) >= 4*batchSize { // the store is failing: shed
				w.dropped.Add(1)
				continue
			}
			batch = append(batch, e)
			if len(batch) >= batchSize && failures == 0 {
				write()
			}
		case <-tick.C:
			write()
		case <-w.stop:
			for {
				select {
				case e := <-w.queue:
					batch = append(batch, e)
					continue
				default:
				}
				break
			}
			failures = maxUsageRetries - 1 // one last try
			write()
			return
		}
	}
}
