package ai

import (
	"crypto/sha256"
	"encoding/hex"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// Registry keeps AI state that must survive config reloads: each provider
// key's cooldown. Keys are found by provider name and a digest of the key,
// so a reload that keeps a key keeps its state, and the key itself is
// never a map key.
type Registry struct {
	mu   sync.Mutex
	keys map[string]*keyState
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{keys: map[string]*keyState{}} }

// keyState is one provider key's health.
type keyState struct {
	coolUntil atomic.Int64 // unix nanoseconds; 0 or past: usable
	failures  atomic.Int64 // consecutive auth failures, for growing cooldowns
}

func (r *Registry) key(provider, key string) *keyState {
	sum := sha256.Sum256([]byte(key))
	id := provider + "\x00" + hex.EncodeToString(sum[:8])
	r.mu.Lock()
	defer r.mu.Unlock()
	ks := r.keys[id]
	if ks == nil {
		ks = &keyState{}
		r.keys[id] = ks
	}
	return ks
}

// pool rotates through a provider's keys, skipping keys that are cooling
// down after a 429 or a rejected credential.
type pool struct {
	keys  []string
	state []*keyState
	next  atomic.Uint32
}

func newPool(reg *Registry, provider string, keys []string) *pool {
	p := &pool{keys: keys, state: make([]*keyState, len(keys))}
	for i, k := range keys {
		p.state[i] = reg.key(provider, k)
	}
	return p
}

// pick returns a usable key (round robin) and its index; ok is false when
// every key is cooling down, in which case wait is how long until the
// first one recovers. A pool without keys yields "" (keyless providers
// such as a local Ollama).
func (p *pool) pick(now time.Time, tried keySet) (key string, idx int, wait time.Duration, ok bool) {
	n := len(p.keys)
	if n == 0 {
		return "", -1, 0, true
	}
	start := int(p.next.Add(1) - 1)
	soonest := time.Duration(1<<63 - 1)
	for i := 0; i < n; i++ {
		j := (start + i) % n
		if tried.has(j) {
			continue
		}
		until := p.state[j].coolUntil.Load()
		if until <= now.UnixNano() {
			return p.keys[j], j, 0, true
		}
		soonest = min(soonest, time.Duration(until-now.UnixNano()))
	}
	if soonest == time.Duration(1<<63-1) {
		soonest = 0
	}
	return "", -1, soonest, false
}

// cool puts key idx out of rotation for d.
func (p *pool) cool(idx int, now time.Time, d time.Duration) {
	if idx < 0 {
		return
	}
	until := now.Add(d).UnixNano()
	for {
		cur := p.state[idx].coolUntil.Load()
		if cur >= until || p.state[idx].coolUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// authFailed cools a key whose credential was rejected, for longer each
// consecutive time (base, 2×base... up to 1h), since a revoked key rarely
// recovers soon but a key can be fixed at the provider.
func (p *pool) authFailed(idx int, now time.Time, base time.Duration) {
	if idx < 0 {
		return
	}
	n := p.state[idx].failures.Add(1)
	d := base << min(n-1, 6)
	p.cool(idx, now, min(d, time.Hour))
}

// succeeded resets a key's failure streak.
func (p *pool) succeeded(idx int) {
	if idx >= 0 && p.state[idx].failures.Load() != 0 {
		p.state[idx].failures.Store(0)
	}
}

// keySet is the set of key indexes one request has tried on a target (a
// request tries at most maxKeysPerCall keys, so 64 bits are plenty; keys
// past the 64th are never marked).
type keySet uint64

func (s keySet) has(i int) bool { return i < 64 && s&(1<<i) != 0 }

func (s *keySet) add(i int) {
	if i >= 0 && i < 64 {
		*s |= 1 << i
	}
}

func (s keySet) len() int { return bits.OnesCount64(uint64(s)) }
