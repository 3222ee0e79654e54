package upstream

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSmoothWeightedRoundRobinSequence(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		want    string
	}{
		{"nginx 5 1 1", []int{5, 1, 1}, "aabacaa" + "aabacaa"},
		{"equal", []int{1, 1, 1}, "abcabc"},
		{"2 1", []int{2, 1}, "abaaba"},
		{"zero weight never picked", []int{1, 0, 1}, "acacac"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := newUpstream(t, RoundRobin, tc.weights...)
			var got strings.Builder
			for range len(tc.want) {
				tg := mustPick(t, u, 0, false)
				got.WriteString(name(tg))
				tg.Release()
			}
			if got.String() != tc.want {
				t.Errorf("sequence = %s, want %s", got.String(), tc.want)
			}
		})
	}
}

// TestDistribution checks that every balancer spreads sequential requests
// (each released before the next) in proportion to the weights.
func TestDistribution(t *testing.T) {
	weights := []int{5, 3, 2, 0}
	const n = 10000
	tests := []struct {
		name     string
		balancer string
		keyed    bool
		tol      float64 // absolute tolerance on each share
	}{
		{"round robin", RoundRobin, false, 0.001},
		{"least conn", LeastConn, false, 0.03},
		{"hash with keys", Hash, true, 0.03},
		{"hash without key", Hash, false, 0.001},
		{"latency", Latency, false, 0.03},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := newUpstream(t, tc.balancer, weights...)
			counts := map[string]int{}
			for i := range n {
				tg := mustPick(t, u, fnv1a(fmt.Appendf(nil, "client-%d", i)), tc.keyed)
				counts[name(tg)]++
				tg.Release()
			}
			for i, w := range weights {
				got := float64(counts[string(rune('a'+i))]) / n
				if want := float64(w) / 10; math.Abs(got-want) > tc.tol {
					t.Errorf("target %c share = %.3f, want %.3f±%.3f", 'a'+i, got, want, tc.tol)
				}
			}
		})
	}
}

func TestLeastConnFollowsInFlightPerWeight(t *testing.T) {
	u, _ := newUpstream(t, LeastConn, 2, 1, 1)
	// Requests held open: in flight stays proportional to weight.
	var held []*Target
	for range 400 {
		held = append(held, mustPick(t, u, 0, false))
	}
	for n, want := range map[string]int64{"a": 200, "b": 100, "c": 100} {
		if got := byName(u, n).inflight.Load(); got < want-1 || got > want+1 {
			t.Errorf("target %s in flight = %d, want %d±1", n, got, want)
		}
	}
	// The least loaded target gets the next request.
	for _, tg := range held {
		if name(tg) == "c" {
			tg.Release()
			break
		}
	}
	if tg := mustPick(t, u, 0, false); name(tg) != "c" {
		t.Errorf("picked %s, want c (fewest in flight)", name(tg))
	}
}

func TestLeastConnTiesAreSpread(t *testing.T) {
	u, _ := newUpstream(t, LeastConn, 1, 1, 1)
	seen := map[string]bool{}
	for range 100 {
		tg := mustPick(t, u, 0, false)
		seen[name(tg)] = true
		tg.Release()
	}
	if len(seen) != 3 {
		t.Errorf("ties went to %v, want all three targets", seen)
	}
}

func TestLatencyPrefersFasterTarget(t *testing.T) {
	lat := map[string]time.Duration{"a": 40 * time.Millisecond, "b": 5 * time.Millisecond, "c": 20 * time.Millisecond}
	u, clk := newUpstream(t, Latency, 1, 1, 1)
	counts := map[string]int{}
	for range 3000 {
		tg := mustPick(t, u, 0, false)
		counts[name(tg)]++
		clk.advance(time.Millisecond)
		tg.Report(Result{Latency: lat[name(tg)]})
		tg.Release()
	}
	// P2C over decayed latencies: b (fastest) takes most of the traffic and
	// a (slowest) the least; the exact shares vary with the random draws.
	if counts["b"] < 1500 || counts["b"] <= counts["c"] || counts["a"] >= counts["c"] {
		t.Errorf("picks = %v, want b (fastest) most, a (slowest) least", counts)
	}
}

