package ratelimit

import (
	"hash/maphash"
	"strconv"
	"sync"

	"github.com/sluicegw/sluice/internal/plugin"
	rl "github.com/sluicegw/sluice/internal/ratelimit"
)

// numbers holds the header values "0" to "1024", each a one-element slice
// with no spare capacity, so that setting a header to a small number
// allocates nothing and an append by a later plugin copies rather than
// writes into the shared array. Nothing may change their elements.
var numbers = func() (t [1025][]string) {
	for i := range t {
		t[i] = []string{strconv.Itoa(i)}
	}
	return t
}()

// number returns n as a header value.
func number(n int64) []string {
	if n >= 0 && n < int64(len(numbers)) {
		return numbers[n]
	}
	return []string{strconv.FormatInt(n, 10)}
}

// decisionTable carries each admitted request's decision from Access to the
// Response hook that writes its headers, keyed by the request's plugin.Ctx
// (which lives, at one address, for the whole request). plugin.Ctx has no
// per-plugin slot for this; Log removes the entry, so the table holds only
// requests in flight. Sharded so requests on different cores rarely meet.
type decisionTable struct {
	seed   maphash.Seed
	shards [decisionShards]decisionShard
}

const decisionShards = 32

type decisionShard struct {
	mu sync.Mutex
	m  map[*plugin.Ctx]rl.Decision
	_  [48]byte
}

var decisions = newDecisionTable()

func newDecisionTable() *decisionTable {
	t := &decisionTable{seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].m = map[*plugin.Ctx]rl.Decision{}
	}
	return t
}

func (t *decisionTable) shard(c *plugin.Ctx) *decisionShard {
	return &t.shards[maphash.Comparable(t.seed, c)%decisionShards]
}

func (t *decisionTable) put(c *plugin.Ctx, d rl.Decision) {
	s := t.shard(c)
	s.mu.Lock()
	s.m[c] = d
	s.mu.Unlock()
}

func (t *decisionTable) get(c *plugin.Ctx) (rl.Decision, bool) {
	s := t.shard(c)
	s.mu.Lock()
	d, ok := s.m[c]
	s.mu.Unlock()
	return d, ok
}

func (t *decisionTable) drop(c *plugin.Ctx) {
	s := t.shard(c)
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}
