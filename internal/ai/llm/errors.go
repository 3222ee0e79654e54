package llm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Class sorts a provider failure by what the gateway should do about it:
// retry, rotate the key, fall back to another model, or give up and tell
// the caller.
type Class uint8

// The failure classes.
const (
	// ClassCaller is a fault in the request itself (400, 404, 422): no
	// retry, no fallback; the caller sees the provider's message.
	ClassCaller Class = iota + 1
	// ClassAuth is a rejected provider key (401, 403): the key cools down
	// and the next key is tried.
	ClassAuth
	// ClassRateLimit is a 429 or quota error: the key cools down
	// (Retry-After when given); the next key, target or fallback is tried.
	ClassRateLimit
	// ClassOverloaded is a provider 5xx or 529: retried with backoff, then
	// the next target or fallback.
	ClassOverloaded
	// ClassTimeout is a provider that did not answer in time.
	ClassTimeout
	// ClassConnect is a network failure before any response.
	ClassConnect
	// ClassContextWindow is input too long for the model: another model
	// (a fallback) may take it.
	ClassContextWindow
	// ClassBadResponse is an answer the adapter could not understand.
	ClassBadResponse
)

var classNames = [...]string{"", "caller", "auth", "rate_limit", "overloaded", "timeout", "connect", "context_window", "bad_response"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Retryable reports whether the same request may succeed if sent again
// (to the same target after a pause, or to another key or target).
func (c Class) Retryable() bool {
	switch c {
	case ClassAuth, ClassRateLimit, ClassOverloaded, ClassTimeout, ClassConnect, ClassBadResponse:
		return true
	}
	return false
}

// Fallback reports whether another model may be tried after this failure.
// Caller faults are not worth another model: the request is wrong.
func (c Class) Fallback() bool { return c != ClassCaller }

// ProviderError is a failure of one call to a provider.
type ProviderError struct {
	Class Class
	// Status is the provider's HTTP status; 0 when none arrived.
	Status int
	// Type is the provider's error type or code, when it sent one.
	Type string
	// Message is the provider's error message. It is shown to the caller
	// only for ClassCaller (it is about the caller's own request).
	Message string
	// RetryAfter is the provider's Retry-After, 0 when absent.
	RetryAfter time.Duration
	// Err is the underlying transport or decoding error, if any.
	Err error
}

func (e *ProviderError) Error() string {
	s := "provider " + e.Class.String()
	if e.Status != 0 {
		s += " (HTTP " + strconv.Itoa(e.Status) + ")"
	}
	if e.Type != "" {
		s += " " + e.Type
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ProviderError) Unwrap() error { return e.Err }

// ClassifyStatus gives the class of an HTTP error status from a provider.
// Adapters refine it with the provider's error type (context window, quota).
func ClassifyStatus(status int) Class {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return ClassAuth
	case status == http.StatusTooManyRequests:
		return ClassRateLimit
	case status == http.StatusRequestTimeout, status == http.StatusGatewayTimeout:
		return ClassTimeout
	case status == http.StatusRequestEntityTooLarge:
		return ClassContextWindow
	case status >= 500:
		return ClassOverloaded
	case status >= 400:
		return ClassCaller
	}
	return ClassBadResponse
}

// RetryAfter parses a Retry-After header (delay-seconds or HTTP-date) and
// the retry-after-ms header some providers send; 0 when absent or invalid.
// A delay is decimal digits with an optional fraction; anything else (a
// sign, an exponent, NaN, Inf) and delays beyond a time.Duration are
// invalid.
func RetryAfter(h http.Header) time.Duration {
	if d, ok := parseDelay(h.Get("Retry-After-Ms"), time.Millisecond); ok && d > 0 {
		return d
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if d, ok := parseDelay(v, time.Second); ok {
		return d
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// parseDelay parses digits with an optional fraction as a number of
// units; ok is false for any other text or a delay beyond a Duration.
func parseDelay(v string, unit time.Duration) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	whole, frac, _ := strings.Cut(v, ".")
	if whole == "" || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f*float64(unit) >= math.MaxInt64 {
		return 0, false
	}
	return time.Duration(f * float64(unit)), true
}

// Errorf returns a ProviderError of class c wrapping a formatted error.
func Errorf(c Class, format string, args ...any) *ProviderError {
	return &ProviderError{Class: c, Err: fmt.Errorf(format, args...)}
}

// TransportError classifies a failed send (afterHead false) or a failed
// read of the answer (afterHead true): the caller's context ending is
// returned as is (context.Canceled: the client went away), a deadline or
// a network timeout is ClassTimeout, other failures are ClassConnect
// before the head and ClassBadResponse after it. A *ProviderError passes
// through unchanged.
func TransportError(ctx context.Context, err error, afterHead bool) error {
	if ctx.Err() == context.Canceled {
		return ctx.Err()
	}
	var pe *ProviderError
	if errors.As(err, &pe) {
		return pe
	}
	class := ClassConnect
	if afterHead {
		class = ClassBadResponse
	}
	var t interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &t) && t.Timeout() {
		class = ClassTimeout
	}
	return &ProviderError{Class: class, Err: err}
}
