package client

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults used when no option overrides them.
const (
	// DefaultMaxAttempts is the number of attempts per call, the first
	// included: one try and two retries.
	DefaultMaxAttempts = 3
	// DefaultBaseBackoff is the backoff before the first retry, before jitter.
	DefaultBaseBackoff = 100 * time.Millisecond
	// DefaultMaxBackoff caps the backoff between two attempts, before jitter.
	DefaultMaxBackoff = 2 * time.Second
	// DefaultMaxRetryAfter is the longest Retry-After the client waits for;
	// a longer one ends the call at once.
	DefaultMaxRetryAfter = 30 * time.Second
	// DefaultMaxBufferedBody is the largest request body, in bytes, buffered
	// for replay when the request has no GetBody.
	DefaultMaxBufferedBody = 1 << 20
)

// defaultRetryStatuses are the response statuses retried by default.
var defaultRetryStatuses = []int{
	http.StatusTooManyRequests,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// Client sends HTTP requests and retries those that failed in a way a retry
// can fix (see the package documentation for the exact rules). A Client is
// safe for concurrent use by many goroutines and should be reused: it holds
// no per-call state, and its connections live in the underlying transport.
//
// The zero Client is not usable; build one with New.
type Client struct {
	hc             *http.Client
	rt             http.RoundTripper
	maxAttempts    int
	baseBackoff    time.Duration
	maxBackoff     time.Duration
	attemptTimeout time.Duration
	maxRetryAfter  time.Duration
	retryStatus    map[int]bool
	autoKey        bool
	maxBuffer      int64
	hooks          []func(Retry)
}

var _ http.RoundTripper = (*Client)(nil)

// Option configures a Client in New.
type Option func(*Client)

// New returns a Client configured by opts, applied in order. Values out of
// range are clamped: fewer than one attempt means one, a negative duration
// means zero.
func New(opts ...Option) *Client {
	c := &Client{
		maxAttempts:   DefaultMaxAttempts,
		baseBackoff:   DefaultBaseBackoff,
		maxBackoff:    DefaultMaxBackoff,
		maxRetryAfter: DefaultMaxRetryAfter,
		maxBuffer:     DefaultMaxBufferedBody,
	}
	WithRetryStatuses(defaultRetryStatuses...)(c)
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{Transport: c.rt}
	}
	if c.rt == nil {
		c.rt = c.hc.Transport
	}
	if c.rt == nil {
		c.rt = http.DefaultTransport
	}
	return c
}

// WithHTTPClient makes Do send each attempt with hc.Do, so hc's redirect
// policy, cookie jar and Timeout apply; hc.Timeout then bounds each attempt,
// reading of the response body included. RoundTrip uses hc.Transport (or
// http.DefaultTransport when it is nil) unless WithTransport is also given.
// By default Do uses an http.Client on http.DefaultTransport.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc = hc }
}

// WithTransport makes rt the RoundTripper that carries each attempt: RoundTrip
// calls it directly, and Do calls it through an http.Client with default
// settings (unless WithHTTPClient is also given, which then wins for Do).
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) { c.rt = rt }
}

// WithMaxAttempts sets the number of attempts per call, the first included;
// 1 disables retries. Values below 1 mean 1.
func WithMaxAttempts(n int) Option {
	return func(c *Client) { c.maxAttempts = max(n, 1) }
}

// WithBackoff sets the exponential backoff: before retry n (0 for the first
// retry) the client sleeps a random duration in [0, min(maxBackoff,
// base*2^n)) ("full jitter"), unless the response said Retry-After.
func WithBackoff(base, maxBackoff time.Duration) Option {
	return func(c *Client) {
		c.baseBackoff = max(base, 0)
		c.maxBackoff = max(maxBackoff, 0)
	}
}

// WithAttemptTimeout bounds the wait for each attempt's response head; an
// attempt that times out counts as a failure and is retried like a reset
// (idempotent requests only). It does not bound the reading of the body of
// the response returned to the caller, so streams are not cut. Zero (the
// default) means no per-attempt bound: only the context deadline applies.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *Client) { c.attemptTimeout = max(d, 0) }
}

// WithMaxRetryAfter sets the longest Retry-After the client honours by
// sleeping; when a response asks for a longer wait, the call ends at once
// with that response's error. Zero means never wait for a Retry-After.
func WithMaxRetryAfter(d time.Duration) Option {
	return func(c *Client) { c.maxRetryAfter = max(d, 0) }
}

// WithRetryStatuses replaces the set of response statuses that are retried
// (by default 429 Too Many Requests, 502 Bad Gateway, 503 Service
// Unavailable and 504 Gateway Timeout). With no argument, no status is
// retried: only connection failures are.
func WithRetryStatuses(statuses ...int) Option {
	return func(c *Client) {
		c.retryStatus = make(map[int]bool, len(statuses))
		for _, s := range statuses {
			c.retryStatus[s] = true
		}
	}
}

// WithIdempotencyKeys makes the client add an Idempotency-Key header, a
// random UUID, to every request whose method is not idempotent and that has
// no such header yet, which makes the request retryable. Every attempt of one
// call carries the same key, so a server that honours the header (as sluice
// does for its own retries) can recognise a repeat. The caller's request is
// not modified; the key is visible on resp.Request.
func WithIdempotencyKeys() Option {
	return func(c *Client) { c.autoKey = true }
}

// WithMaxBufferedBody sets the largest request body, in bytes, that the client
// buffers in memory so it can replay it on a retry. It applies only to
// requests without GetBody (http.NewRequest sets GetBody for bytes.Buffer,
// bytes.Reader and strings.Reader bodies). A body larger than n, or of any
// size when n is 0, is streamed once and retries are disabled for that call.
func WithMaxBufferedBody(n int64) Option {
	return func(c *Client) { c.maxBuffer = max(n, 0) }
}

// OnRetry adds a hook called before each retry's sleep, on the calling
// goroutine. Hooks must not block for long: the wait has not started yet.
// Several hooks run in the order they were added.
func OnRetry(hook func(Retry)) Option {
	return func(c *Client) {
		if hook != nil {
			c.hooks = append(c.hooks, hook)
		}
	}
}

// WithLogger logs each retry on l at level Warn, with the method, URL
// (without query), attempt, wait, reason, status, error code and request id.
func WithLogger(l *slog.Logger) Option {
	return OnRetry(func(r Retry) {
		l.LogAttrs(r.ctx, slog.LevelWarn, "retrying request",
			slog.String("method", r.Method),
			slog.String("url", r.URL),
			slog.Int("attempt", r.Attempt),
			slog.Duration("wait", r.Wait),
			slog.String("reason", r.Reason),
			slog.Int("status", r.StatusCode),
			slog.String("code", r.Code),
			slog.String("request_id", r.RequestID),
		)
	})
}
