package ratelimit

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/ratelimit/redistest"
)

// benchRate never refuses at benchmark speeds, so every call takes the
// admitting path.
var benchRate = Rate{Limit: 1_000_000, Window: time.Second}

// BenchmarkMemoryAllow measures one decision on a key that has state:
// serially, in parallel on one hot key (one shard's lock), and in parallel
// on a key per goroutine.
func BenchmarkMemoryAllow(b *testing.B) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		m := newTestMemory(b, benchRate, nil)
		b.ReportAllocs()
		for b.Loop() {
			m.Allow(ctx, "route:orders:ip:192.0.2.1", 1)
		}
	})
	b.Run("serial-bytes", func(b *testing.B) {
		m := newTestMemory(b, benchRate, nil)
		key := []byte("route:orders:ip:192.0.2.1")
		b.ReportAllocs()
		for b.Loop() {
			m.AllowBytes(ctx, key, 1)
		}
	})
	b.Run("parallel-one-key", func(b *testing.B) {
		m := newTestMemory(b, benchRate, nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.Allow(ctx, "route:orders:ip:192.0.2.1", 1)
			}
		})
	})
	b.Run("parallel-many-keys", func(b *testing.B) {
		m := newTestMemory(b, benchRate, nil)
		var n atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			key := "route:orders:ip:192.0.2." + strconv.FormatInt(n.Add(1), 10)
			for pb.Next() {
				m.Allow(ctx, key, 1)
			}
		})
	})
}

// BenchmarkRedisAllow measures one decision on the test Redis: one script
// call per decision, serially (round-trip latency) and in parallel.
func BenchmarkRedisAllow(b *testing.B) {
	c := redistest.Client(b)
	prefix := redistest.Prefix(b, c)
	l := newTestRedis(b, c, benchRate, prefix, time.Second)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Allow(ctx, "k", 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := l.Allow(ctx, "k", 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
