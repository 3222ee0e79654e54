package telemetry

import (
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/exchange"
)

// Stats is the node's recent traffic in memory, for the console's
// dashboard: per second over the last hour, requests by status class and
// by gateway error code and a latency histogram; per route, requests and
// 5xx answers in 10-second slots. It belongs to one node (nodes sharing a
// database each have their own) and is lost on restart; Prometheus
// (/metrics) is the long-term record.
//
// Observe is safe for concurrent use and allocation-free once a route name
// and error code have been seen: each slot is a fixed array of atomic
// counters, cleared by the first request of a new second. Memory is
// bounded: about 1 MB for the per-second slots, 3 KB per route (at most
// maxStatsRoutes, the rest counted as "(other)") and 15 KB per error code.
type Stats struct {
	now    func() time.Time
	main   *ring
	routes *names
	codes  *names
}

// Sizes of the windows Stats keeps.
const (
	// MaxStatsWindow is the longest window Stats answers.
	MaxStatsWindow = time.Hour
	// statsSlots is the number of one-second slots: MaxStatsWindow plus a
	// margin, so the slot a new second clears is never one being read.
	statsSlots = 3660
	// routeSlotSeconds is the width of a route's slots.
	routeSlotSeconds = 10
	routeSlots       = statsSlots/routeSlotSeconds + 2
	// maxStatsRoutes bounds the routes tracked; later ones share one entry.
	maxStatsRoutes = 256
	maxStatsCodes  = 64
	// OtherRoute names the entry of routes beyond maxStatsRoutes.
	OtherRoute = "(other)"
	// NoRoute names the entry of requests that matched no route.
	NoRoute = "(no route)"
)

// Counter layout of a main slot: the total, six status classes (index 0
// for statuses outside 100..599), then the latency histogram.
const (
	ctrTotal   = 0
	ctrClass   = 1
	ctrLatency = ctrClass + 6
	// latencyBuckets is the number of histogram buckets: two per power of
	// two of microseconds, up to 2^27 µs (134 s); slower requests count in
	// the last.
	latencyBucketCount = 2 * 28
	mainCounters       = ctrLatency + latencyBucketCount
)

// NewStats returns empty stats read on the wall clock.
func NewStats() *Stats { return NewStatsAt(time.Now) }

// NewStatsAt returns empty stats read on the clock now, for tests.
func NewStatsAt(now func() time.Time) *Stats {
	return &Stats{
		now:    now,
		main:   newRing(statsSlots, mainCounters),
		routes: &names{slots: routeSlots, k: 2, max: maxStatsRoutes, overflow: OtherRoute},
		codes:  &names{slots: statsSlots, k: 1, max: maxStatsCodes, overflow: "other"},
	}
}

// Observe records a finished request. It is called by the gateway for
// every request and must stay cheap.
func (s *Stats) Observe(x *exchange.Exchange) {
	if s == nil {
		return
	}
	end := s.now()
	sec := end.Unix()
	if b := s.main.at(sec); b >= 0 {
		c := s.main.counts
		c[b+ctrTotal].Add(1)
		c[b+ctrClass+statusClass(x.Status)].Add(1)
		c[b+ctrLatency+latencyBucket(end.Sub(x.Start))].Add(1)
	}
	route := x.Route
	if route == "" {
		route = NoRoute
	}
	r := s.routes.get(route)
	if b := r.at(sec / routeSlotSeconds); b >= 0 {
		r.counts[b].Add(1)
		if x.Status >= 500 {
			r.counts[b+1].Add(1)
		}
	}
	if x.Code != "" {
		r := s.codes.get(string(x.Code))
		if b := r.at(sec); b >= 0 {
			r.counts[b].Add(1)
		}
	}
}

// statusClass is the index of a status's class: 1 to 5, 0 for others.
func statusClass(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100
}

// latencyBucket is the histogram bucket of d: bucket 2l+h holds the
// durations of l significant bits of microseconds whose next bit is h.
func latencyBucket(d time.Duration) int {
	us := d.Microseconds()
	if us <= 0 {
		return 0
	}
	l := bits.Len64(uint64(us))
	h := 0
	if l >= 2 {
		h = int(us>>(l-2)) & 1
	}
	return min(2*l+h, latencyBucketCount-1)
}

