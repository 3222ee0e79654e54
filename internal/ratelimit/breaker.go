package ratelimit

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// Breaker applies Failover's policy to a remote backend whose operations
// are not Limiter.Allow (the AI plugins' token buckets and budgets), so
// such stores fail over the same way: a remote error marks the remote
// down; while it is down, calls go straight to the fallback except one
// call per probe interval, which tries the remote again; the first success
// marks it up. Each change of state is logged once, and the counts go to
// the same process Totals as Failover's.
//
// The caller runs the remote call itself:
//
//	if b.UseRemote() {
//		v, err := remote(ctx)
//		if err == nil { b.Succeeded(); return v, nil }
//		if ctx.Err() == nil { b.Failed(err) }
//	}
//	if err := b.FallBack(); err != nil { return zero, err } // failing closed
//	return local(ctx)
//
// A Breaker is safe for concurrent use.
type Breaker struct {
	closed bool
	probe  time.Duration
	log    *slog.Logger
	name   string
	kind   string

	down      atomic.Bool
	nextProbe atomic.Int64 // unix ns before which no call probes
	stats     counters
}

// BreakerOptions configure a Breaker.
type BreakerOptions struct {
	// FailClosed makes FallBack return ErrUnavailable instead of letting
	// the caller answer locally.
	FailClosed bool
	// ProbeInterval is the time between tries of a down remote; 0 means
	// DefaultProbeInterval.
	ProbeInterval time.Duration
	// Log receives the state changes; nil discards them.
	Log *slog.Logger
	// Name identifies the store in logs (for example the plugin scope).
	Name string
	// Kind names the backend in log messages ("ai-rate-limit backend");
	// "" means "rate limit backend", as Failover logs.
	Kind string
}

// NewBreaker returns a Breaker whose remote starts up.
func NewBreaker(opts BreakerOptions) *Breaker {
	b := &Breaker{closed: opts.FailClosed, probe: opts.ProbeInterval, log: opts.Log, name: opts.Name, kind: opts.Kind}
	if b.probe <= 0 {
		b.probe = DefaultProbeInterval
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.kind == "" {
		b.kind = "rate limit backend"
	}
	return b
}

// UseRemote reports whether this call should try the remote: always while
// it is up; while it is down, only for the one call of each probe
// interval.
func (b *Breaker) UseRemote() bool {
	if !b.down.Load() {
		return true
	}
	next := b.nextProbe.Load()
	now := time.Now().UnixNano()
	return now >= next && b.nextProbe.CompareAndSwap(next, now+int64(b.probe))
}

// Succeeded records a remote call that answered: a down remote is up
// again.
func (b *Breaker) Succeeded() {
	if b.down.Swap(false) {
		b.log.Info(b.kind+" recovered; deciding on it again", "limiter", b.name)
	}
}

// Failed records a remote call that got no answer (not one the caller
// cancelled): the remote is down until a probe succeeds.
func (b *Breaker) Failed(err error) {
	b.stats.remoteErrors.Add(1)
	totals.remoteErrors.Add(1)
	b.nextProbe.Store(time.Now().Add(b.probe).UnixNano())
	if !b.down.Swap(true) {
		b.stats.outages.Add(1)
		totals.outages.Add(1)
		mode := "failing open onto local counters"
		if b.closed {
			mode = "failing closed"
		}
		b.log.Warn(b.kind+" unavailable; "+mode, "limiter", b.name, "error", err.Error())
	}
}

// FallBack records a call answered without the remote. It returns
// ErrUnavailable when the Breaker fails closed (the caller refuses), nil
// when the caller should answer from its local state.
func (b *Breaker) FallBack() error {
	if b.closed {
		b.stats.failedClosed.Add(1)
		totals.failedClosed.Add(1)
		return ErrUnavailable
	}
	b.stats.failedOpen.Add(1)
	totals.failedOpen.Add(1)
	return nil
}

// Down reports whether the remote is currently considered unavailable.
func (b *Breaker) Down() bool { return b.down.Load() }

// Stats returns this Breaker's counters.
func (b *Breaker) Stats() Stats { return b.stats.read() }