func TestLatencyNewTargetIsOptimistic(t *testing.T) {
	u, _ := newUpstream(t, Latency, 1, 1)
	a, b := byName(u, "a"), byName(u, "b")
	a.Report(Result{Latency: 10 * time.Millisecond})
	// b has no estimate: it counts as twice as fast as a, so it takes
	// requests until it holds about twice a's in-flight.
	if tg := mustPick(t, u, 0, false); tg != b {
		t.Fatalf("picked %s, want the unmeasured target b", name(tg))
	}
	for range 20 {
		mustPick(t, u, 0, false)
	}
	if ia, ib := a.inflight.Load(), b.inflight.Load(); ib < ia || ib > 2*ia+2 {
		t.Errorf("in flight a=%d b=%d, want b between a and 2a+2", ia, ib)
	}
}

func TestLatencySlowTargetIsRetriedAfterDecay(t *testing.T) {
	u, clk := newUpstream(t, Latency, 1, 1)
	a, b := byName(u, "a"), byName(u, "b")
	b.Report(Result{Latency: 50 * time.Millisecond})
	for i := range 100 {
		tg := mustPick(t, u, 0, false)
		if tg == b {
			if i == 0 {
				t.Fatal("slow target picked before any decay")
			}
			return
		}
		clk.advance(time.Second)
		tg.Report(Result{Latency: 10 * time.Millisecond})
		tg.Release()
	}
	t.Errorf("slow target never retried; estimates a=%v b=%v", a.Status().Latency, b.Status().Latency)
}

func TestLatencyEstimate(t *testing.T) {
	ms := float64(time.Millisecond)
	type obs struct {
		at     time.Duration
		rtt    float64
		failed bool
	}
	tests := []struct {
		name     string
		obs      []obs
		at       time.Duration
		min, max float64 // bounds of the estimate at time at; min < 0: none
	}{
		{"none", nil, 0, -1, -1},
		{"one sample", []obs{{0, 10 * ms, false}}, 0, 10 * ms, 10 * ms},
		{"a peak replaces at once", []obs{{0, 10 * ms, false}, {0, 50 * ms, false}}, 0, 50 * ms, 50 * ms},
		{"a lower sample soon after barely moves it", []obs{{0, 50 * ms, false}, {time.Millisecond, 10 * ms, false}}, time.Millisecond, 49 * ms, 50 * ms},
		{"a lower sample after long moves it most of the way", []obs{{0, 50 * ms, false}, {30 * time.Second, 10 * ms, false}}, 30 * time.Second, 10 * ms, 13 * ms},
		{"stale estimate decays", []obs{{0, 50 * ms, false}}, 10 * time.Second, 18 * ms, 19 * ms},
		{"a fast failure counts as twice the estimate", []obs{{0, 10 * ms, false}, {0, 1 * ms, true}}, 0, 20 * ms, 20 * ms},
		{"a slow failure counts as itself", []obs{{0, 10 * ms, false}, {0, 90 * ms, true}}, 0, 90 * ms, 90 * ms},
		{"an unknown failure on a new target is ignored", []obs{{0, 0, true}}, 0, -1, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l latencyEWMA
			for _, o := range tc.obs {
				l.observe(1+int64(o.at), o.rtt, o.failed)
			}
			v, ok := l.estimate(1 + int64(tc.at))
			switch {
			case tc.min < 0 && ok:
				t.Errorf("estimate = %v, want none", time.Duration(v))
			case tc.min >= 0 && (!ok || v < tc.min || v > tc.max):
				t.Errorf("estimate = %v (ok=%v), want %v..%v", time.Duration(v), ok, time.Duration(tc.min), time.Duration(tc.max))
			}
		})
	}
}

func TestPickPrefersUntriedTargets(t *testing.T) {
	balancers := []string{RoundRobin, LeastConn, Hash, Latency}
	for _, bal := range balancers {
		t.Run(bal, func(t *testing.T) {
			u, _ := newUpstream(t, bal, 1, 1, 1)
			a, b, c := byName(u, "a"), byName(u, "b"), byName(u, "c")
			tests := []struct {
				name  string
				tried []*Target
				allow []*Target
			}{
				{"one tried", []*Target{a}, []*Target{b, c}},
				{"two tried", []*Target{c, a}, []*Target{b}},
				{"all tried reuses one", []*Target{a, b, c}, []*Target{a, b, c}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					for i := range 200 {
						tg := mustPick(t, u, uint64(i)*0x9e3779b97f4a7c15, true, tc.tried...)
						if !contains(tc.allow, tg) {
							t.Fatalf("picked %s with tried %v", name(tg), tc.tried)
						}
						tg.Release()
					}
				})
			}
		})
	}
}

