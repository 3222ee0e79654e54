package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// DefaultProbeInterval is how often a Failover whose remote is down lets
// one request try the remote again.
const DefaultProbeInterval = time.Second

// Failover decides on a remote Limiter (Redis) while it answers and copes
// when it does not: failing open, the decision comes from a local Limiter
// (per-node counters, so N nodes admit up to N times the Rate while the
// remote is down); failing closed, it is ErrUnavailable.
//
// A remote error marks the remote down. While it is down, requests do not
// wait on it: they go straight to the fallback, except that one request
// per probe interval tries the remote first, and the first success marks
// it up again. So a request waits on the remote at most once, for at most
// the remote's timeout, and recovery needs no operator. Each change of
// state is logged once; every fallback decision is counted.
type Failover struct {
	remote Limiter
	local  Limiter
	closed bool
	probe  time.Duration
	log    *slog.Logger
	name   string

	down      atomic.Bool
	nextProbe atomic.Int64 // unix ns before which no request probes
	stats     counters
}

// FailoverOptions configure a Failover.
type FailoverOptions struct {
	// Local answers while the remote is down when failing open; ignored
	// when FailClosed.
	Local Limiter
	// FailClosed refuses (with ErrUnavailable) instead of answering
	// locally.
	FailClosed bool
	// ProbeInterval is the time between tries of a down remote; 0 means
	// DefaultProbeInterval.
	ProbeInterval time.Duration
	// Log receives the state changes; nil discards them.
	Log *slog.Logger
	// Name identifies the limiter in logs (for example the plugin scope).
	Name string
}

var _ Limiter = (*Failover)(nil)

// NewFailover returns a Failover over remote. It fails open unless
// opts.FailClosed, in which case opts.Local may be nil.
func NewFailover(remote Limiter, opts FailoverOptions) (*Failover, error) {
	if !opts.FailClosed && opts.Local == nil {
		return nil, fmt.Errorf("ratelimit: a failover that fails open needs a local limiter")
	}
	f := &Failover{remote: remote, local: opts.Local, closed: opts.FailClosed, probe: opts.ProbeInterval, log: opts.Log, name: opts.Name}
	if f.probe <= 0 {
		f.probe = DefaultProbeInterval
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	return f, nil
}

// Allow implements Limiter. A cancelled ctx (the client went away) is
// returned as is and says nothing about the remote.
func (f *Failover) Allow(ctx context.Context, key string, cost int64) (Decision, error) {
	if f.down.Load() && !f.takeProbe() {
		return f.fallback(ctx, key, cost, nil)
	}
	d, err := f.remote.Allow(ctx, key, cost)
	if err == nil {
		if f.down.Swap(false) {
			f.log.Info("rate limit backend recovered; deciding on it again", "limiter", f.name)
		}
		return d, nil
	}
	if ctx.Err() != nil || errors.Is(err, ErrCost) {
		return Decision{}, err
	}
	f.stats.remoteErrors.Add(1)
	totals.remoteErrors.Add(1)
	f.nextProbe.Store(time.Now().Add(f.probe).UnixNano())
	if !f.down.Swap(true) {
		f.stats.outages.Add(1)
		totals.outages.Add(1)
		mode := "failing open onto the local limiter"
		if f.closed {
			mode = "failing closed"
		}
		f.log.Warn("rate limit backend unavailable; "+mode, "limiter", f.name, "error", err.Error())
	}
	return f.fallback(ctx, key, cost, err)
}

// takeProbe reports whether this request is the one to try a down remote.
func (f *Failover) takeProbe() bool {
	next := f.nextProbe.Load()
	now := time.Now().UnixNano()
	return now >= next && f.nextProbe.CompareAndSwap(next, now+int64(f.probe))
}

// fallback answers while the remote is down; cause is the remote's error
// when this request saw one.
func (f *Failover) fallback(ctx context.Context, key string, cost int64, cause error) (Decision, error) {
	if f.closed {
		f.stats.failedClosed.Add(1)
		totals.failedClosed.Add(1)
		if cause == nil {
			return Decision{}, ErrUnavailable
		}
		return Decision{}, fmt.Errorf("%w: %w", ErrUnavailable, cause)
	}
	f.stats.failedOpen.Add(1)
	totals.failedOpen.Add(1)
	return f.local.Allow(ctx, key, cost)
}

// Down reports whether the remote is currently considered unavailable.
func (f *Failover) Down() bool { return f.down.Load() }

// Stats returns this limiter's counters.
func (f *Failover) Stats() Stats { return f.stats.read() }

// Stats count a Failover's encounters with an unavailable remote. All
// counts only grow.
type Stats struct {
	// RemoteErrors counts remote calls that failed (timeouts, refused
	// connections, script errors).
	RemoteErrors uint64
	// Outages counts changes from up to down.
	Outages uint64
	// FailedOpen counts decisions made by the local limiter because the
	// remote was down.
	FailedOpen uint64
	// FailedClosed counts requests refused because the remote was down.
	FailedClosed uint64
}

// counters is the atomic form of Stats.
type counters struct {
	remoteErrors, outages, failedOpen, failedClosed atomic.Uint64
}

func (c *counters) read() Stats {
	return Stats{
		RemoteErrors: c.remoteErrors.Load(),
		Outages:      c.outages.Load(),
		FailedOpen:   c.failedOpen.Load(),
		FailedClosed: c.failedClosed.Load(),
	}
}

// totals aggregates the counters of every Failover in the process.
var totals counters

// Totals returns the counters summed over every Failover of the process,
// for metrics.
func Totals() Stats { return totals.read() }