// latencyBounds returns bucket i's range of microseconds, [lo, hi).
func latencyBounds(i int) (lo, hi float64) {
	l, h := i/2, i%2
	switch {
	case l == 0:
		return 0, 1
	case l == 1:
		return 1, 2
	}
	base := float64(uint64(1) << (l - 1))
	if h == 0 {
		return base, base * 1.5
	}
	return base * 1.5, base * 2
}

// ring is a circular array of time slots of k atomic counters. A slot
// holds one period (a second, or routeSlotSeconds of them); the first
// writer of a newer period clears it.
type ring struct {
	// epochs holds each slot's period, -1 when it holds none.
	epochs []atomic.Int64
	counts []atomic.Uint32
	k      int
	// mu serialises clearing.
	mu sync.Mutex
}

func newRing(slots, k int) *ring {
	r := &ring{epochs: make([]atomic.Int64, slots), counts: make([]atomic.Uint32, slots*k), k: k}
	for i := range r.epochs {
		r.epochs[i].Store(-1)
	}
	return r
}

// at returns the index of the first counter of period p's slot, clearing
// the slot when it holds an older period; -1 when it holds a newer one (a
// writer late by a whole ring), whose counts are dropped.
func (r *ring) at(p int64) int {
	s := int(p % int64(len(r.epochs)))
	if r.epochs[s].Load() != p {
		r.mu.Lock()
		if r.epochs[s].Load() < p {
			for i := s * r.k; i < (s+1)*r.k; i++ {
				r.counts[i].Store(0)
			}
			r.epochs[s].Store(p)
		}
		r.mu.Unlock()
		if r.epochs[s].Load() != p {
			return -1
		}
	}
	return s * r.k
}

// add adds period p's counters to dst (len k) when its slot holds p.
func (r *ring) add(p int64, dst []uint64) bool {
	s := int(p % int64(len(r.epochs)))
	if r.epochs[s].Load() != p {
		return false
	}
	for i := range dst {
		dst[i] += uint64(r.counts[s*r.k+i].Load())
	}
	return true
}

// names is a set of rings by name (route or error code), copied on write
// so that lookups take no lock.
type names struct {
	slots, k int
	max      int
	overflow string
	m        atomic.Pointer[map[string]*ring]
	mu       sync.Mutex
}

