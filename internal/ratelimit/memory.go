package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// Memory is a Limiter whose state lives in this process: a fixed number of
// shards, each a mutex and a map from key to the key's TAT. Deciding on a
// key that already has state allocates nothing.
//
// Idle keys expire without a background goroutine: a key whose TAT has
// passed is equivalent to a key with no state, so when inserting a key into
// a shard finds the shard at twice its size after the last sweep, the shard
// drops every such key first. A shard therefore holds at most twice the
// keys that are live (TAT in the future) at its last sweep, plus a small
// floor, and the cost of sweeping is amortised over the inserts.
type Memory struct {
	g      gcra
	seed   maphash.Seed
	now    func() time.Duration
	shards [memShards]memShard
}

const (
	memShards = 64 // a power of two
	// memSweepFloor is the shard size below which no sweep runs.
	memSweepFloor = 128
)

// memShard is one lock's worth of keys, padded to its own cache line.
type memShard struct {
	mu      sync.Mutex
	m       map[string]*memEntry
	sweepAt int // the size at which the next insert sweeps
	_       [40]byte
}

// memEntry is a key's state: its TAT in nanoseconds of the Memory's clock.
type memEntry struct{ tat int64 }

// MemoryOptions tune a Memory limiter; the zero value is the production
// setting.
type MemoryOptions struct {
	// Clock returns the current time as a monotonic duration since any
	// fixed origin; nil uses the process's monotonic clock. Tests pass a
	// fake one.
	Clock func() time.Duration
}

// processStart is the origin of the default clock.
var processStart = time.Now()

// NewMemory returns a Memory limiter enforcing r.
func NewMemory(r Rate, opts MemoryOptions) (*Memory, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	m := &Memory{g: newGCRA(r, time.Nanosecond), seed: maphash.MakeSeed(), now: opts.Clock}
	if m.now == nil {
		// The origin sits one second back so that no real time is 0, the
		// TAT of a key with no state.
		m.now = func() time.Duration { return time.Since(processStart) + time.Second }
	}
	for i := range m.shards {
		m.shards[i].m = map[string]*memEntry{}
		m.shards[i].sweepAt = memSweepFloor
	}
	return m, nil
}

var (
	_ Limiter      = (*Memory)(nil)
	_ BytesLimiter = (*Memory)(nil)
)

// Allow implements Limiter. ctx is not used: a decision never waits.
func (m *Memory) Allow(_ context.Context, key string, cost int64) (Decision, error) {
	if err := m.g.checkCost(cost); err != nil {
		return Decision{}, err
	}
	s := &m.shards[maphash.String(m.seed, key)&(memShards-1)]
	s.mu.Lock()
	now := int64(m.now())
	d, next, add := m.step(s.m[key], now, cost)
	if add {
		s.insert(key, next, now)
	}
	s.mu.Unlock()
	return d, nil
}

// AllowBytes implements BytesLimiter: it copies key only when the key is
// new.
func (m *Memory) AllowBytes(_ context.Context, key []byte, cost int64) (Decision, error) {
	if err := m.g.checkCost(cost); err != nil {
		return Decision{}, err
	}
	s := &m.shards[maphash.Bytes(m.seed, key)&(memShards-1)]
	s.mu.Lock()
	now := int64(m.now())
	d, next, add := m.step(s.m[string(key)], now, cost)
	if add {
		s.insert(string(key), next, now)
	}
	s.mu.Unlock()
	return d, nil
}

// step decides on the key whose entry is e (nil for a key with no state),
// updating e. For a key with no state it returns the TAT to store and
// whether to store it: only a key that now has a debt needs state, so cost
// 0 leaves none. The caller holds the shard's lock.
func (m *Memory) step(e *memEntry, now, cost int64) (Decision, int64, bool) {
	var tat int64
	if e != nil {
		tat = e.tat
	}
	next, d := m.g.decide(tat, now, cost)
	if e != nil {
		e.tat = next
		return d, next, false
	}
	return d, next, next > now
}

// insert adds a key with TAT tat, sweeping the shard first when it has
// doubled since the last sweep. The caller holds s.mu.
func (s *memShard) insert(key string, tat, now int64) {
	if len(s.m) >= s.sweepAt {
		s.sweep(now)
	}
	s.m[key] = &memEntry{tat: tat}
}

// sweep drops the keys whose TAT has passed and sets the size of the next
// sweep. When most keys went, the map is rebuilt so that its memory is
// returned too. The caller holds s.mu.
func (s *memShard) sweep(now int64) {
	before := len(s.m)
	for k, e := range s.m {
		if e.tat <= now {
			delete(s.m, k)
		}
	}
	if n := len(s.m); n < before/4 {
		fresh := make(map[string]*memEntry, n)
		for k, e := range s.m {
			fresh[k] = e
		}
		s.m = fresh
	}
	s.sweepAt = max(2*len(s.m), memSweepFloor)
}

// Len returns the number of keys holding state, expired or not. It is for
// tests and metrics.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
