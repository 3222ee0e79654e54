package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/client"
	"github.com/sluicegw/sluice/internal/testkit"
)

// TestRetryAfter checks that the wait a 429 or 503 asks for is honoured, in
// both forms. Durations are measured with generous margins.
func TestRetryAfter(t *testing.T) {
	cases := []struct {
		name    string
		value   func() string
		status  int
		minWait time.Duration
	}{
		{name: "seconds", value: func() string { return "1" }, status: 429, minWait: time.Second},
		// An HTTP-date has whole seconds: now+2s truncated waits over 1s.
		{name: "HTTP-date", value: func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, status: 503, minWait: time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := testkit.Start(t, testkit.OK)
			u.Set(testkit.Sequence(
				testkit.Respond(tc.status, http.Header{"Retry-After": {tc.value()}, "Sluice-Error": {"rate_limited"}}, "{}"),
				testkit.OK,
			))
			var rec retries
			c := client.New(client.WithBackoff(time.Millisecond, time.Millisecond), client.OnRetry(rec.hook))
			start := time.Now()
			resp, err := c.Do(newRequest(t, "GET", u.URL, nil))
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || u.Hits() != 2 {
				t.Fatalf("status %d after %d hits", resp.StatusCode, u.Hits())
			}
			margin := 100 * time.Millisecond
			if elapsed < tc.minWait-margin {
				t.Errorf("the call took %v: it did not wait the Retry-After (at least %v)", elapsed, tc.minWait)
			}
			evs := rec.get()
			if len(evs) != 1 || evs[0].Wait < tc.minWait-margin || evs[0].Code != "rate_limited" {
				t.Errorf("retries = %+v", evs)
			}
		})
	}
}

