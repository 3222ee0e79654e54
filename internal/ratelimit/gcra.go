package ratelimit

import "time"

// gcra is a Rate expressed in clock ticks of one backend. It is the one
// implementation of the algorithm in Go; redis.go's Lua script is its
// transcription and the tests hold the two to the same answers.
type gcra struct {
	tick     time.Duration // the clock unit of period and capacity
	period   int64         // ticks per unit of cost: Window/Limit, truncated
	capacity int64         // the burst in ticks: Limit·period
	limit    int64
}

// newGCRA expresses r in ticks of length tick. r must be valid.
func newGCRA(r Rate, tick time.Duration) gcra {
	period := int64(r.Window/tick) / r.Limit
	return gcra{tick: tick, period: period, capacity: period * r.Limit, limit: r.Limit}
}

// checkCost returns ErrCost for a cost no decision could admit.
func (g *gcra) checkCost(cost int64) error {
	if cost < 0 || cost > g.limit {
		return ErrCost
	}
	return nil
}

// decide applies one request of cost units at time now to a key whose
// theoretical arrival time is tat (0, or any time not after now, for a key
// with no state). It returns the key's new TAT (tat itself when the request
// is refused or costs nothing) and the decision. cost must have passed
// checkCost.
func (g *gcra) decide(tat, now, cost int64) (int64, Decision) {
	if tat < now {
		tat = now
	}
	next := tat + cost*g.period
	d := Decision{Limit: g.limit}
	if next-now <= g.capacity {
		d.Allowed = true
		tat = next
	} else {
		d.RetryAfter = time.Duration(next-g.capacity-now) * g.tick
	}
	g.fill(&d, tat-now)
	return tat, d
}

// fill sets Remaining and ResetAfter from a key's debt: its TAT minus now,
// in ticks, between 0 and capacity.
func (g *gcra) fill(d *Decision, debt int64) {
	d.Limit = g.limit
	d.Remaining = (g.capacity - debt) / g.period
	d.Remaining = max(d.Remaining, 0)
	d.ResetAfter = time.Duration(max(debt, 0)) * g.tick
}
