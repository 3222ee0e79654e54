package airatelimit

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkMemoryAdmitSettle is one request's work on the memory backend:
// an admission and a settlement, over 1000 keys.
func BenchmarkMemoryAdmitSettle(b *testing.B) {
	m := newMemory(1_000_000, 1_000_000_000, time.Minute, nil)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "ai:consumer:c" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		m.admit(k, 500)
		m.settle(k, 300)
		i++
	}
}