func TestPickTriedFallsBackWhenOthersAreDown(t *testing.T) {
	u, _ := newUpstream(t, RoundRobin, 1, 1)
	a, b := byName(u, "a"), byName(u, "b")
	b.activeUp.Store(false)
	if tg := mustPick(t, u, 0, false, a); tg != a {
		t.Errorf("picked %s, want a: the only target up, although tried", name(tg))
	}
}

func TestMaxConnections(t *testing.T) {
	for _, bal := range []string{RoundRobin, LeastConn, Hash, Latency} {
		t.Run(bal, func(t *testing.T) {
			r, _, _ := testRegistry(t)
			u := commit(t, r, Spec{Name: "api", Balancer: bal, MaxConnections: 2, Targets: targetSpecs(1, 1)})["api"]
			var held []*Target
			for i := range 4 {
				held = append(held, mustPick(t, u, uint64(i), true))
			}
			for _, tg := range u.targets {
				if n := tg.inflight.Load(); n != 2 {
					t.Errorf("target %s in flight = %d, want 2", name(tg), n)
				}
			}
			if _, err := u.Pick(7, true, nil); !errors.Is(err, ErrOverloaded) {
				t.Fatalf("Pick at the limit: err = %v, want ErrOverloaded", err)
			}
			held[1].Release()
			if tg := mustPick(t, u, 7, true); tg != held[1] {
				t.Errorf("after Release picked %s, want %s", name(tg), name(held[1]))
			}
		})
	}
}

func TestPickErrors(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		max     int
		setup   func(u *Upstream)
		want    error
	}{
		{"no targets", nil, 0, nil, ErrNoHealthy},
		{"all weights zero", []int{0, 0}, 0, nil, ErrNoHealthy},
		{"all unhealthy", []int{1, 1}, 0, func(u *Upstream) {
			for _, tg := range u.targets {
				tg.activeUp.Store(false)
			}
		}, ErrNoHealthy},
		{"all ejected", []int{1, 1}, 0, func(u *Upstream) {
			for _, tg := range u.targets {
				tg.Report(Result{Failed: true})
			}
		}, ErrNoHealthy},
		{"one ejected, one full", []int{1, 1}, 1, func(u *Upstream) {
			u.targets[0].Report(Result{Failed: true})
			if _, err := u.Pick(0, false, nil); err != nil {
				panic(err)
			}
		}, ErrOverloaded},
	}
	for _, bal := range []string{RoundRobin, LeastConn, Hash, Latency} {
		for _, tc := range tests {
			t.Run(bal+"/"+tc.name, func(t *testing.T) {
				r, _, _ := testRegistry(t)
				s := Spec{Name: "api", Balancer: bal, MaxConnections: tc.max, Targets: targetSpecs(tc.weights...),
					Passive: &PassiveSpec{Unhealthy: 1, Cooldown: time.Minute}}
				u := commit(t, r, s)["api"]
				if tc.setup != nil {
					tc.setup(u)
				}
				for _, keyed := range []bool{false, true} {
					if tg, err := u.Pick(42, keyed, nil); !errors.Is(err, tc.want) {
						t.Errorf("Pick(keyed=%v) = %v, %v; want error %v", keyed, tg, err, tc.want)
					}
				}
			})
		}
	}
}

// hashOwners maps n keys to target names.
func hashOwners(t *testing.T, u *Upstream, n int) []string {
	out := make([]string, n)
	for i := range out {
		tg := mustPick(t, u, fnv1a(fmt.Appendf(nil, "user-%d", i)), true)
		out[i] = name(tg)
		tg.Release()
	}
	return out
}

