package airatelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

// memory keeps the buckets of one instance in this process: a fixed number
// of shards, each a mutex and a map from key to state. Idle keys expire
// without a background goroutine: a key whose two TATs have passed is
// equivalent to no key, so an insert that finds its shard at twice its size
// after the last sweep drops every such key first.
type memory struct {
	r      rates
	seed   maphash.Seed
	now    func() int64
	shards [memShards]memShard
}

const (
	memShards     = 16
	memSweepFloor = 64
)

type memShard struct {
	mu      sync.Mutex
	m       map[string]*state
	sweepAt int
}

// processStart is the origin of the memory clock.
var processStart = time.Now()

// newMemory returns a memory store for the limits in ns ticks. clock, when
// not nil, replaces the process's monotonic clock (ns since any origin
// after 0).
func newMemory(requests, tokens int64, window time.Duration, clock func() int64) *memory {
	m := &memory{r: newRates(requests, tokens, window, time.Nanosecond), seed: maphash.MakeSeed(), now: clock}
	if m.now == nil {
		// One second back so that no real time is 0, a full bucket's TAT.
		m.now = func() int64 { return int64(time.Since(processStart) + time.Second) }
	}
	for i := range m.shards {
		m.shards[i].m = map[string]*state{}
		m.shards[i].sweepAt = memSweepFloor
	}
	return m
}

func (m *memory) shard(key string) *memShard {
	return &m.shards[maphash.String(m.seed, key)%memShards]
}

// admit implements backend.
func (m *memory) admit(key string, est int64) decision {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.now()
	st := s.m[key]
	if st == nil {
		var fresh state
		d := m.r.admit(&fresh, now, est)
		if d.allowed {
			s.insert(key, fresh, now)
		}
		return d
	}
	return m.r.admit(st, now, est)
}

// settle implements backend.
func (m *memory) settle(key string, delta int64) {
	if delta == 0 {
		return
	}
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.now()
	st := s.m[key]
	if st == nil {
		var fresh state
		if m.r.settle(&fresh, now, delta) > 0 {
			s.insert(key, fresh, now)
		}
		return
	}
	m.r.settle(st, now, delta)
}

// insert adds key, sweeping the shard first when it has doubled since the
// last sweep. The caller holds s.mu.
func (s *memShard) insert(key string, st state, now int64) {
	if len(s.m) >= s.sweepAt {
		for k, e := range s.m {
			if e.req <= now && e.tok <= now {
				delete(s.m, k)
			}
		}
		s.sweepAt = max(2*len(s.m), memSweepFloor)
	}
	s.m[key] = &st
}

// size returns the number of keys holding state, for tests.
func (m *memory) size() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
