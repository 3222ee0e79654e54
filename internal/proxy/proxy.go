// Package proxy forwards requests to upstream targets over sluice's own
// HTTP/1.1 client: pooled keep-alive connections, per-phase timeouts, an
// overall deadline that bounds retries, and every transport failure
// classified by the phase it happened in (CONTRACT §3, §4).
//
// The proxy does not use net/http's Transport: one goroutine drives each
// exchange from dial to the last body byte, which is both faster (no
// hand-offs between a connection's read and write loops) and exact about
// where a failure happened.
package proxy

import (
	"crypto/tls"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/httpwire"
	"github.com/sluicegw/sluice/internal/upstream"
)

// HashOn says which part of a request keys the hash balancer.
type HashOn struct {
	Kind   string // "", "header", "ip", "path", "consumer"
	Header string // canonical header name for Kind "header"
}

// Backend is an upstream as the proxy uses it: the runtime upstream plus
// its settings, compiled once per config snapshot. It is immutable.
type Backend struct {
	Upstream *upstream.Upstream

	Connect, Read, Write, Total time.Duration
	Retries                     int
	RetryOnStatus               StatusSet
	RetryBuffer                 int
	TLS                         *tls.Config // for https targets; nil uses defaults
	HashOn                      HashOn
}

// StatusSet is a set of HTTP status codes 100..599.
type StatusSet [8]uint64

// Add puts code in the set; codes outside 100..599 are ignored.
func (s *StatusSet) Add(code int) {
	if code >= 100 && code < 600 {
		c := code - 100
		s[c/64] |= 1 << (c % 64)
	}
}

// Has reports whether code is in the set.
func (s *StatusSet) Has(code int) bool {
	if code < 100 || code >= 600 {
		return false
	}
	c := code - 100
	return s[c/64]&(1<<(c%64)) != 0
}

// AbortError is returned by Forward when the upstream failed after the
// response head went to the client. The caller must log it and abort the
// client connection (panic with http.ErrAbortHandler) so that the client
// sees a truncated response, never a clean end.
type AbortError struct{ Err *gwerr.Error }

func (e *AbortError) Error() string { return e.Err.Error() }
func (e *AbortError) Unwrap() error { return e.Err }

// ErrClientGone is returned when the client went away; nothing more can be
// sent to it.
var ErrClientGone = gwerr.New(gwerr.ClientClosed, nil)

// state is the per-request scratch space, pooled.
type state struct {
	body   replayBody
	head   httpwire.Head
	header http.Header
	ct     connTokens
	tried  [8]*upstream.Target
}

var statePool = sync.Pool{New: func() any {
	return &state{header: make(http.Header, 16)}
}}

// Forward sends r to a target of b and streams the answer to w. It fills x
// (upstream, attempts, status, bytes). It returns nil when a response was
// relayed; a *gwerr.Error when the gateway must answer instead (nothing has
// been written to w yet); an *AbortError after a failure past the response
// head; or ErrClientGone.
func Forward(w http.ResponseWriter, r *http.Request, x *exchange.Exchange, b *Backend, o *Outbound) error {
	st := statePool.Get().(*state)
	defer func() {
		x.BytesIn = st.body.total
		clear(st.header)
		st.body.recycle()
		statePool.Put(st)
	}()
	x.Upstream = b.Upstream.Name
	st.ct.parse(r.Header)

	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	if hasBody {
		st.body.reset(r.Body, b.RetryBuffer)
	}
	key, hasKey := hashKey(r, b, o)
	idempotent := isIdempotent(r)
	deadline := x.Start.Add(b.Total)
	var last *attemptError
	tried := st.tried[:0]

	for attempt := 0; ; attempt++ {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			if last == nil {
				return gwerr.New(gwerr.UpstreamTimeout, errors.New("overall deadline passed before the first attempt"))
			}
			break
		}
		t, err := b.Upstream.Pick(key, hasKey, tried)
		if err != nil {
			if last != nil {
				break // report what the attempts found, not the empty pool
			}
			if errors.Is(err, upstream.ErrOverloaded) {
				return gwerr.New(gwerr.UpstreamOverloaded, err)
			}
			return gwerr.New(gwerr.NoHealthyUpstream, err)
		}
		if len(tried) < cap(tried) {
			tried = append(tried, t)
		}
		mayRetryStatus := idempotent && attempt < b.Retries && !st.body.overflow
		if o.Trace != nil {
			o.traceParent = o.Trace.StartAttempt(x, attempt, t, o.Path)
		}
		res, aerr := roundTrip(w, r, x, b, o, st, t, deadline, hasBody, mayRetryStatus)
		if o.Trace != nil {
			o.Trace.EndAttempt(lastAttempt(x))
		}
		switch {
		case aerr == nil && res == resDone:
			return nil
		case aerr == nil && res == resClientGone:
			return ErrClientGone
		case aerr == nil: // resRetryStatus: the answer was dropped; try again
			if hasBody {
				st.body.rewind()
			}
			continue
		case aerr.client != nil:
			return aerr.client
		case aerr.phase == phaseBody:
			return &AbortError{Err: gwerr.New(aerr.code, aerr)}
		}
		last = aerr
		if attempt >= b.Retries || !retryable(aerr, idempotent) || (hasBody && !st.body.rewind()) {
			break
		}
	}
	return gwerr.New(last.code, last)
}

// lastAttempt returns x's latest attempt record, nil when there is none.
func lastAttempt(x *exchange.Exchange) *exchange.Attempt {
	if n := len(x.Attempts); n > 0 {
		return &x.Attempts[n-1]
	}
	return nil
}

// retryable applies CONTRACT §4: failures to connect are retried for any
// method (nothing reached the upstream); resets, timeouts and malformed
// answers only for idempotent requests.
func retryable(e *attemptError, idempotent bool) bool {
	switch e.code {
	case gwerr.UpstreamConnectFailed, gwerr.UpstreamConnectTimeout, gwerr.UpstreamDNSFailed, gwerr.UpstreamTLSFailed:
		return true
	case gwerr.UpstreamReset, gwerr.UpstreamTimeout, gwerr.UpstreamBadResponse:
		return idempotent
	}
	return false
}

type result uint8

const (
	resDone        result = iota // a response was relayed
	resRetryStatus               // the upstream answered a retry_on_status status, not relayed
	resClientGone                // the client went away
)

// hashKey returns the hash balancer's key for r.
func hashKey(r *http.Request, b *Backend, o *Outbound) (uint64, bool) {
	var s string
	switch b.HashOn.Kind {
	case "header":
		s = r.Header.Get(b.HashOn.Header)
	case "ip":
		if o.ClientIP.IsValid() {
			a := o.ClientIP.As16()
			return fnv1a(a[:]), true
		}
	case "path":
		s = o.Path
	case "consumer":
		s = o.Consumer
	}
	if s == "" {
		return 0, false
	}
	return fnv1aString(s), true
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnv1a(b []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func fnv1aString(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}
