package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ErrAttemptTimeout is the error of an attempt whose response head did not
// arrive within the WithAttemptTimeout bound; test for it with errors.Is.
var ErrAttemptTimeout = errors.New("client: attempt timed out")

// Retry describes one retry about to happen, for OnRetry hooks.
type Retry struct {
	// Method and URL identify the request; URL has no user info, query or
	// fragment.
	Method string
	URL    string
	// Attempt is the number of the attempt that failed, starting at 1.
	Attempt int
	// Wait is how long the client sleeps before the next attempt.
	Wait time.Duration
	// Reason says why the attempt failed, in a few words: "connection
	// refused", "connection reset", "attempt timeout", "503 Service
	// Unavailable (no_healthy_upstream)", …
	Reason string
	// StatusCode, Code and RequestID describe the failed attempt's response
	// as in Error; they are zero without a response.
	StatusCode int
	Code       string
	RequestID  string
	// Err is the failed attempt's transport error, or nil.
	Err error

	ctx context.Context
}

// Do sends req and returns its response, retrying as the package
// documentation describes. Like http.Client.Do it returns the response of
// any status with a nil error, and the caller must close its body; the one
// exception is a response whose status is one of the retried statuses (429,
// 502, 503, 504 by default): when no further attempt is made, Do reads and
// closes its body and returns an *Error describing it instead. A transport
// failure also ends as an *Error.
//
// Each attempt goes through the http.Client of WithHTTPClient (redirects
// and cookies apply per attempt). req's context bounds the whole call: no
// attempt and no backoff sleep goes past its deadline. req is not modified,
// and its body is closed, as http.Client.Do does.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	return c.run(req, c.hc.Do, true)
}

// RoundTrip implements http.RoundTripper with the same retries as Do, each
// attempt going straight to the transport (WithTransport, or the
// transport of WithHTTPClient, or http.DefaultTransport). Unlike Do, it
// returns the last response as it came whatever its status, since code above
// a RoundTripper expects responses; use CheckResponse to turn it into an
// *Error. Transport failures end as an *Error.
//
// Use it to give retries to code that takes an *http.Client:
//
//	hc := &http.Client{Transport: client.New(client.WithMaxAttempts(4))}
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	return c.run(req, c.rt.RoundTrip, false)
}

// call is the state of one Do or RoundTrip call.
type call struct {
	c          *Client
	ctx        context.Context
	base       *http.Request
	body       *replay
	send       func(*http.Request) (*http.Response, error)
	method     string
	url        string
	idempotent bool
}

func (c *Client) run(req *http.Request, send func(*http.Request) (*http.Response, error), statusErrors bool) (*http.Response, error) {
	k := &call{c: c, ctx: req.Context(), base: req, send: send}
	k.method, k.url = requestName(req)
	body, err := newReplay(req, c.maxBuffer)
	if err != nil {
		return nil, &Error{Method: k.method, URL: k.url, Err: fmt.Errorf("client: reading request body: %w", err)}
	}
	k.body = body
	k.idempotent = idempotentMethod(req.Method) || len(req.Header.Values(idempotencyKeyHeader)) > 0
	if !k.idempotent && c.autoKey {
		k.base = req.Clone(k.ctx)
		if k.base.Header == nil {
			k.base.Header = make(http.Header)
		}
		k.base.Header.Set(idempotencyKeyHeader, newKey())
		k.idempotent = true
	}

	var last *Error // the previous attempt's failure
	for n := 1; ; n++ {
		o := k.attempt(n)
		resp, err, cancel := o.resp, o.err, o.release
		if err == nil && !c.retryStatus[resp.StatusCode] {
			withCancel(resp, cancel)
			return resp, nil
		}
		if err != nil && k.ctx.Err() != nil {
			// The caller's context ended during the attempt: report the
			// failure that led to it, if any, with the context's error.
			release(cancel)
			if last == nil {
				return nil, &Error{Method: k.method, URL: k.url, Attempts: n, Err: err}
			}
			last.Attempts, last.Err = n, joinErr(last.Err, err)
			return nil, last
		}

		retry, wait, reason := k.decide(n, resp, err)
		if !retry && err == nil && !statusErrors {
			withCancel(resp, cancel)
			return resp, nil
		}
		var e *Error
		if err != nil {
			e = &Error{Method: k.method, URL: k.url, Attempts: n, Err: err}
		} else {
			e = responseError(resp, n, time.Now())
			e.Method, e.URL = k.method, k.url
		}
		release(cancel)
		if !retry {
			return nil, e
		}

		for _, h := range c.hooks {
			h(Retry{Method: k.method, URL: k.url, Attempt: n, Wait: wait, Reason: reason,
				StatusCode: e.StatusCode, Code: e.Code, RequestID: e.RequestID, Err: err, ctx: k.ctx})
		}
		if !sleep(k.ctx, wait) {
			e.Err = joinErr(e.Err, k.ctx.Err())
			return nil, e
		}
		last = e
	}
}

