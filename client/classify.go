package client

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// idempotencyKeyHeader marks a request as safe to repeat.
const idempotencyKeyHeader = "Idempotency-Key"

// idempotentMethod reports whether a request with this method may be sent
// twice with the effect of once (RFC 9110 §9.2.2). The empty method is GET.
func idempotentMethod(method string) bool {
	switch method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions,
		http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// failClass says which requests a transport failure may be retried for.
type failClass int

const (
	// neverRetry: the failure will not go away by repeating the request
	// (certificate errors, malformed responses, redirect policy, unknown).
	neverRetry failClass = iota
	// retryIdempotent: the request may have reached the server (reset, close
	// before the response head, timeout).
	retryIdempotent
	// retryAny: nothing was sent (the connection could not be made).
	retryAny
)

// classify sorts a transport error of one attempt and names its reason.
// timedOut says the attempt's own timeout fired.
func classify(err error, timedOut bool) (failClass, string) {
	if timedOut {
		return retryIdempotent, "attempt timeout"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return neverRetry, "host not found"
		}
		return retryAny, "DNS lookup failed"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return retryAny, "connection refused"
		case opErr.Timeout():
			return retryAny, "connect timeout"
		}
		return retryAny, "connect failed"
	}
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED):
		return retryIdempotent, "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return retryIdempotent, "broken pipe"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return retryIdempotent, "connection closed before response"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return retryIdempotent, "timeout"
	}
	return neverRetry, "transport error"
}

// parseRetryAfter reads a Retry-After value (RFC 9110 §10.2.3): a number of
// seconds or an HTTP-date. A date in the past means zero. ok is false for an
// absent or malformed value.
func parseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		const maxSecs = int64(1<<63-1) / int64(time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// backoff returns the full-jitter wait before retry n (0 for the first
// retry): a random duration in [0, min(maxBackoff, base*2^n)).
func backoff(base, maxBackoff time.Duration, n int) time.Duration {
	d := min(base, maxBackoff)
	for i := 0; i < n && d < maxBackoff; i++ {
		if d > maxBackoff/2 {
			d = maxBackoff
		} else {
			d *= 2
		}
	}
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
