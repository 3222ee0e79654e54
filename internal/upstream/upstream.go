// Package upstream holds the long-lived runtime state of upstreams: their
// targets, the balancers that choose among them, active and passive health,
// and per-target connection-slot accounting.
//
// A Registry turns each config snapshot's upstream specs into Upstreams,
// reusing the Target objects of the previous snapshot so that connection
// pools, health state and counters survive a reload. The proxy engine calls
// Upstream.Pick, Target.Report and Target.Release on every request; those
// calls are safe for concurrent use and do not allocate.
package upstream

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Errors returned by Upstream.Pick. Callers decide with errors.Is.
var (
	// ErrNoHealthy means every target that takes traffic is down (failed
	// active probes, ejected by passive health, or in probation with its
	// trial request already running): nothing may be dialled.
	ErrNoHealthy = errors.New("upstream: no healthy target")

	// ErrOverloaded means some targets are up but every one of them is at
	// MaxConnections.
	ErrOverloaded = errors.New("upstream: every healthy target is at max_connections")
)

// The balancer names accepted in Spec.Balancer.
const (
	RoundRobin = "round_robin"
	LeastConn  = "least_conn"
	Hash       = "hash"
	Latency    = "latency"
)

// Spec describes one upstream, converted from config by the caller. A Spec
// is read by Registry.Apply and not retained: later changes to it (or to the
// slices it holds) have no effect.
type Spec struct {
	// Name identifies the upstream; it is unique within one Apply.
	Name string
	// Targets are the upstream's backends. An upstream without targets is
	// valid; Pick then returns ErrNoHealthy.
	Targets []TargetSpec
	// Balancer is RoundRobin (also when empty), LeastConn, Hash or Latency.
	Balancer string
	// MaxConnections caps the requests in flight on each target; 0 means
	// unlimited.
	MaxConnections int
	// MaxIdle and IdleTimeout configure each target's Pool (see NewPool).
	MaxIdle     int
	IdleTimeout time.Duration
	// Active enables periodic probes of every target; nil disables them.
	Active *ActiveSpec
	// Passive enables ejection of targets that fail real traffic; nil
	// disables it.
	Passive *PassiveSpec
}

// TargetSpec is one backend of a Spec.
type TargetSpec struct {
	// URL is scheme://host[:port] with scheme http or https, no
	// credentials, path, query or fragment. The port defaults from the
	// scheme.
	URL string
	// Weight is the target's share of traffic, 0..MaxWeight; 0 means the
	// target is never picked.
	Weight int
}

// MaxWeight is the largest weight a target may have.
const MaxWeight = 1_000_000

// ActiveSpec configures active health checks: an HTTP GET of Path on every
// target each Interval.
type ActiveSpec struct {
	// Path is the probed path and query; it starts with "/".
	Path string
	// Interval is the time between the starts of two probes; > 0.
	Interval time.Duration
	// Timeout bounds one probe, connect included; > 0.
	Timeout time.Duration
	// Healthy is the number of consecutive successful probes that bring an
	// unhealthy target back; >= 1.
	Healthy int
	// Unhealthy is the number of consecutive failed probes that take a
	// healthy target out; >= 1.
	Unhealthy int
	// Statuses are the response statuses that count as success; empty
	// means 200..399. Redirects are not followed.
	Statuses []int
	// TLS is the client configuration for probes of https targets; nil
	// means the system roots and the target's host name. It is compared by
	// pointer when deciding whether a prober must be restarted on reload.
	TLS *tls.Config
}

// PassiveSpec configures passive health: Unhealthy consecutive failed
// requests eject a target for Cooldown; then one trial request at a time is
// let through until one succeeds (the target is healthy again) or fails
// (it is ejected for another Cooldown).
type PassiveSpec struct {
	// Unhealthy is the number of consecutive failed requests that eject a
	// target; >= 1.
	Unhealthy int
	// Cooldown is how long an ejected target takes no traffic; > 0.
	Cooldown time.Duration
}

// Result is the outcome of one request to a target, reported by the proxy
// engine with Target.Report.
type Result struct {
	// Failed is true for a transport failure or a 5xx response.
	Failed bool
	// Latency is the time from sending the request to the response head;
	// <= 0 means unknown, and is not fed to the latency estimate.
	Latency time.Duration
}

