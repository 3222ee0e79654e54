package upstream

import (
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// benchUpstream builds an upstream of n targets with mixed weights, passive
// health on and a connection limit that is never reached.
func benchUpstream(b *testing.B, balancer string, n int) *Upstream {
	r := NewRegistry(slog.New(slog.DiscardHandler))
	b.Cleanup(r.Close)
	weights := make([]int, n)
	for i := range weights {
		weights[i] = 1 + i%3
	}
	ups, err := r.Apply([]Spec{{Name: "api", Balancer: balancer, MaxConnections: 1 << 20,
		Targets: targetSpecs(weights...), Passive: &PassiveSpec{Unhealthy: 5, Cooldown: time.Second}}})
	if err != nil {
		b.Fatal(err)
	}
	r.Commit(ups)
	return ups["api"]
}

// BenchmarkPick measures one request's balancer work: Pick, Report and
// Release, on one goroutine and on all of them.
func BenchmarkPick(b *testing.B) {
	for _, bal := range []string{RoundRobin, LeastConn, Hash, Latency} {
		for _, n := range []int{3, 20} {
			name := fmt.Sprintf("%s/targets=%d", bal, n)
			b.Run(name, func(b *testing.B) {
				u := benchUpstream(b, bal, n)
				b.ReportAllocs()
				var key uint64
				for b.Loop() {
					key += 0x9e3779b97f4a7c15
					t, err := u.Pick(key, true, nil)
					if err != nil {
						b.Fatal(err)
					}
					t.Report(Result{Latency: time.Millisecond})
					t.Release()
				}
			})
			b.Run(name+"/parallel", func(b *testing.B) {
				u := benchUpstream(b, bal, n)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					var key uint64
					for pb.Next() {
						key += 0x9e3779b97f4a7c15
						t, err := u.Pick(key, true, nil)
						if err != nil {
							b.Error(err)
							return
						}
						t.Report(Result{Latency: time.Millisecond})
						t.Release()
					}
				})
			})
		}
	}
}

// BenchmarkPickRetry measures a retry's Pick, which skips a tried target.
func BenchmarkPickRetry(b *testing.B) {
	u := benchUpstream(b, RoundRobin, 3)
	tried := []*Target{u.targets[0]}
	b.ReportAllocs()
	for b.Loop() {
		t, err := u.Pick(0, false, tried)
		if err != nil {
			b.Fatal(err)
		}
		t.Release()
	}
}
