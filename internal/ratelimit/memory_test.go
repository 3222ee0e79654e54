package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a Memory clock the test moves by hand.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.t.Store(int64(time.Hour)) // any origin but 0
	return c
}

func (c *fakeClock) now() time.Duration      { return time.Duration(c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

func newTestMemory(t testing.TB, r Rate, c *fakeClock) *Memory {
	t.Helper()
	opts := MemoryOptions{}
	if c != nil {
		opts.Clock = c.now
	}
	m, err := NewMemory(r, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// step is one request in a scripted sequence: move the clock by advance,
// then ask for cost and expect the decision.
type step struct {
	advance   time.Duration
	cost      int64
	allowed   bool
	remaining int64
	reset     time.Duration
	retry     time.Duration
}

func TestMemoryDecisions(t *testing.T) {
	// 5 per 10s: one unit comes back every 2s.
	rate := Rate{Limit: 5, Window: 10 * time.Second}
	s := time.Second
	tests := []struct {
		name  string
		steps []step
	}{
		{"burst of the limit, then refused", []step{
			{0, 1, true, 4, 2 * s, 0},
			{0, 1, true, 3, 4 * s, 0},
			{0, 1, true, 2, 6 * s, 0},
			{0, 1, true, 1, 8 * s, 0},
			{0, 1, true, 0, 10 * s, 0},
			{0, 1, false, 0, 10 * s, 2 * s},
		}},
		{"one unit back per period", []step{
			{0, 5, true, 0, 10 * s, 0},
			{s, 1, false, 0, 9 * s, s},
			{s, 1, true, 0, 10 * s, 0},
			{2 * s, 1, true, 0, 10 * s, 0},
			{1999 * time.Millisecond, 1, false, 0, 8001 * time.Millisecond, time.Millisecond},
		}},
		{"a refusal costs nothing", []step{
			{0, 5, true, 0, 10 * s, 0},
			{0, 1, false, 0, 10 * s, 2 * s},
			{0, 1, false, 0, 10 * s, 2 * s},
			{0, 1, false, 0, 10 * s, 2 * s},
			{2 * s, 1, true, 0, 10 * s, 0},
		}},
		{"idle for a window refills the whole burst", []step{
			{0, 5, true, 0, 10 * s, 0},
			{10 * s, 0, true, 5, 0, 0},
			{time.Hour, 5, true, 0, 10 * s, 0},
		}},
		{"cost larger than what is left is refused whole", []step{
			{0, 3, true, 2, 6 * s, 0},
			{0, 3, false, 2, 6 * s, 2 * s},
			{0, 2, true, 0, 10 * s, 0},
		}},
		{"cost 0 reports without spending", []step{
			{0, 0, true, 5, 0, 0},
			{0, 2, true, 3, 4 * s, 0},
			{0, 0, true, 3, 4 * s, 0},
			{s, 0, true, 3, 3 * s, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			m := newTestMemory(t, rate, clock)
			for i, st := range tt.steps {
				clock.advance(st.advance)
				d, err := m.Allow(context.Background(), "k", st.cost)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				want := Decision{Allowed: st.allowed, Limit: 5, Remaining: st.remaining, ResetAfter: st.reset, RetryAfter: st.retry}
				if d != want {
					t.Fatalf("step %d: got %+v, want %+v", i, d, want)
				}
			}
		})
	}
}

func TestMemoryCostOutOfRange(t *testing.T) {
	m := newTestMemory(t, Rate{Limit: 5, Window: time.Minute}, nil)
	for _, cost := range []int64{-1, 6, 1 << 40} {
		t.Run(fmt.Sprint(cost), func(t *testing.T) {
			if _, err := m.Allow(context.Background(), "k", cost); !errors.Is(err, ErrCost) {
				t.Errorf("Allow(cost %d) error = %v, want ErrCost", cost, err)
			}
			if _, err := m.AllowBytes(context.Background(), []byte("k"), cost); !errors.Is(err, ErrCost) {
				t.Errorf("AllowBytes(cost %d) error = %v, want ErrCost", cost, err)
			}
		})
	}
}

func TestRateValidate(t *testing.T) {
	tests := []struct {
		name string
		rate Rate
		ok   bool
	}{
		{"per minute", Rate{100, time.Minute}, true},
		{"one per microsecond", Rate{1_000_000, time.Second}, true},
		{"zero limit", Rate{0, time.Minute}, false},
		{"negative limit", Rate{-1, time.Minute}, false},
		{"zero window", Rate{10, 0}, false},
		{"period under a microsecond", Rate{1_000_001, time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.rate.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestBurstIsExactWhenThePeriodIsTruncated checks rates whose period does
// not divide the window in the backend's tick: the burst stays Limit.
func TestBurstIsExactWhenThePeriodIsTruncated(t *testing.T) {
	for _, tc := range []struct {
		rate Rate
		tick time.Duration
	}{
		{Rate{3, time.Second}, time.Nanosecond},
		{Rate{3000, time.Second}, time.Microsecond},
		{Rate{7, time.Minute}, time.Microsecond},
		{Rate{999_999, time.Second}, time.Microsecond},
	} {
		t.Run(fmt.Sprintf("%s in %s", tc.rate, tc.tick), func(t *testing.T) {
			g := newGCRA(tc.rate, tc.tick)
			var tat, admitted int64
			const now = 1 << 40
			for range tc.rate.Limit + 10 {
				var d Decision
				tat, d = g.decide(tat, now, 1)
				if d.Allowed {
					admitted++
				}
			}
			if admitted != tc.rate.Limit {
				t.Errorf("admitted %d at one instant, want %d", admitted, tc.rate.Limit)
			}
		})
	}
}

// TestAdmittedCostIsBounded drives random traffic through a fake clock and
// checks the documented bound over every interval between admissions: at
// most Limit + floor(d/T) units in any interval of length d.
func TestAdmittedCostIsBounded(t *testing.T) {
	rate := Rate{Limit: 10, Window: time.Second}
	period := rate.Window / time.Duration(rate.Limit)
	clock := newFakeClock()
	m := newTestMemory(t, rate, clock)
	rng := rand.New(rand.NewPCG(1, 2))
	type admit struct {
		at   time.Duration
		cost int64
	}
	var got []admit
	for range 3000 {
		// Bursts and lulls: mostly tiny gaps, sometimes long ones.
		if rng.IntN(10) == 0 {
			clock.advance(time.Duration(rng.Int64N(int64(2 * rate.Window))))
		} else {
			clock.advance(time.Duration(rng.Int64N(int64(period / 3))))
		}
		cost := 1 + rng.Int64N(3)
		d, err := m.Allow(context.Background(), "k", cost)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			got = append(got, admit{clock.now(), cost})
		}
	}
	if len(got) < 100 {
		t.Fatalf("only %d admissions; the traffic does not exercise the limit", len(got))
	}
	var maxBurst int64
	for i := range got {
		var sum int64
		for j := i; j < len(got); j++ {
			sum += got[j].cost
			d := got[j].at - got[i].at
			if bound := rate.Limit + int64(d/period); sum > bound {
				t.Fatalf("%d units admitted within %s (from admission %d to %d); bound is %d", sum, d, i, j, bound)
			}
			if d < period {
				maxBurst = max(maxBurst, sum)
			}
		}
	}
	// Costs are 1 to 3, so a burst may stop up to 2 short of the limit.
	if maxBurst < rate.Limit-2 {
		t.Errorf("the largest burst was %d units; the test traffic never reaches the limit", maxBurst)
	}
}

// TestMemoryConcurrentExact races 500 requests against a limit of 100.
func TestMemoryConcurrentExact(t *testing.T) {
	tests := []struct {
		name     string
		keys     int
		perKey   int
		limit    int64
		viaBytes bool
	}{
		{"one key, string keys", 1, 500, 100, false},
		{"one key, byte keys", 1, 500, 100, true},
		{"ten keys", 10, 100, 20, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMemory(t, Rate{Limit: tt.limit, Window: time.Hour}, nil)
			admitted := make([]atomic.Int64, tt.keys)
			var start, wg sync.WaitGroup
			start.Add(1)
			for k := range tt.keys {
				for range tt.perKey {
					wg.Add(1)
					go func() {
						defer wg.Done()
						key := fmt.Sprintf("key-%d", k)
						start.Wait()
						var d Decision
						var err error
						if tt.viaBytes {
							d, err = m.AllowBytes(context.Background(), []byte(key), 1)
						} else {
							d, err = m.Allow(context.Background(), key, 1)
						}
						if err != nil {
							t.Error(err)
						}
						if d.Allowed {
							admitted[k].Add(1)
						}
					}()
				}
			}
			start.Done()
			wg.Wait()
			for k := range admitted {
				if n := admitted[k].Load(); n != tt.limit {
					t.Errorf("key %d: admitted %d of %d concurrent requests, want exactly %d", k, n, tt.perKey, tt.limit)
				}
			}
		})
	}
}

// TestMemoryExpiresIdleKeys churns through many short-lived keys and checks
// that the limiter holds a bounded number of them and never forgets a key
// that still has a debt.
func TestMemoryExpiresIdleKeys(t *testing.T) {
	clock := newFakeClock()
	m := newTestMemory(t, Rate{Limit: 1, Window: time.Minute}, clock)
	const perRound, rounds = 1000, 100
	ctx := context.Background()
	for r := range rounds {
		// A key spent early in the round must still be refused after the
		// round's inserts have triggered sweeps.
		hot := fmt.Sprintf("hot-%d", r)
		if d, _ := m.Allow(ctx, hot, 1); !d.Allowed {
			t.Fatalf("round %d: fresh key refused", r)
		}
		for i := range perRound {
			m.Allow(ctx, fmt.Sprintf("r%d-k%d", r, i), 1)
		}
		if d, _ := m.Allow(ctx, hot, 1); d.Allowed {
			t.Fatalf("round %d: a key with a debt was forgotten", r)
		}
		clock.advance(2 * time.Minute)
	}
	// Without expiry the limiter would hold rounds*perRound keys.
	bound := memShards*memSweepFloor + 2*(perRound+1)
	if n := m.Len(); n > bound {
		t.Errorf("limiter holds %d keys after %d rounds of %d; want at most %d", n, rounds, perRound, bound)
	}
	if n := m.Len(); n < perRound {
		t.Errorf("limiter holds %d keys; the last round's %d live keys are missing", n, perRound)
	}
}

func TestMemoryAllowDoesNotAllocate(t *testing.T) {
	m := newTestMemory(t, Rate{Limit: 1_000_000, Window: time.Second}, nil)
	ctx := context.Background()
	key := "route:orders:ip:192.0.2.1"
	bkey := []byte(key)
	m.Allow(ctx, key, 1)
	tests := []struct {
		name string
		f    func()
	}{
		{"Allow", func() { m.Allow(ctx, key, 1) }},
		{"AllowBytes", func() { m.AllowBytes(ctx, bkey, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
				t.Errorf("%s on an existing key: %v allocations, want 0", tt.name, n)
			}
		})
	}
}
