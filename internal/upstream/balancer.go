package upstream

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// pickRoundRobin is nginx's smooth weighted round robin: each pickable
// target's current weight grows by its weight, the largest wins (the first
// one on a tie) and loses the sum of the weights. Over any window the
// picks follow the weights and are spread out: 5,1,1 gives a a b a c a a.
// The state is per Upstream and guarded by a mutex.
func (u *Upstream) pickRoundRobin(tried []*Target, c *instant) (*Target, bool) {
	u.wrr.mu.Lock()
	defer u.wrr.mu.Unlock()
	cur := u.wrr.current
	full := false
	for range u.maxAttempts() {
		best := -1
		var total int64
		for i := range u.targets {
			if !u.eligible(i, tried, c, &full) {
				continue
			}
			w := u.weights[i]
			cur[i] += w
			total += w
			if best < 0 || cur[i] > cur[best] {
				best = i
			}
		}
		if best < 0 {
			return nil, full
		}
		// The turn is spent even if the slot was lost to a concurrent
		// Pick, which keeps the current weights summing to zero.
		cur[best] -= total
		t := u.targets[best]
		switch t.acquire(u.maxConns, c) {
		case availOK:
			return t, false
		case availFull:
			full = true
		}
	}
	return nil, true
}

// pickLeastConn picks the pickable target with the fewest requests in
// flight per unit of weight. Ties are broken at random in proportion to
// weight, so equally loaded targets share traffic by weight rather than the
// first one taking it all.
func (u *Upstream) pickLeastConn(tried []*Target, c *instant) (*Target, bool) {
	full := false
	for range u.maxAttempts() {
		best := -1
		var bestLoad, bestW, tieW int64
		for i := range u.targets {
			if !u.eligible(i, tried, c, &full) {
				continue
			}
			w := u.weights[i]
			load := u.targets[i].inflight.Load()
			// load/w against bestLoad/bestW, without division.
			switch l, r := load*bestW, bestLoad*w; {
			case best < 0 || l < r:
				best, bestLoad, bestW, tieW = i, load, w, w
			case l == r:
				tieW += w
				if rand.Int64N(tieW) < w {
					best, bestLoad, bestW = i, load, w
				}
			}
		}
		if best < 0 {
			return nil, full
		}
		t := u.targets[best]
		switch t.acquire(u.maxConns, c) {
		case availOK:
			return t, false
		case availFull:
			full = true
		}
	}
	return nil, true
}

// ringPointsPerTarget is the number of points a target of average weight
// has on the hash ring; others have proportionally more or fewer (at least
// one). More points spread keys more evenly at the cost of memory.
const ringPointsPerTarget = 256

// hashRing is a consistent hash ring: sorted points, each owned by a target.
// A key belongs to the first point at or after its hash, wrapping around.
// Point positions depend only on the target's URL and weight relative to the
// average, so every gateway node builds the same ring, and adding or
// removing one of n equally weighted targets moves only about 1/n of keys.
type hashRing struct {
	points  []uint64
	owners  []int32 // index into Upstream.targets, per point
	targets int     // number of distinct owners
}

// buildRing builds the ring for targets with the given identity keys and
// weights. Targets of weight 0 have no points.
func buildRing(keys []string, weights []int64) hashRing {
	var sum, n int64
	for _, w := range weights {
		if w > 0 {
			sum += w
			n++
		}
	}
	if n == 0 {
		return hashRing{}
	}
	mean := float64(sum) / float64(n)
	type point struct {
		hash  uint64
		owner int32
	}
	var pts []point
	for i, w := range weights {
		if w == 0 {
			continue
		}
		count := max(1, int(math.Round(ringPointsPerTarget*float64(w)/mean)))
		buf := make([]byte, 0, len(keys[i])+8)
		for j := range count {
			buf = strconv.AppendInt(append(append(buf[:0], keys[i]...), '#'), int64(j), 10)
			pts = append(pts, point{hash: mix64(fnv1a(buf)), owner: int32(i)})
		}
	}
	// Ties (vanishingly rare) are broken by target identity, not by spec
	// order, so that reordering the targets in the config moves no key.
	slices.SortFunc(pts, func(a, b point) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(keys[a.owner], keys[b.owner])
	})
	r := hashRing{points: make([]uint64, len(pts)), owners: make([]int32, len(pts)), targets: int(n)}
	for i, p := range pts {
		r.points[i], r.owners[i] = p.hash, p.owner
	}
	return r
}

// pickHash walks the ring from the key's point and takes the first target
// that is pickable and not in tried, so a down or full target's keys go to
// the next target on the ring while the other keys stay where they are.
func (u *Upstream) pickHash(key uint64, tried []*Target, c *instant) (*Target, bool) {
	r := &u.ring
	n := len(r.points)
	if n == 0 {
		return nil, false
	}
	h := mix64(key)
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.points[m] < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	// seen skips targets already turned down for the first 256 indexes
	// and stops the walk once every target was; beyond 256 targets the
	// walk may visit one several times, which is only slower.
	var seen [4]uint64
	rejected := 0
	full := false
	for k := range n {
		i := lo + k
		if i >= n {
			i -= n
		}
		o := r.owners[i]
		if o < 256 && seen[o>>6]&(1<<(o&63)) != 0 {
			continue
		}
		t := u.targets[o]
		if !contains(tried, t) {
			switch t.acquire(u.maxConns, c) {
			case availOK:
				return t, false
			case availFull:
				full = true
			}
		}
		if o < 256 {
			seen[o>>6] |= 1 << (o & 63)
			if rejected++; rejected == r.targets {
				break
			}
		}
	}
	return nil, full
}

// fnv1a is the 64-bit FNV-1a hash.
func fnv1a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// mix64 is the splitmix64 finaliser: it spreads the bits of a key hashed by
// a weak function (FNV-1a, say) over the whole ring.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// eligible reports whether target i may be picked now: it has weight, was
// not tried yet, and is up with a free connection slot. A target that is up
// but at its connection limit sets *full.
func (u *Upstream) eligible(i int, tried []*Target, c *instant, full *bool) bool {
	t := u.targets[i]
	if u.weights[i] == 0 || contains(tried, t) {
		return false
	}
	switch t.check(u.maxConns, c) {
	case availDown:
		return false
	case availFull:
		*full = true
		return false
	}
	return true
}