type balancerKind uint8

const (
	balRoundRobin balancerKind = iota
	balLeastConn
	balHash
	balLatency
)

var balancerNames = [...]string{
	balRoundRobin: RoundRobin,
	balLeastConn:  LeastConn,
	balHash:       Hash,
	balLatency:    Latency,
}

// Upstream is one upstream of a config snapshot: its targets and the state
// of its balancer. It is immutable apart from that state, and safe for
// concurrent use. Upstreams are built by Registry.Apply.
type Upstream struct {
	// Name is the upstream's name from its Spec.
	Name string

	targets  []*Target
	weights  []int64 // per target, as in the spec
	kind     balancerKind
	maxConns int64 // 0 = unlimited
	now      func() int64

	maxIdle     int
	idleTimeout time.Duration
	active      *ActiveSpec // a private copy; nil = no active checks
	passive     *PassiveSpec

	wrr wrrState // round_robin, and hash without a key
	// hash
	ring hashRing
	// latency: cumulative weights for weighted random draws
	cumWeights  []uint64
	totalWeight uint64
}

// Targets returns the upstream's targets in spec order. The slice is a copy
// that the caller owns; the Targets are shared.
func (u *Upstream) Targets() []*Target {
	return append([]*Target(nil), u.targets...)
}

// Balancer returns the name of the upstream's balancer.
func (u *Upstream) Balancer() string { return balancerNames[u.kind] }

// Pick chooses a target for one request attempt and takes a connection slot
// on it; the caller must call Release on the returned Target exactly once
// when the attempt is over, and should call Report before that with the
// attempt's outcome.
//
// Pick skips targets of weight 0 and targets that are down (active or
// passive health), and respects MaxConnections. It prefers targets that are
// not in tried, so retries go elsewhere when possible, but returns a target
// from tried when no other one is available. key is the hash balancer's key
// when hasKey is true; the hash balancer without a key, and the other
// balancers always, ignore it. Pick returns ErrNoHealthy when every target
// is down and ErrOverloaded when the targets that are up are all full.
func (u *Upstream) Pick(key uint64, hasKey bool, tried []*Target) (*Target, error) {
	c := instant{now: u.now}
	if len(tried) > 0 {
		if t, _ := u.pick(key, hasKey, tried, &c); t != nil {
			return t, nil
		}
	}
	t, full := u.pick(key, hasKey, nil, &c)
	switch {
	case t != nil:
		return t, nil
	case full:
		return nil, ErrOverloaded
	default:
		return nil, ErrNoHealthy
	}
}

// pick runs the balancer once, skipping the targets in tried. It returns the
// target whose slot it took, or nil and whether any target that is up was
// full.
func (u *Upstream) pick(key uint64, hasKey bool, tried []*Target, c *instant) (*Target, bool) {
	switch u.kind {
	case balLeastConn:
		return u.pickLeastConn(tried, c)
	case balHash:
		if hasKey {
			return u.pickHash(key, tried, c)
		}
		return u.pickRoundRobin(tried, c)
	case balLatency:
		return u.pickLatency(tried, c)
	default:
		return u.pickRoundRobin(tried, c)
	}
}

// maxAttempts bounds how often a balancer re-runs after losing a race for
// a slot it had seen free; beyond it the upstream is treated as full.
func (u *Upstream) maxAttempts() int { return len(u.targets) + 2 }

// contains reports whether t is in tried.
func contains(tried []*Target, t *Target) bool {
	for _, x := range tried {
		if x == t {
			return true
		}
	}
	return false
}

// instant reads the clock at most once per Pick, and only when needed.
type instant struct {
	now func() int64
	v   int64
}

func (c *instant) get() int64 {
	if c.v == 0 {
		c.v = c.now()
	}
	return c.v
}

// epoch anchors monotonic so that its values are small and positive.
var epoch = time.Now()

// monotonic returns nanoseconds on the monotonic clock, always > 0.
func monotonic() int64 { return int64(time.Since(epoch)) + 1 }

// discardLogger is used when NewRegistry is given a nil logger.
var discardLogger = slog.New(slog.DiscardHandler)

// wrrState is the smooth weighted round robin state of one Upstream.
type wrrState struct {
	mu      sync.Mutex
	current []int64 // per target
}
