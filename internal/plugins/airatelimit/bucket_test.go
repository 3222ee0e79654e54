package airatelimit

import (
	"testing"
	"time"
)

// TestRatesAlgorithm steps one key through admissions and settlements at
// chosen instants (1 tick = 1ms; 10 requests and 1000 tokens per 10s, so a
// request comes back every second and a token every 10ms).
func TestRatesAlgorithm(t *testing.T) {
	r := newRates(10, 1000, 10*time.Second, time.Millisecond)
	if r.reqPeriod != 1000 || r.tokPeriod != 10 || r.tokCap != 10000 || r.maxDebt != 100*10000 {
		t.Fatalf("rates %+v", r)
	}
	var st state
	type step struct {
		name    string
		at      int64 // ms
		est     int64 // admission with this estimate; or
		settle  int64 // a settlement by this delta when not 0
		allowed bool
		tokDebt int64 // ms, after the step
		retry   int64 // ms, for a refusal
	}
	for _, s := range []step{
		{name: "fresh key admits and charges the estimate", at: 1000, est: 600, allowed: true, tokDebt: 6000},
		{name: "an estimate that does not fit is refused and charged nothing", at: 1000, est: 500, tokDebt: 6000, retry: 1000},
		{name: "a settlement refunds an over-estimate", at: 1000, settle: -300, tokDebt: 3000},
		{name: "the same estimate now fits", at: 1000, est: 500, allowed: true, tokDebt: 8000},
		{name: "real usage above the estimate goes into debt", at: 1000, settle: 700, tokDebt: 15000},
		{name: "any request is refused while in debt", at: 1000, est: 0, tokDebt: 15000, retry: 5000},
		{name: "until the debt is repaid, nothing fits", at: 6000, est: 10, tokDebt: 10000, retry: 100},
		{name: "the debt is repaid by refills", at: 6100, est: 10, allowed: true, tokDebt: 10000},
		{name: "an estimate above the limit waits for a full bucket", at: 6100, est: 5000, tokDebt: 10000, retry: 10000},
		{name: "it passes when the bucket is full, and charges it all", at: 16100, est: 5000, allowed: true, tokDebt: 50000},
		{name: "a refund never fills beyond full", at: 70000, settle: -5000, tokDebt: 0},
		{name: "a huge charge is capped at 100 windows of debt", at: 70000, settle: 1 << 40, tokDebt: 1000000},
	} {
		var d decision
		if s.settle != 0 {
			d.tokDebt = r.settle(&st, s.at, s.settle)
			d.allowed = s.allowed
		} else {
			d = r.admit(&st, s.at, s.est)
		}
		if d.allowed != s.allowed || d.tokDebt != s.tokDebt || d.retry != s.retry {
			t.Fatalf("%s: got allowed %v debt %d retry %d; want %v %d %d", s.name, d.allowed, d.tokDebt, d.retry, s.allowed, s.tokDebt, s.retry)
		}
	}
}

// TestRatesBothLimits: a request refused by one limit is charged to
// neither; the retry is the longer wait.
func TestRatesBothLimits(t *testing.T) {
	r := newRates(2, 100, time.Second, time.Millisecond) // a request per 500ms, a token per 10ms
	var st state
	if d := r.admit(&st, 0, 100); !d.allowed || d.reqDebt != 500 || d.tokDebt != 1000 {
		t.Fatalf("first: %+v", d)
	}
	// Tokens refuse (retry 1000ms); the request bucket is untouched.
	d := r.admit(&st, 0, 1)
	if d.allowed || !d.byTokens || d.retry != 10 || d.reqDebt != 500 {
		t.Fatalf("refused by tokens: %+v", d)
	}
	if lim, left, debt := r.remaining(&d); lim != 100 || left != 0 || debt != 1000 {
		t.Errorf("headers of a token refusal: %d %d %d", lim, left, debt)
	}
	r.settle(&st, 0, -100) // the first answer used nothing
	if d = r.admit(&st, 0, 0); !d.allowed || d.reqDebt != 1000 {
		t.Fatalf("second: %+v", d)
	}
	d = r.admit(&st, 0, 0)
	if d.allowed || d.byTokens || d.retry != 500 {
		t.Fatalf("refused by requests: %+v", d)
	}
	if lim, left, _ := r.remaining(&d); lim != 2 || left != 0 {
		t.Errorf("headers of a request refusal: %d %d", lim, left)
	}
	// Both refuse: the longer wait wins.
	r.settle(&st, 0, 300) // 3000ms of token debt
	if d = r.admit(&st, 0, 1); d.allowed || !d.byTokens || d.retry != 2010 {
		t.Fatalf("refused by both: %+v", d)
	}
}

// TestMemoryExpiresIdleKeys fills a shard past its sweep size with keys
// whose buckets refill, and checks the sweep drops them.
func TestMemoryExpiresIdleKeys(t *testing.T) {
	var now int64 = 1
	m := newMemory(1, 0, time.Second, func() int64 { return now })
	for i := range 10 * memSweepFloor * memShards {
		m.admit(string(rune('a'+i%26))+time.Duration(i).String(), 0)
	}
	before := m.size()
	now += int64(2 * time.Second)
	for i := range 10 * memSweepFloor * memShards {
		m.admit("later"+time.Duration(i).String(), 0)
	}
	if after := m.size(); after >= before*3/2 {
		t.Errorf("%d keys after refilling and inserting as many again, %d before: idle keys not swept", after, before)
	}
}
