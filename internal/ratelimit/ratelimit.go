// Package ratelimit decides whether a request may pass a rate limit. It has
// one algorithm, GCRA, and three limiters behind one interface: Memory (this
// process only), Redis (shared by every node through one atomic Lua script
// per decision) and Failover (Redis, falling back to a local Memory limiter
// or refusing while Redis is unreachable).
//
// # Semantics
//
// A Rate of Limit units per Window is enforced with the generic cell rate
// algorithm (GCRA), a token bucket without a refill timer. Each key has a
// bucket of Limit units that starts full; a request of cost n takes n units;
// units come back one every period T = Window/Limit. Precisely:
//
//   - At any instant a key may spend at most Limit units (the burst): Limit
//     concurrent requests of cost 1 against a fresh key all pass and the next
//     one is refused, however the requests interleave.
//   - Over any interval of length d the admitted cost is at most
//     Limit + floor(d/T). The sustained rate is Limit per Window; a key that
//     was idle for a whole Window may spend Limit at once and then Limit/Window
//     per unit of time, so a Window-long interval can see up to 2·Limit units
//     (the full bucket plus what refills during it).
//   - A refused request costs nothing: it does not push the key's next
//     chance further out.
//
// T is Window/Limit truncated to the limiter's clock tick (1ns for Memory,
// 1µs for Redis); the burst is exactly Limit·T, so truncation never admits
// more than Limit at once, and it raises the sustained rate by less than one
// tick per period. Rate.Validate refuses a period below 1µs (more than a
// million units per second per key).
//
// A key's whole state is its theoretical arrival time (TAT): the instant at
// which its bucket is full again. State older than that is equivalent to no
// state, which is what makes expiring idle keys exact.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Decision is the answer for one request.
type Decision struct {
	// Allowed reports whether the request may pass. A refused request
	// consumed nothing.
	Allowed bool
	// Limit is the burst: the units a key may spend at once, which is the
	// Rate's Limit.
	Limit int64
	// Remaining is how many more units of cost the key could spend right
	// now, after this decision.
	Remaining int64
	// ResetAfter is how long until the key's bucket is full again (Remaining
	// back to Limit) if nothing more is spent; 0 when it is full.
	ResetAfter time.Duration
	// RetryAfter is, for a refused request, how long until the same request
	// would pass; 0 for an allowed one.
	RetryAfter time.Duration
}

// Limiter decides requests against one Rate. Implementations are safe for
// concurrent use and exact under concurrency: decisions on one key are
// serialised, so no interleaving admits more than the Rate allows.
type Limiter interface {
	// Allow spends cost units of key's budget when it has them. cost 0
	// reports the key's state without spending; a negative cost or one
	// above the Limit is an error (ErrCost). Other errors mean no decision
	// could be made (the backend is unavailable). Allow does not keep key
	// after it returns.
	Allow(ctx context.Context, key string, cost int64) (Decision, error)
}

// BytesLimiter is implemented by limiters that take the key as bytes
// without copying it on the hot path, so callers can build keys in a reused
// buffer. AllowBytes behaves as Allow and does not keep key.
type BytesLimiter interface {
	AllowBytes(ctx context.Context, key []byte, cost int64) (Decision, error)
}

// ErrCost is returned for a negative cost or a cost above the Limit, which
// no amount of waiting would admit.
var ErrCost = errors.New("ratelimit: cost must be between 0 and the limit")

// ErrUnavailable is returned (wrapped with the cause) by a Failover that
// fails closed while its remote backend is unavailable.
var ErrUnavailable = errors.New("ratelimit: backend unavailable")

// MinPeriod is the shortest period (Window/Limit) a Rate may have: the
// Redis backend keeps time in microseconds.
const MinPeriod = time.Microsecond

// Rate is Limit units per Window.
type Rate struct {
	Limit  int64
	Window time.Duration
}

// Validate reports whether r is usable: a positive Limit and Window, and a
// period Window/Limit of at least MinPeriod.
func (r Rate) Validate() error {
	switch {
	case r.Limit <= 0:
		return fmt.Errorf("limit must be at least 1, got %d", r.Limit)
	case r.Window <= 0:
		return fmt.Errorf("window must be positive, got %s", r.Window)
	case r.Window/time.Duration(r.Limit) < MinPeriod:
		return fmt.Errorf("limit %d per %s is more than one per %s; use a longer window", r.Limit, r.Window, MinPeriod)
	}
	return nil
}

// String formats r as "100/1m0s".
func (r Rate) String() string { return fmt.Sprintf("%d/%s", r.Limit, r.Window) }
