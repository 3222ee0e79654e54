package telemetry

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
)

// fakeClock is a settable clock.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// observe records a request of route with status and code that took d.
func observe(s *Stats, c *fakeClock, route string, status int, code gwerr.Code, d time.Duration) {
	x := &exchange.Exchange{Route: route, Status: status, Code: code, Start: c.now().Add(-d)}
	s.Observe(x)
}

func TestStatsBuckets(t *testing.T) {
	c := &fakeClock{}
	c.set(time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC))
	s := NewStatsAt(c.now)
	// Second 0: 9 fast successes on "a", one 502 on "b".
	for range 9 {
		observe(s, c, "a", 200, "", 2*time.Millisecond)
	}
	observe(s, c, "b", 502, gwerr.UpstreamConnectFailed, 100*time.Millisecond)
	// Second 5: a 404 with no route.
	c.advance(5 * time.Second)
	observe(s, c, "", 404, gwerr.NoRoute, time.Millisecond)
	c.advance(4 * time.Second) // now at second 9

	rep := s.Query(10*time.Second, 5*time.Second)
	if len(rep.Buckets) != 2 || rep.StepSeconds != 5 || rep.WindowSeconds != 10 {
		t.Fatalf("shape: %d buckets, step %d, window %d", len(rep.Buckets), rep.StepSeconds, rep.WindowSeconds)
	}
	b0, b1 := rep.Buckets[0], rep.Buckets[1]
	if b0.Requests != 10 || b0.Status["2xx"] != 9 || b0.Status["5xx"] != 1 || b0.Codes["upstream_connect_failed"] != 1 {
		t.Errorf("bucket 0: %+v", b0)
	}
	if b0.RPS != 2 {
		t.Errorf("bucket 0 rps %v, want 2", b0.RPS)
	}
	if b1.Requests != 1 || b1.Status["4xx"] != 1 || b1.Codes["no_route"] != 1 || len(b1.Codes) != 1 {
		t.Errorf("bucket 1: %+v", b1)
	}
	if !b1.Time.Equal(b0.Time.Add(5*time.Second)) || !rep.End.Equal(b1.Time.Add(5*time.Second)) {
		t.Errorf("times: %v %v end %v", b0.Time, b1.Time, rep.End)
	}
	// p50 of nine 2 ms and one 100 ms is about 2 ms; p99 is in the 100 ms bucket.
	if b0.P50MS < 1.5 || b0.P50MS > 3 {
		t.Errorf("p50 %v ms, want about 2", b0.P50MS)
	}
	if b0.P99MS < 64 || b0.P99MS > 140 {
		t.Errorf("p99 %v ms, want about 100", b0.P99MS)
	}
	if rep.Totals.Requests != 11 || rep.Totals.Codes["no_route"] != 1 || rep.Totals.Status["5xx"] != 1 {
		t.Errorf("totals: %+v", rep.Totals)
	}
	want := []RouteStats{{"a", 9, 0}, {"(no route)", 1, 0}, {"b", 1, 1}}
	if fmt.Sprint(rep.TopRoutes) != fmt.Sprint(want) {
		t.Errorf("top routes %v, want %v", rep.TopRoutes, want)
	}

	// An hour later the old seconds are gone, even though their slots
	// are reused.
	c.advance(time.Hour)
	observe(s, c, "a", 200, "", time.Millisecond)
	rep = s.Query(time.Hour, time.Minute)
	if rep.Totals.Requests != 1 || len(rep.Buckets) != 60 || rep.Totals.Codes["no_route"] != 0 {
		t.Errorf("after an hour: %d requests in %d buckets, codes %v", rep.Totals.Requests, len(rep.Buckets), rep.Totals.Codes)
	}
	if len(rep.TopRoutes) != 1 || rep.TopRoutes[0].Requests != 1 {
		t.Errorf("after an hour, top routes %v", rep.TopRoutes)
	}
}

func TestStatsWindowBounds(t *testing.T) {
	s := NewStats()
	rep := s.Query(24*time.Hour, 0)
	if rep.WindowSeconds != 3600 || rep.StepSeconds != 1 || len(rep.Buckets) != 3600 {
		t.Errorf("window %d step %d buckets %d", rep.WindowSeconds, rep.StepSeconds, len(rep.Buckets))
	}
	if rep.Totals.Requests != 0 || rep.Totals.P99MS != 0 {
		t.Errorf("empty totals %+v", rep.Totals)
	}
}

func TestLatencyBuckets(t *testing.T) {
	for _, d := range []time.Duration{0, time.Microsecond, 3 * time.Microsecond, time.Millisecond,
		1500 * time.Microsecond, 37 * time.Millisecond, time.Second, 100 * time.Second} {
		i := latencyBucket(d)
		lo, hi := latencyBounds(i)
		us := float64(d.Microseconds())
		if us < lo || us >= hi {
			t.Errorf("%v in bucket %d = [%v, %v) µs", d, i, lo, hi)
		}
	}
	if i := latencyBucket(time.Hour); i != latencyBucketCount-1 {
		t.Errorf("an hour in bucket %d, want the last", i)
	}
}

func TestStatsRouteCap(t *testing.T) {
	c := &fakeClock{}
	c.set(time.Unix(1e9, 0))
	s := NewStatsAt(c.now)
	for i := range maxStatsRoutes + 10 {
		observe(s, c, fmt.Sprintf("r%d", i), 200, "", time.Millisecond)
	}
	if n := len(s.routes.all()); n != maxStatsRoutes+1 {
		t.Fatalf("%d routes tracked, want %d", n, maxStatsRoutes+1)
	}
	rep := s.Query(time.Minute, 10*time.Second)
	if rep.TopRoutes[0].Route != OtherRoute || rep.TopRoutes[0].Requests != 10 {
		t.Errorf("top %v, want (other) with 10", rep.TopRoutes[0])
	}
}

func TestStatsConcurrent(t *testing.T) {
	s := NewStats()
	var wg sync.WaitGroup
	const workers, each = 8, 2000
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := &exchange.Exchange{Route: fmt.Sprintf("r%d", w%2), Status: 200}
			for range each {
				x.Start = time.Now()
				s.Observe(x)
			}
		}()
	}
	wg.Wait()
	if got := s.Query(time.Minute, time.Minute).Totals.Requests; got != workers*each {
		t.Errorf("%d requests counted, want %d", got, workers*each)
	}
}

func TestStatsObserveAllocs(t *testing.T) {
	s := NewStats()
	x := &exchange.Exchange{Route: "orders", Status: 502, Code: gwerr.UpstreamTimeout, Start: time.Now()}
	s.Observe(x)
	if n := testing.AllocsPerRun(1000, func() { s.Observe(x) }); n != 0 {
		t.Errorf("Observe allocates %v times per call", n)
	}
}

func BenchmarkStatsObserve(b *testing.B) {
	s := NewStats()
	x := &exchange.Exchange{Route: "orders", Status: 200, Start: time.Now()}
	s.Observe(x)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Observe(x)
		}
	})
}
