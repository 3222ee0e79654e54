package ratelimit

// PendingDecisions returns how many admitted requests' decisions are
// waiting for their response head, for tests that check nothing leaks.
func PendingDecisions() int {
	n := 0
	for i := range decisions.shards {
		s := &decisions.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// SameCounters reports whether two instances count in the same limiter.
func SameCounters(a, b *Limit) bool {
	if a.mem != nil || b.mem != nil {
		return a.mem == b.mem
	}
	return a.lim == b.lim
}
