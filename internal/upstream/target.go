package upstream

import (
	"context"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The states reported in TargetStatus.State.
const (
	// StateHealthy: the target takes traffic.
	StateHealthy = "healthy"
	// StateUnhealthy: active probes failed; no traffic until they succeed.
	StateUnhealthy = "unhealthy"
	// StateEjected: passive health took the target out for its cooldown.
	StateEjected = "ejected"
	// StateProbation: the cooldown is over; one trial request at a time is
	// let through, and its outcome decides between healthy and ejected.
	StateProbation = "probation"
)

// Target is one backend of an upstream. Its exported fields are set when it
// is built and never change. A Target outlives config reloads as long as
// its upstream keeps a target with the same URL, so its pool, health and
// counters carry over. All methods are safe for concurrent use.
type Target struct {
	// URL is the normalised target URL, scheme://host[:port], the port
	// present only when it is not the scheme's default.
	URL *url.URL
	// Addr is the host:port to dial.
	Addr string
	// Host is the Host header value for the target: the host, plus :port
	// when the port is not the scheme's default.
	Host string
	// TLS reports an https target.
	TLS bool
	// Pool holds the target's idle keep-alive connections.
	Pool *Pool
	// Name is URL as a string, for logs and the request log.
	Name string

	upstream string // the owning upstream's name, for logs
	key      string // scheme://Addr: the target's identity within its upstream
	log      *slog.Logger
	now      func() int64

	inflight atomic.Int64 // slots taken by Pick and not yet Released
	weight   atomic.Int64 // as last configured, for Status
	activeUp atomic.Bool  // false only while active probes say unhealthy
	passive  atomic.Uint64
	fails    atomic.Int64 // consecutive failed Reports

	passiveLimit atomic.Int64 // consecutive failures that eject; 0 = passive off
	cooldown     atomic.Int64 // nanoseconds

	lat latencyEWMA

	mu           sync.Mutex // guards the fields below
	prober       *prober
	retired      bool
	lastCheck    time.Time
	lastError    string
	errFromProbe bool // lastError was set by an active probe
	probeOK      int  // consecutive successful probes
	probeFails   int  // consecutive failed probes
}

// The passive word packs a target's passive health into one atomic value:
// 0 while passive health is fine; otherwise the end of the cooldown (in
// Target.now units) shifted left by passiveShift, with the low bits below.
// A word whose cooldown end has passed means probation.
const (
	probeTaken   = 1 << 0 // a probation request is in flight
	probeLogged  = 1 << 1 // the move to probation was logged
	passiveShift = 2
)

func ejectedUntil(until int64) uint64 { return uint64(until) << passiveShift }
func wordUntil(w uint64) int64        { return int64(w >> passiveShift) }

// avail is what a target can do for a Pick right now.
type avail uint8

const (
	availOK   avail = iota // pickable
	availDown              // down by health, or probation slot taken
	availFull              // up but at MaxConnections
)

// check reports whether t could be picked now, without taking anything.
func (t *Target) check(max int64, c *instant) avail {
	if !t.activeUp.Load() {
		return availDown
	}
	if w := t.passive.Load(); w != 0 && (w&probeTaken != 0 || c.get() < wordUntil(w)) {
		return availDown
	}
	if max > 0 && t.inflight.Load() >= max {
		return availFull
	}
	return availOK
}

// acquire takes a connection slot on t (and, in probation, the single trial
// slot) when t is pickable.
func (t *Target) acquire(max int64, c *instant) avail {
	if !t.activeUp.Load() {
		return availDown
	}
	w := t.passive.Load()
	if w != 0 && (w&probeTaken != 0 || c.get() < wordUntil(w)) {
		return availDown
	}
	if max > 0 {
		for {
			n := t.inflight.Load()
			if n >= max {
				return availFull
			}
			if t.inflight.CompareAndSwap(n, n+1) {
				break
			}
		}
	} else {
		t.inflight.Add(1)
	}
	for ; w != 0; w = t.passive.Load() {
		if w&probeTaken != 0 || c.get() < wordUntil(w) {
			t.inflight.Add(-1)
			return availDown
		}
		if t.passive.CompareAndSwap(w, w|probeTaken|probeLogged) {
			if w&probeLogged == 0 {
				t.transition(StateEjected, StateProbation, "cooldown over; letting one trial request through")
			}
			break
		}
	}
	return availOK
}

// Release frees the connection slot taken by Pick. It must be called exactly
// once per successful Pick, after the attempt is over (and after Report, if
// the attempt is reported).
//
// A Release in probation also frees the trial slot when no Report decided
// it, so a trial request that ended without an outcome (the client went
// away) does not keep the target out forever. A request that was already in
// flight when the target was ejected and ends unreported during probation
// frees it too, which can let a second trial request start early.
func (t *Target) Release() {
	t.inflight.Add(-1)
	if w := t.passive.Load(); w&probeTaken != 0 {
		t.passive.CompareAndSwap(w, w&^probeTaken)
	}
}

// Report feeds the outcome of one request to passive health and to the
// latency estimate used by the latency balancer. With passive health on,
// PassiveSpec.Unhealthy consecutive failures eject the target; in probation
// a success makes it healthy and a failure ejects it for another cooldown.
// Reports that arrive during a cooldown change nothing but the counters.
func (t *Target) Report(r Result) {
	if r.Latency > 0 || r.Failed {
		t.lat.observe(t.now(), float64(r.Latency), r.Failed)
	}
	if !r.Failed {
		if t.fails.Load() != 0 {
			t.fails.Store(0)
		}
		if w := t.passive.Load(); w != 0 {
			t.recover(w)
		}
		return
	}
	n := t.fails.Add(1)
	if limit := t.passiveLimit.Load(); limit > 0 {
		t.eject(n, limit)
	}
}

// recover makes a target in probation healthy after a successful request.
func (t *Target) recover(w uint64) {
	now := t.now()
	for ; w != 0; w = t.passive.Load() {
		if now < wordUntil(w) {
			return // still cooling down: the trial request decides
		}
		if t.passive.CompareAndSwap(w, 0) {
			t.clearPassiveError()
			t.transition(StateProbation, StateHealthy, "trial request succeeded")
			return
		}
	}
}

// eject takes the target out for a cooldown after its n-th consecutive
// failure, when n reaches limit or the failure was a probation request.
func (t *Target) eject(n, limit int64) {
	now := t.now()
	for {
		w := t.passive.Load()
		var from, reason string
		switch {
		case w == 0:
			if n < limit {
				return
			}
			from, reason = StateHealthy, strconv.FormatInt(n, 10)+" consecutive failed requests"
		case now < wordUntil(w):
			return // already ejected
		default:
			from, reason = StateProbation, "trial request failed"
		}
		if t.passive.CompareAndSwap(w, ejectedUntil(now+t.cooldown.Load())) {
			t.mu.Lock()
			t.lastError, t.errFromProbe = reason, false
			t.mu.Unlock()
			t.transition(from, StateEjected, reason)
			return
		}
	}
}

// clearPassiveError forgets an error recorded by passive health.
func (t *Target) clearPassiveError() {
	t.mu.Lock()
	if !t.errFromProbe {
		t.lastError = ""
	}
	t.mu.Unlock()
}

// TargetStatus is a point-in-time view of one target, for the admin API's
// health endpoint, diagnostics and logs.
type TargetStatus struct {
	URL string `json:"url"`
	// State is StateHealthy, StateUnhealthy (active probes), StateEjected
	// or StateProbation (passive health). Unhealthy wins over the others.
	State  string `json:"state"`
	Weight int    `json:"weight"`
	// Active is the number of requests in flight.
	Active int64 `json:"active"`
	// Idle is the number of idle keep-alive connections.
	Idle int `json:"idle"`
	// LastCheck is the time of the last active probe; zero when none ran.
	LastCheck time.Time `json:"last_check,omitzero"`
	// LastError describes the last probe failure or passive ejection; it
	// is cleared when the source that set it sees the target recover.
	LastError string `json:"last_error,omitempty"`
	// ConsecutiveFailures counts failed requests since the last success.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// ProbeFailures counts failed active probes since the last success.
	ProbeFailures int `json:"probe_failures"`
	// Latency is the decayed peak-EWMA of response latency; 0 when none
	// was reported.
	Latency time.Duration `json:"latency_ns"`
}

// State returns the target's health state (StateHealthy, StateProbation,
// StateEjected or StateUnhealthy) without the rest of Status: cheap enough
// for the request path, where a failed attempt records it.
func (t *Target) State() string {
	switch {
	case !t.activeUp.Load():
		return StateUnhealthy
	case t.passive.Load() == 0:
		return StateHealthy
	case t.now() < wordUntil(t.passive.Load()):
		return StateEjected
	}
	return StateProbation
}

// Status returns the target's current state.
func (t *Target) Status() TargetStatus {
	now := t.now()
	st := TargetStatus{
		URL:                 t.URL.String(),
		State:               StateHealthy,
		Weight:              int(t.weight.Load()),
		Active:              t.inflight.Load(),
		Idle:                t.Pool.Idle(),
		ConsecutiveFailures: int(t.fails.Load()),
	}
	if w := t.passive.Load(); w != 0 {
		st.State = StateProbation
		if now < wordUntil(w) {
			st.State = StateEjected
		}
	}
	if !t.activeUp.Load() {
		st.State = StateUnhealthy
	}
	if v, ok := t.lat.estimate(now); ok {
		st.Latency = time.Duration(v)
	}
	t.mu.Lock()
	st.LastCheck, st.LastError, st.ProbeFailures = t.lastCheck, t.lastError, t.probeFails
	t.mu.Unlock()
	return st
}

// transition logs a change of the target's state.
func (t *Target) transition(from, to, reason string) {
	level := slog.LevelInfo
	if to == StateUnhealthy || to == StateEjected {
		level = slog.LevelWarn
	}
	t.log.LogAttrs(context.Background(), level, "upstream target state changed",
		slog.String("upstream", t.upstream),
		slog.String("target", t.key),
		slog.String("from", from),
		slog.String("to", to),
		slog.String("reason", reason))
}
