package upstream

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// latencyDecay is the time constant, in nanoseconds, of the peak-EWMA: an
// observation's weight falls to 1/e after this long. An estimate also
// decays towards zero while no request reports, so a target that was slow
// once is tried again eventually.
const latencyDecay = 10e9

// latencyEWMA is a peak-sensitive, time-decayed moving average of response
// latency (Finagle's and linkerd's peak EWMA): a sample above the current
// estimate replaces it at once, a lower one pulls it down with a weight that
// grows with the time since the previous sample.
// Writers serialise on mu; readers load the two atomics without locking.
type latencyEWMA struct {
	mu    sync.Mutex
	value atomic.Uint64 // float64 bits, nanoseconds
	stamp atomic.Int64  // clock of the last observation; 0 = never observed
}

// observe folds one request's latency into the estimate at time now. A
// failed request counts as at least twice the current estimate, so a
// target that fails fast does not look fast; a failure of unknown latency
// on a target without an estimate is ignored rather than taken as zero.
func (l *latencyEWMA) observe(now int64, rtt float64, failed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := math.Float64frombits(l.value.Load())
	stamp := l.stamp.Load()
	if failed {
		if stamp == 0 && rtt <= 0 {
			return
		}
		rtt = max(rtt, 2*v)
	}
	next := rtt
	if stamp != 0 && rtt <= v {
		w := min(math.Exp(-float64(now-stamp)/latencyDecay), 1)
		next = v*w + rtt*(1-w)
	}
	l.value.Store(math.Float64bits(next))
	l.stamp.Store(now)
}

// estimate returns the estimate decayed for staleness to time now, and
// false when no latency was ever observed.
func (l *latencyEWMA) estimate(now int64) (float64, bool) {
	stamp := l.stamp.Load()
	if stamp == 0 {
		return 0, false
	}
	v := math.Float64frombits(l.value.Load())
	if d := now - stamp; d > 0 {
		v *= math.Exp(-float64(d) / latencyDecay)
	}
	return v, true
}

// cheaper reports whether a costs strictly less than b for the latency
// balancer, with cost = latency estimate × (in-flight + 1). A target with no
// estimate yet is optimistic: it is assumed twice as fast as the other one,
// or, when neither has an estimate, the one with fewer requests in flight
// is cheaper.
func cheaper(a, b *Target, now int64) bool {
	ea, oka := a.lat.estimate(now)
	eb, okb := b.lat.estimate(now)
	la := float64(a.inflight.Load() + 1)
	lb := float64(b.inflight.Load() + 1)
	switch {
	case !oka && !okb:
		return la < lb
	case !oka:
		ea = eb / 2
	case !okb:
		eb = ea / 2
	}
	return ea*la < eb*lb
}

// pickLatency is power of two choices over peak-EWMA cost: it draws two
// distinct pickable targets at random in proportion to their weights and
// takes the cheaper one; on a tie the first drawn wins, so with equal costs
// traffic follows the weights.
func (u *Upstream) pickLatency(tried []*Target, c *instant) (*Target, bool) {
	if u.totalWeight == 0 {
		return nil, false
	}
	now := c.get()
	for range u.maxAttempts() {
		best := -1
		full := false
		if a := u.draw(tried, c, -1); a >= 0 {
			if b := u.draw(tried, c, a); b >= 0 {
				best = a
				if cheaper(u.targets[b], u.targets[a], now) {
					best = b
				}
			}
		}
		if best < 0 {
			// Few pickable targets, or unlucky draws: compare them all.
			best, full = u.cheapest(tried, c, now)
			if best < 0 {
				return nil, full
			}
		}
		t := u.targets[best]
		if t.acquire(u.maxConns, c) == availOK {
			return t, false
		}
	}
	return nil, true
}

// drawTries is how many random draws pickLatency makes for each of its two
// candidates before falling back to a scan.
const drawTries = 3

// draw returns the index of a pickable target other than not, drawn with
// probability proportional to weight, or -1 when drawTries draws found none.
func (u *Upstream) draw(tried []*Target, c *instant, not int) int {
	for range drawTries {
		r := rand.Uint64N(u.totalWeight)
		lo, hi := 0, len(u.cumWeights)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if u.cumWeights[m] <= r {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if lo == not || contains(tried, u.targets[lo]) || u.targets[lo].check(u.maxConns, c) != availOK {
			continue
		}
		return lo
	}
	return -1
}

// cheapest returns the index of the cheapest pickable target, or -1 and
// whether a target that is up was full.
func (u *Upstream) cheapest(tried []*Target, c *instant, now int64) (int, bool) {
	best, full := -1, false
	for i, t := range u.targets {
		if !u.eligible(i, tried, c, &full) {
			continue
		}
		if best < 0 || cheaper(t, u.targets[best], now) {
			best = i
		}
	}
	return best, full
}