// TestRetryAfterBeyondDeadline checks that a Retry-After that would pass
// the context's deadline (or WithMaxRetryAfter) ends the call at once with
// the response's error, instead of sleeping.
func TestRetryAfterBeyondDeadline(t *testing.T) {
	hdr := http.Header{"Retry-After": {"30"}, "Sluice-Error": {"rate_limited"}, "X-Request-Id": {"rl-1"}}
	u := testkit.Start(t, testkit.Respond(429, hdr, "{}"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := newRequest(t, "GET", u.URL, nil).WithContext(ctx)
	_, err := client.New(fast).Do(req)
	if ctx.Err() != nil {
		t.Fatal("the call waited until the deadline; it should have returned at once")
	}
	e := asError(t, err)
	if e.StatusCode != 429 || e.Attempts != 1 || e.RetryAfter != 30*time.Second || e.Code != "rate_limited" || e.RequestID != "rl-1" {
		t.Errorf("error = %+v", e)
	}
	if errors.Is(err, context.DeadlineExceeded) || u.Hits() != 1 {
		t.Errorf("error %v after %d hits, want the 429 after 1", err, u.Hits())
	}

	// Without a deadline, WithMaxRetryAfter is the bound.
	u2 := testkit.Start(t, testkit.Respond(503, http.Header{"Retry-After": {"5"}}, ""))
	start := time.Now()
	_, err = client.New(fast, client.WithMaxRetryAfter(time.Second)).Do(newRequest(t, "GET", u2.URL, nil))
	if e := asError(t, err); e.Attempts != 1 || time.Since(start) > 4*time.Second {
		t.Errorf("attempts %d after %v; want one attempt and no 5s sleep", e.Attempts, time.Since(start))
	}
}

// TestDeadlineStopsRetries checks that the context deadline bounds the
// whole call: attempts stop, and no sleep runs past it.
func TestDeadlineStopsRetries(t *testing.T) {
	t.Run("failing upstream", func(t *testing.T) {
		u := testkit.Start(t, testkit.Status(503))
		c := client.New(client.WithMaxAttempts(1000), client.WithBackoff(50*time.Millisecond, 200*time.Millisecond))
		deadline := 3 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		_, err := c.Do(newRequest(t, "GET", u.URL, nil).WithContext(ctx))
		elapsed := time.Since(start)
		e := asError(t, err)
		if e.Attempts < 2 || e.Attempts >= 1000 {
			t.Errorf("%d attempts; want several, ended by the deadline", e.Attempts)
		}
		// Either the next sleep would have reached the deadline (the 503
		// alone) or the deadline cut an attempt (the 503 and the deadline).
		if e.StatusCode != 503 || e.Err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want the last 503", err)
		}
		if elapsed > deadline+5*time.Second {
			t.Errorf("the call took %v, far past its %v deadline", elapsed, deadline)
		}
	})
	t.Run("hanging upstream", func(t *testing.T) {
		u := testkit.Start(t, testkit.Hang)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := client.New(fast).Do(newRequest(t, "GET", u.URL, nil).WithContext(ctx))
		e := asError(t, err)
		if !errors.Is(err, context.DeadlineExceeded) || e.Attempts != 1 {
			t.Errorf("error %v after %d attempts, want the deadline after 1", err, e.Attempts)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("the call took %v", time.Since(start))
		}
	})
	t.Run("deadline during a retry", func(t *testing.T) {
		u := testkit.Start(t, testkit.Sequence(
			testkit.Respond(503, http.Header{"Sluice-Error": {"upstream_overloaded"}}, ""), testkit.Hang))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := client.New(fast).Do(newRequest(t, "GET", u.URL, nil).WithContext(ctx))
		e := asError(t, err)
		if !errors.Is(err, context.DeadlineExceeded) || e.StatusCode != 503 || e.Code != "upstream_overloaded" || e.Attempts != 2 {
			t.Errorf("error %v, want the first attempt's 503 with the deadline, after 2 attempts", err)
		}
	})
	t.Run("cancelled during the sleep", func(t *testing.T) {
		u := testkit.Start(t, testkit.Status(503))
		ctx, cancel := context.WithCancel(context.Background())
		c := client.New(client.WithBackoff(time.Minute, time.Minute), client.OnRetry(func(client.Retry) {
			time.AfterFunc(50*time.Millisecond, cancel)
		}))
		_, err := c.Do(newRequest(t, "GET", u.URL, nil).WithContext(ctx))
		e := asError(t, err)
		if !errors.Is(err, context.Canceled) || e.StatusCode != 503 || e.Attempts != 1 {
			t.Errorf("error %v (%+v), want the 503 joined with context.Canceled", err, e)
		}
	})
}

// TestAttemptTimeout checks the per-attempt bound: a hung attempt is cut
// and retried (idempotent only), while a slow body of the returned response
// is not cut.
func TestAttemptTimeout(t *testing.T) {
	u := testkit.Start(t, testkit.Sequence(testkit.Hang, testkit.OK))
	var rec retries
	c := client.New(fast, client.WithAttemptTimeout(time.Second), client.OnRetry(rec.hook))
	// A deadline far beyond the attempt timeout, so a broken timeout fails
	// the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Do(newRequest(t, "GET", u.URL, nil).WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || u.Hits() != 2 {
		t.Errorf("status %d after %d hits", resp.StatusCode, u.Hits())
	}
	if evs := rec.get(); len(evs) != 1 || evs[0].Reason != "attempt timeout" || !errors.Is(evs[0].Err, client.ErrAttemptTimeout) {
		t.Errorf("retries = %+v", evs)
	}

	u.Set(testkit.Hang)
	_, err = c.Do(newRequest(t, "POST", u.URL, strings.NewReader("once")).WithContext(ctx))
	if e := asError(t, err); !errors.Is(err, client.ErrAttemptTimeout) || e.Attempts != 1 {
		t.Errorf("POST: %v after %d attempts, want one timed-out attempt", err, e.Attempts)
	}

	u.Set(testkit.Drip(3, 500*time.Millisecond))
	resp, err = c.Do(newRequest(t, "GET", u.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "chunk 1\nchunk 2\nchunk 3\n" {
		t.Errorf("reading a body slower than the attempt timeout: %q, %v", b, err)
	}
}
