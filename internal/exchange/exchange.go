// Package exchange holds the record of one request's trip through the
// gateway: what matched, what was tried, what failed and why. The proxy and
// the plugins fill it in; the access log and the request log read it when
// the request is over.
package exchange

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/sluicegw/sluice/internal/gwerr"
)

// Attempt is one try against one upstream target.
type Attempt struct {
	Target   string        // the target's URL
	Status   int           // the upstream's status, 0 when no response head arrived
	Code     gwerr.Code    // the failure class, "" when the attempt got a response
	Error    string        // the private cause, for logs only
	Duration time.Duration // from pick to response head (or failure)
	Reused   bool          // sent on a kept-alive connection
	// Health is the target's health state when the attempt failed
	// (healthy, probation, ejected, unhealthy); "" for successes.
	Health string
}

// Exchange is the record of one request. It is owned by the goroutine that
// serves the request; nothing may keep it after the request is logged.
type Exchange struct {
	ID       string
	Start    time.Time
	ClientIP netip.Addr
	Method   string
	Host     string
	Path     string // canonical path, as routed and forwarded
	Route    string
	Upstream string
	Consumer string

	Status   int
	Code     gwerr.Code // the gateway's error code, "" when the upstream answered
	Cause    error      // private cause of Code
	Attempts []Attempt

	BytesIn  int64 // request body bytes read from the client
	BytesOut int64 // response body bytes written to the client

	// UpstreamTime is the time from the first pick to the response head of
	// the attempt that answered.
	UpstreamTime time.Duration

	// RateLimit is the rate limiters' verdict on the request, for metrics.
	RateLimit RateDecision

	// AI is the AI gateway's part of the record; AI.Model is "" for
	// requests the AI gateway did not serve.
	AI AI

	attempts [4]Attempt
}

// AI records an AI request: what was asked, who served it, and what it
// used.
type AI struct {
	Model           string // the model name the client asked for
	Provider        string // the provider that answered (config name)
	ProviderModel   string // the provider's model that answered
	Stream          bool
	InputTokens     int64 // including cached input
	OutputTokens    int64 // including reasoning
	CachedTokens    int64
	ReasoningTokens int64
	CostUSD         float64
	// FirstToken is the time from the request's start to the first token
	// (or the whole answer, when not streamed).
	FirstToken time.Duration
	// Partial marks a stream that ended early (client gone or provider
	// failure): the usage is what was seen so far.
	Partial bool
}

// Reset prepares x for a new request, keeping its attempt storage.
func (x *Exchange) Reset() {
	*x = Exchange{}
	x.Attempts = x.attempts[:0]
}

// AddAttempt records an attempt.
func (x *Exchange) AddAttempt(a Attempt) {
	x.Attempts = append(x.Attempts, a)
}

type ctxKey struct{}

// With returns a context carrying x.
func With(ctx context.Context, x *Exchange) context.Context {
	return context.WithValue(ctx, ctxKey{}, x)
}

// From returns the Exchange carried by ctx, or nil.
func From(ctx context.Context) *Exchange {
	x, _ := ctx.Value(ctxKey{}).(*Exchange)
	return x
}

// SetGatewayHeaders sets the headers every response of the gateway carries
// (CONTRACT §3): X-Request-Id, and Server-Timing with the time spent so far
// ("gateway") and, when an upstream answered, its time to response head
// ("upstream"), in milliseconds. It is used for proxied responses, the
// gateway's own errors and responses plugins write, alike.
func SetGatewayHeaders(h http.Header, x *Exchange) {
	var buf [64]byte
	b := append(buf[:0], "gateway;dur="...)
	b = strconv.AppendFloat(b, float64(time.Since(x.Start))/1e6, 'f', 1, 64)
	if x.UpstreamTime > 0 {
		b = append(b, ", upstream;dur="...)
		b = strconv.AppendFloat(b, float64(x.UpstreamTime)/1e6, 'f', 1, 64)
	}
	vals := make([]string, 2) // one allocation for both header values
	vals[0], vals[1] = x.ID, string(b)
	h["X-Request-Id"] = vals[0:1:1]
	h["Server-Timing"] = vals[1:2:2]
}

// RateDecision is what rate limiting decided about a request.
type RateDecision uint8

// The rate-limit decisions. A request refused by any limiter is
// RateLimited; one every limiter let through is RateAllowed; RateError
// means a limiter could not decide (its backend failed).
const (
	RateNone RateDecision = iota
	RateAllowed
	RateLimited
	RateError
)