func TestHashStability(t *testing.T) {
	const keys = 5000
	weights := []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	u10, _ := newUpstream(t, Hash, weights...)
	base := hashOwners(t, u10, keys)

	t.Run("same key same target, across registries", func(t *testing.T) {
		again, _ := newUpstream(t, Hash, weights...)
		if got := hashOwners(t, again, keys); strings.Join(got, "") != strings.Join(base, "") {
			t.Error("a second registry maps keys differently")
		}
	})
	t.Run("adding a target moves about 1/n keys, all to it", func(t *testing.T) {
		u11, _ := newUpstream(t, Hash, append(weights, 1)...)
		moved := 0
		for i, o := range hashOwners(t, u11, keys) {
			if o != base[i] {
				moved++
				if o != "k" {
					t.Fatalf("key %d moved from %s to %s, not to the new target", i, base[i], o)
				}
			}
		}
		if frac := float64(moved) / keys; frac < 0.04 || frac > 0.15 {
			t.Errorf("moved %.3f of keys, want about 1/11", frac)
		}
	})
	t.Run("a down target's keys go elsewhere, others stay", func(t *testing.T) {
		u, _ := newUpstream(t, Hash, weights...)
		byName(u, "c").activeUp.Store(false)
		for i, o := range hashOwners(t, u, keys) {
			switch {
			case o == "c":
				t.Fatalf("key %d went to the down target", i)
			case base[i] != "c" && o != base[i]:
				t.Fatalf("key %d moved from %s to %s although %s is up", i, base[i], o, base[i])
			}
		}
		byName(u, "c").activeUp.Store(true)
		if got := hashOwners(t, u, keys); strings.Join(got, "") != strings.Join(base, "") {
			t.Error("keys did not return when the target came back")
		}
	})
}

// TestConcurrentPickReleaseReport hammers one upstream from many goroutines
// and checks the slot accounting: never above MaxConnections, back to zero.
func TestConcurrentPickReleaseReport(t *testing.T) {
	for _, bal := range []string{RoundRobin, LeastConn, Hash, Latency} {
		t.Run(bal, func(t *testing.T) {
			r, clk, _ := testRegistry(t)
			u := commit(t, r, Spec{Name: "api", Balancer: bal, MaxConnections: 3, Targets: targetSpecs(3, 2, 1),
				Passive: &PassiveSpec{Unhealthy: 3, Cooldown: time.Millisecond}})["api"]
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					var tried []*Target
					for i := range 500 {
						tg, err := u.Pick(uint64(g*1000+i), i%2 == 0, tried[:min(len(tried), i%3)])
						if err != nil {
							if !errors.Is(err, ErrOverloaded) && !errors.Is(err, ErrNoHealthy) {
								t.Errorf("Pick: %v", err)
							}
							continue
						}
						if n := tg.inflight.Load(); n > 3 {
							t.Errorf("target %s in flight %d > MaxConnections", name(tg), n)
						}
						tried = append(tried[:0], tg)
						clk.advance(time.Microsecond)
						tg.Report(Result{Failed: i%7 == 0, Latency: time.Duration(i%5+1) * time.Millisecond})
						tg.Release()
					}
				})
			}
			wg.Wait()
			for _, tg := range u.targets {
				if n := tg.inflight.Load(); n != 0 {
					t.Errorf("target %s in flight %d after all released", name(tg), n)
				}
			}
		})
	}
}

func TestPickDoesNotAllocate(t *testing.T) {
	for _, bal := range []string{RoundRobin, LeastConn, Hash, Latency} {
		t.Run(bal, func(t *testing.T) {
			r, _, _ := testRegistry(t)
			u := commit(t, r, Spec{Name: "api", Balancer: bal, MaxConnections: 100, Targets: targetSpecs(3, 2, 1),
				Passive: &PassiveSpec{Unhealthy: 5, Cooldown: time.Second}})["api"]
			tried := []*Target{u.targets[0]}
			allocs := testing.AllocsPerRun(200, func() {
				tg, err := u.Pick(12345, true, tried)
				if err != nil {
					t.Fatal(err)
				}
				tg.Report(Result{Latency: time.Millisecond})
				tg.Release()
			})
			if allocs != 0 {
				t.Errorf("Pick+Report+Release allocates %.1f times", allocs)
			}
		})
	}
}