// get returns name's ring, adding it on first sight; beyond max names,
// the overflow name's.
func (n *names) get(name string) *ring {
	if m := n.m.Load(); m != nil {
		if r := (*m)[name]; r != nil {
			return r
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var old map[string]*ring
	if m := n.m.Load(); m != nil {
		old = *m
	}
	if r := old[name]; r != nil {
		return r
	}
	if len(old) >= n.max {
		name = n.overflow
		if r := old[name]; r != nil {
			return r
		}
	}
	m := make(map[string]*ring, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	r := newRing(n.slots, n.k)
	m[name] = r
	n.m.Store(&m)
	return r
}

// all returns the current name → ring map; do not modify it.
func (n *names) all() map[string]*ring {
	if m := n.m.Load(); m != nil {
		return *m
	}
	return nil
}

// StatsReport is the answer of Stats.Query, as JSON.
type StatsReport struct {
	// End is the end of the last bucket (exclusive): the start of the
	// second after the current one.
	End           time.Time     `json:"end"`
	WindowSeconds int64         `json:"window_seconds"`
	StepSeconds   int64         `json:"step_seconds"`
	Buckets       []StatsBucket `json:"buckets"`
	// Totals sums the whole window.
	Totals StatsBucket `json:"totals"`
	// TopRoutes are the routes with the most requests in the window (to
	// within routeSlotSeconds), most first, at most ten.
	TopRoutes []RouteStats `json:"top_routes"`
}

// StatsBucket is the traffic of one step.
type StatsBucket struct {
	// Time is the bucket's start.
	Time     time.Time `json:"time"`
	Requests uint64    `json:"requests"`
	// RPS is Requests divided by the bucket's length in seconds.
	RPS float64 `json:"rps"`
	// Status counts requests by status class: "1xx" to "5xx", and
	// "other" when any status fell outside 100..599.
	Status map[string]uint64 `json:"status"`
	// Codes counts the gateway's error codes (absent when none).
	Codes map[string]uint64 `json:"codes"`
	// P50MS and P99MS are latency percentiles in milliseconds, estimated
	// from the histogram (within about 25%); 0 without requests.
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
}

// RouteStats is one route's traffic in the window.
type RouteStats struct {
	Route    string `json:"route"`
	Requests uint64 `json:"requests"`
	// Errors counts answers with a 5xx status.
	Errors uint64 `json:"errors"`
}

var classNames = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

// Query reports the last window in buckets of step: both whole seconds
// (rounded down, at least one), window at most MaxStatsWindow. The last
// bucket ends with the current second, which is still filling.
func (s *Stats) Query(window, step time.Duration) StatsReport {
	stepS := max(int64(step/time.Second), 1)
	winS := min(max(int64(window/time.Second), stepS), int64(MaxStatsWindow/time.Second))
	n := (winS + stepS - 1) / stepS
	last := s.now().Unix()
	first := last - n*stepS + 1
	rep := StatsReport{End: time.Unix(last+1, 0).UTC(), WindowSeconds: n * stepS, StepSeconds: stepS,
		Buckets: make([]StatsBucket, n)}
	codes := s.codes.all()
	total := make([]uint64, mainCounters)
	totalCodes := map[string]uint64{}
	sum := make([]uint64, mainCounters)
	one := make([]uint64, 1)
	for b := range n {
		clear(sum)
		start := first + b*stepS
		bc := map[string]uint64{}
		for sec := start; sec < start+stepS; sec++ {
			s.main.add(sec, sum)
			for name, r := range codes {
				one[0] = 0
				if r.add(sec, one) && one[0] > 0 {
					bc[name] += one[0]
				}
			}
		}
		for i := range sum {
			total[i] += sum[i]
		}
		for k, v := range bc {
			totalCodes[k] += v
		}
		rep.Buckets[b] = bucketOf(time.Unix(start, 0).UTC(), stepS, sum, bc)
	}
	rep.Totals = bucketOf(time.Unix(first, 0).UTC(), n*stepS, total, totalCodes)
	rep.TopRoutes = s.topRoutes(first, last)
	return rep
}

// bucketOf renders counters summed over secs seconds.
func bucketOf(t time.Time, secs int64, c []uint64, codes map[string]uint64) StatsBucket {
	b := StatsBucket{Time: t, Requests: c[ctrTotal], RPS: float64(c[ctrTotal]) / float64(secs),
		Status: map[string]uint64{}, Codes: codes}
	for i := 1; i < 6; i++ {
		b.Status[classNames[i]] = c[ctrClass+i]
	}
	if c[ctrClass] > 0 {
		b.Status[classNames[0]] = c[ctrClass]
	}
	hist := c[ctrLatency : ctrLatency+latencyBucketCount]
	b.P50MS = percentile(hist, c[ctrTotal], 0.50)
	b.P99MS = percentile(hist, c[ctrTotal], 0.99)
	return b
}

// percentile estimates the q-quantile of a histogram of total values, in
// milliseconds, interpolating within the bucket it falls in.
func percentile(hist []uint64, total uint64, q float64) float64 {
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	for i, c := range hist {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo, hi := latencyBounds(i)
			us := lo + (hi-lo)*(rank-seen)/float64(c)
			return float64(int64(us)) / 1000
		}
		seen += float64(c)
	}
	lo, _ := latencyBounds(len(hist) - 1)
	return lo / 1000
}

// topRoutes sums each route's slots overlapping [first, last] seconds.
func (s *Stats) topRoutes(first, last int64) []RouteStats {
	out := []RouteStats{}
	two := make([]uint64, 2)
	for name, r := range s.routes.all() {
		clear(two)
		for p := first / routeSlotSeconds; p <= last/routeSlotSeconds; p++ {
			r.add(p, two)
		}
		if two[0] > 0 {
			out = append(out, RouteStats{Route: name, Requests: two[0], Errors: two[1]})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Requests != out[j].Requests {
			return out[i].Requests > out[j].Requests
		}
		return out[i].Route < out[j].Route
	})
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}
