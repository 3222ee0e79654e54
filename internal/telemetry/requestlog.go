package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/store"
)

// RequestLogSink stores request log batches (store.RequestLog does).
type RequestLogSink interface {
	InsertRequestLogs(ctx context.Context, entries []store.RequestLogEntry) error
	PruneRequestLogs(ctx context.Context, olderThan time.Time, maxRows int) (int64, error)
}

// RequestLogOptions tune a RequestLogWriter. Zero values take defaults.
type RequestLogOptions struct {
	NodeID        string
	QueueSize     int           // entries waiting to be written; default 16384
	BatchSize     int           // entries per insert; default 512
	FlushInterval time.Duration // longest an entry waits; default 500ms
	// Retention: entries older than MaxAge, and beyond the newest MaxRows,
	// are pruned every PruneEvery. Zero MaxAge / MaxRows: no such limit.
	MaxAge     time.Duration
	MaxRows    int
	PruneEvery time.Duration // default 1m
	// SuccessPerSecond caps the successful requests (status below 400, no
	// gateway error code) recorded per second; failures are never sampled
	// out. 0: no cap.
	SuccessPerSecond int
	Log              *slog.Logger
}

// RequestLogWriter writes request summaries to the store asynchronously,
// in batches, off the request path. Record never blocks: when the writer
// falls behind (a slow or unreachable database) entries are dropped and
// counted, and requests go on at full speed.
type RequestLogWriter struct {
	sink    RequestLogSink
	opts    RequestLogOptions
	queue   chan store.RequestLogEntry
	dropped atomic.Uint64
	sampled atomic.Uint64
	written atomic.Uint64

	// The success budget: window is the current second (unix), used the
	// successes recorded in it.
	window atomic.Int64
	used   atomic.Int64
	failed atomic.Uint64
	stop   chan struct{} // closed by Close; the queue itself is never closed
	done   chan struct{}
	once   sync.Once
}

// NewRequestLogWriter starts a writer; Close stops it.
func NewRequestLogWriter(sink RequestLogSink, opts RequestLogOptions) *RequestLogWriter {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 16384
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 512
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 500 * time.Millisecond
	}
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = time.Minute
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	w := &RequestLogWriter{sink: sink, opts: opts, queue: make(chan store.RequestLogEntry, opts.QueueSize),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// Record queues x's summary. It never blocks, and is safe to call after
// Close (a request that outlives shutdown, such as a WebSocket): the entry
// is then dropped. Successful requests beyond SuccessPerSecond are sampled
// out (counted, not written), so that the request log spends its database
// budget on the failures people come to it for.
func (w *RequestLogWriter) Record(x *exchange.Exchange) {
	if x.Code == "" && x.Status < 400 && !w.successAllowed() {
		w.sampled.Add(1)
		return
	}
	e := store.RequestLogEntry{
		Time: x.Start, RequestID: x.ID, NodeID: w.opts.NodeID,
		Route: x.Route, Upstream: x.Upstream, Consumer: x.Consumer,
		Method: x.Method, Host: x.Host, Path: x.Path,
		Status: x.Status, Code: string(x.Code),
		BytesIn: x.BytesIn, BytesOut: x.BytesOut,
		Duration: time.Since(x.Start), UpstreamDuration: x.UpstreamTime,
	}
	if x.Cause != nil {
		e.Error = x.Cause.Error()
	}
	if len(x.Attempts) > 0 {
		e.Attempts = make([]store.Attempt, len(x.Attempts))
		for i, a := range x.Attempts {
			e.Attempts[i] = store.Attempt{Target: a.Target, Status: a.Status, Code: string(a.Code), Error: a.Error,
				DurationMS: float64(a.Duration.Microseconds()) / 1000, Reused: a.Reused, Health: a.Health}
		}
	}
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

// successAllowed takes one unit of this second's success budget.
func (w *RequestLogWriter) successAllowed() bool {
	max := int64(w.opts.SuccessPerSecond)
	if max <= 0 {
		return true
	}
	now := time.Now().Unix()
	if win := w.window.Load(); win != now && w.window.CompareAndSwap(win, now) {
		w.used.Store(0)
	}
	return w.used.Add(1) <= max
}

// Stats returns entries written, dropped (queue full) and lost to failed
// inserts.
func (w *RequestLogWriter) Stats() (written, dropped, failed uint64) {
	return w.written.Load(), w.dropped.Load(), w.failed.Load()
}

// Sampled returns how many successful requests were not recorded because
// of SuccessPerSecond.
func (w *RequestLogWriter) Sampled() uint64 { return w.sampled.Load() }

// Close writes what is queued (until ctx ends) and stops the writer.
func (w *RequestLogWriter) Close(ctx context.Context) error {
	w.once.Do(func() { close(w.stop) })
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *RequestLogWriter) loop() {
	defer close(w.done)
	batch := make([]store.RequestLogEntry, 0, w.opts.BatchSize)
	flush := time.NewTicker(w.opts.FlushInterval)
	defer flush.Stop()
	prune := time.NewTicker(w.opts.PruneEvery)
	defer prune.Stop()
	failing := false
	write := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.sink.InsertRequestLogs(ctx, batch)
		cancel()
		switch {
		case err != nil:
			w.failed.Add(uint64(len(batch)))
			if !failing {
				w.opts.Log.Error("request log: writing a batch failed; entries are being lost", "entries", len(batch), "error", err)
			}
			failing = true
		default:
			w.written.Add(uint64(len(batch)))
			if failing {
				w.opts.Log.Info("request log: writing again")
			}
			failing = false
		}
		clear(batch)
		batch = batch[:0]
	}
	for {
		select {
		case e := <-w.queue:
			batch = append(batch, e)
			if len(batch) >= w.opts.BatchSize {
				write()
			}
		case <-w.stop:
			for { // what is queued now is written; later entries are dropped
				select {
				case e := <-w.queue:
					batch = append(batch, e)
					if len(batch) >= w.opts.BatchSize {
						write()
					}
					continue
				default:
				}
				break
			}
			write()
			return
		case <-flush.C:
			write()
		case <-prune.C:
			w.prune()
		}
	}
}

func (w *RequestLogWriter) prune() {
	if w.opts.MaxAge <= 0 && w.opts.MaxRows <= 0 {
		return
	}
	var before time.Time
	if w.opts.MaxAge > 0 {
		before = time.Now().Add(-w.opts.MaxAge)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n, err := w.sink.PruneRequestLogs(ctx, before, w.opts.MaxRows); err != nil {
		w.opts.Log.Warn("request log: pruning failed", "error", err)
	} else if n > 0 {
		w.opts.Log.Debug("request log: pruned", "entries", n)
	}
}
