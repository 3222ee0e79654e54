package airatelimit

import "time"

// maxDebtWindows bounds how far into the future a key's token TAT may be
// pushed: a settled request can leave a debt of at most this many windows,
// which keeps every product of the arithmetic far from overflowing (a
// window is at most maxWindow).
const maxDebtWindows = 100

// rates is one instance's limits expressed in clock ticks of a backend
// (1ns in memory, 1µs in Redis). A limit of 0 is not enforced. This is the
// one Go implementation of the algorithm; redis.go's Lua scripts are its
// transcription, and the tests hold both backends to the same answers.
type rates struct {
	tick time.Duration

	reqLimit  int64 // requests per window
	reqPeriod int64 // ticks per request: window/reqLimit, truncated
	reqCap    int64 // reqLimit·reqPeriod: the request burst in ticks

	tokLimit  int64 // tokens per window
	tokPeriod int64 // ticks per token
	tokCap    int64 // tokLimit·tokPeriod
	maxDebt   int64 // the longest token debt in ticks
}

// newRates expresses the limits in ticks of length tick. The limits must
// have passed validation (period ≥ 1µs, window ≤ maxWindow).
func newRates(requests, tokens int64, window, tick time.Duration) rates {
	r := rates{tick: tick, reqLimit: requests, tokLimit: tokens}
	w := int64(window / tick)
	if requests > 0 {
		r.reqPeriod = w / requests
		r.reqCap = r.reqPeriod * requests
	}
	if tokens > 0 {
		r.tokPeriod = w / tokens
		r.tokCap = r.tokPeriod * tokens
		r.maxDebt = maxDebtWindows * r.tokCap
	}
	return r
}

// state is one key's state: the theoretical arrival time of its request
// bucket and of its token bucket, in ticks (0, or any time not after now,
// for a full bucket).
type state struct{ req, tok int64 }

// decision is the answer to one admission. Debts are in ticks, after the
// decision.
type decision struct {
	allowed bool
	reqDebt int64
	tokDebt int64
	// retry is, for a refusal, the ticks until the same request would
	// pass.
	retry int64
	// byTokens says the token limit refused (or, when both refused, is
	// the one that needs longer).
	byTokens bool
}

// admit decides a request whose input is estimated at est tokens, at time
// now, and updates st when it is admitted. The request passes when both
// buckets have room: one request, and est tokens (an estimate above the
// whole token limit needs only a full bucket, so no prompt is refused
// forever). An admitted request is charged one request and all of est.
func (r *rates) admit(st *state, now, est int64) decision {
	rq, tk := max(st.req, now), max(st.tok, now)
	var d decision
	ok := true
	if r.reqLimit > 0 {
		if next := rq + r.reqPeriod; next-now > r.reqCap {
			ok, d.retry = false, next-r.reqCap-now
		}
	}
	if r.tokLimit > 0 {
		if next := tk + min(est, r.tokLimit)*r.tokPeriod; next-now > r.tokCap {
			if w := next - r.tokCap - now; ok || w > d.retry {
				d.retry, d.byTokens = w, true
			}
			ok = false
		}
	}
	if ok {
		if r.reqLimit > 0 {
			rq += r.reqPeriod
		}
		if r.tokLimit > 0 {
			tk = r.charge(tk, now, est)
		}
		st.req, st.tok = rq, tk
		d.allowed = true
	}
	d.reqDebt, d.tokDebt = rq-now, tk-now
	return d
}

// settle corrects a key's token bucket by delta tokens at time now: the
// real usage minus the estimate charged at admission, so a negative delta
// refunds. A charge is taken even when the bucket is empty (the tokens were
// spent): the key goes into debt and is refused until the debt is repaid.
// A refund never makes the bucket more than full. It returns the debt in
// ticks after the settlement.
func (r *rates) settle(st *state, now, delta int64) int64 {
	if r.tokLimit == 0 {
		return 0
	}
	st.tok = r.charge(max(st.tok, now), now, delta)
	return st.tok - now
}

// charge moves the token TAT tat (not before now) by n tokens, clamped to
// [now, now+maxDebt].
func (r *rates) charge(tat, now, n int64) int64 {
	n = max(min(n, maxDebtWindows*r.tokLimit), -maxDebtWindows*r.tokLimit)
	tat += n * r.tokPeriod
	return min(max(tat, now), now+r.maxDebt)
}

// remaining returns, from a decision, what the RateLimit headers tell: the
// binding limit (the one refused, else the one with the smaller share
// left), the units left of it and its debt in ticks.
func (r *rates) remaining(d *decision) (limit, left, debt int64) {
	reqLeft, tokLeft := int64(-1), int64(-1)
	if r.reqLimit > 0 {
		reqLeft = max((r.reqCap-d.reqDebt)/r.reqPeriod, 0)
	}
	if r.tokLimit > 0 {
		tokLeft = max((r.tokCap-d.tokDebt)/r.tokPeriod, 0)
	}
	useTokens := false
	switch {
	case r.reqLimit == 0:
		useTokens = true
	case r.tokLimit == 0:
	case !d.allowed:
		useTokens = d.byTokens
	default:
		useTokens = float64(tokLeft)/float64(r.tokLimit) < float64(reqLeft)/float64(r.reqLimit)
	}
	if useTokens {
		return r.tokLimit, tokLeft, d.tokDebt
	}
	return r.reqLimit, reqLeft, d.reqDebt
}