// decide says whether failed attempt n (a transport error, or a response
// with a retried status) is retried, how long to wait first, and why it
// failed.
func (k *call) decide(n int, resp *http.Response, err error) (retry bool, wait time.Duration, reason string) {
	var retryAfter time.Duration
	var hasRetryAfter bool
	if err != nil {
		var class failClass
		class, reason = classify(err, errors.Is(err, ErrAttemptTimeout))
		retry = class == retryAny || class == retryIdempotent && k.idempotent
	} else {
		retry = k.idempotent
		reason = statusReason(resp)
		retryAfter, hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	if !retry || n >= k.c.maxAttempts || !k.body.canRepeat() {
		return false, 0, reason
	}
	if hasRetryAfter {
		if retryAfter > k.c.maxRetryAfter {
			return false, 0, reason
		}
		wait = retryAfter
	} else {
		wait = backoff(k.c.baseBackoff, k.c.maxBackoff, n-1)
	}
	if dl, ok := k.ctx.Deadline(); ok && !time.Now().Add(wait).Before(dl) {
		return false, 0, reason // the sleep would reach the deadline
	}
	return true, wait, reason
}

// outcome is the result of one attempt: a response or a transport error,
// never both, and the function that releases the attempt's context once the
// response body is done with (nil when the attempt has no context of its
// own).
type outcome struct {
	resp    *http.Response
	err     error
	release context.CancelFunc
}

// attempt sends attempt n.
func (k *call) attempt(n int) outcome {
	actx := k.ctx
	var cancel context.CancelFunc // nil without an attempt timeout
	var timer *time.Timer
	if d := k.c.attemptTimeout; d > 0 {
		actx, cancel = context.WithCancel(k.ctx)
		timer = time.AfterFunc(d, cancel)
	}
	b, err := k.body.next()
	if err != nil {
		release(cancel)
		return outcome{err: fmt.Errorf("client: replaying request body: %w", err)}
	}
	r := k.base.WithContext(attemptContext(actx, n))
	r.Body, r.GetBody, r.ContentLength = b, k.body.get, k.body.length
	resp, err := k.send(r)
	if err != nil {
		resp = nil // only a CheckRedirect failure returns both, body closed
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in Error already, without its query
		}
	}
	if timer != nil && !timer.Stop() && k.ctx.Err() == nil {
		// The attempt's own timeout fired: whatever came back is cut off.
		if resp != nil {
			readAndClose(resp.Body)
			resp = nil
		}
		err = fmt.Errorf("%w after %v", ErrAttemptTimeout, k.c.attemptTimeout)
	}
	return outcome{resp: resp, err: err, release: cancel}
}

// joinErr returns b when a is nil, else both joined.
func joinErr(a, b error) error {
	if a == nil {
		return b
	}
	return errors.Join(a, b)
}

// release calls cancel unless it is nil.
func release(cancel context.CancelFunc) {
	if cancel != nil {
		cancel()
	}
}

// statusReason names a retried response: "503 Service Unavailable
// (no_healthy_upstream)".
func statusReason(resp *http.Response) string {
	s := strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	if code := resp.Header.Get("Sluice-Error"); code != "" {
		s += " (" + code + ")"
	}
	return s
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newKey returns a random version 4 UUID for an Idempotency-Key.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
