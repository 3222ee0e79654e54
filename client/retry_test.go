package client_test

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicegw/sluice/client"
	"github.com/sluicegw/sluice/internal/testkit"
)

// fast keeps backoff sleeps short so the tests do not wait for nothing.
var fast = client.WithBackoff(time.Millisecond, 5*time.Millisecond)

// newRequest builds a request or fails the test.
func newRequest(t *testing.T, method, url string, body io.Reader, hdr ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

// asError returns err as an *Error or fails the test.
func asError(t *testing.T, err error) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *client.Error", err, err)
	}
	return e
}

// retries records the Retry events of a client.
type retries struct {
	mu   sync.Mutex
	list []client.Retry
}

func (r *retries) hook(ev client.Retry) {
	r.mu.Lock()
	r.list = append(r.list, ev)
	r.mu.Unlock()
}

func (r *retries) get() []client.Retry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]client.Retry(nil), r.list...)
}

// TestRetryByMethod counts upstream hits for each method and status: only
// idempotent requests (by method or Idempotency-Key) are repeated.
func TestRetryByMethod(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		method   string
		hdr      []string
		autoKey  bool
		wantHits int64
	}{
		{name: "GET 503", status: 503, method: "GET", wantHits: 3},
		{name: "GET 502", status: 502, method: "GET", wantHits: 3},
		{name: "GET 504", status: 504, method: "GET", wantHits: 3},
		{name: "GET 429", status: 429, method: "GET", wantHits: 3},
		{name: "HEAD 503", status: 503, method: "HEAD", wantHits: 3},
		{name: "PUT 502", status: 502, method: "PUT", wantHits: 3},
		{name: "DELETE 503", status: 503, method: "DELETE", wantHits: 3},
		{name: "POST 503", status: 503, method: "POST", wantHits: 1},
		{name: "POST 502", status: 502, method: "POST", wantHits: 1},
		{name: "PATCH 503", status: 503, method: "PATCH", wantHits: 1},
		{name: "POST 503 with Idempotency-Key", status: 503, method: "POST", hdr: []string{"Idempotency-Key", "k-1"}, wantHits: 3},
		{name: "POST 502 with automatic key", status: 502, method: "POST", autoKey: true, wantHits: 3},
		{name: "PATCH 503 with automatic key", status: 503, method: "PATCH", autoKey: true, wantHits: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := testkit.Start(t, testkit.Status(tc.status))
			opts := []client.Option{fast}
			if tc.autoKey {
				opts = append(opts, client.WithIdempotencyKeys())
			}
			c := client.New(opts...)
			var body io.Reader
			if tc.method != "GET" && tc.method != "HEAD" {
				body = strings.NewReader(`{"n":1}`)
			}
			req := newRequest(t, tc.method, u.URL+"/things", body, tc.hdr...)
			resp, err := c.Do(req)
			if resp != nil {
				t.Fatalf("got a response (%d), want an *Error", resp.StatusCode)
			}
			e := asError(t, err)
			if e.StatusCode != tc.status || e.Attempts != int(tc.wantHits) {
				t.Errorf("error status %d attempts %d, want %d and %d", e.StatusCode, e.Attempts, tc.status, tc.wantHits)
			}
			if got := u.Hits(); got != tc.wantHits {
				t.Errorf("upstream hits = %d, want %d", got, tc.wantHits)
			}
			if req.Header.Get("Idempotency-Key") != "" && len(tc.hdr) == 0 {
				t.Errorf("the caller's request was modified: %v", req.Header)
			}
			keys := map[string]bool{}
			for _, r := range u.Requests() {
				keys[r.Get("Idempotency-Key")] = true
			}
			switch {
			case tc.autoKey:
				if len(keys) != 1 {
					t.Fatalf("automatic keys differ between attempts: %v", keys)
				}
				for k := range keys {
					if !uuidRE.MatchString(k) {
						t.Errorf("automatic key %q is not a random UUID", k)
					}
				}
			case len(tc.hdr) > 0:
				if len(keys) != 1 || !keys[tc.hdr[1]] {
					t.Errorf("keys sent = %v, want only the caller's %q", keys, tc.hdr[1])
				}
			default:
				if !keys[""] || len(keys) != 1 {
					t.Errorf("a key was sent without being asked for: %v", keys)
				}
			}
		})
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestAutomaticKeysDifferPerCall checks that two calls get two keys and
// that an idempotent request gets none.
func TestAutomaticKeysDifferPerCall(t *testing.T) {
	u := testkit.Start(t, testkit.OK)
	c := client.New(client.WithIdempotencyKeys())
	for _, m := range []string{"POST", "POST", "GET", "PUT"} {
		resp, err := c.Do(newRequest(t, m, u.URL, strings.NewReader("x")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	reqs := u.Requests()
	k1, k2 := reqs[0].Get("Idempotency-Key"), reqs[1].Get("Idempotency-Key")
	if k1 == "" || k1 == k2 {
		t.Errorf("POST keys %q and %q: want two different keys", k1, k2)
	}
	for _, r := range reqs[2:] {
		if k := r.Get("Idempotency-Key"); k != "" {
			t.Errorf("%s got key %q; idempotent methods need none", r.Method, k)
		}
	}
}

// TestRetryThenSuccess checks that a retried call returns the first good
// response, and that each retry is reported to the hooks.
func TestRetryThenSuccess(t *testing.T) {
	u := testkit.Start(t, testkit.Sequence(
		testkit.Respond(503, http.Header{"Sluice-Error": {"no_healthy_upstream"}, "X-Request-Id": {"r1"}}, "{}"),
		testkit.Status(502),
		testkit.OK,
	))
	var rec retries
	c := client.New(fast, client.OnRetry(rec.hook))
	resp, err := c.Do(newRequest(t, "GET", u.URL+"/a?secret=s3cr3t", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "GET /a?secret=s3cr3t\n" {
		t.Fatalf("got %d %q", resp.StatusCode, b)
	}
	if u.Hits() != 3 {
		t.Errorf("hits = %d, want 3", u.Hits())
	}
	got := rec.get()
	if len(got) != 2 {
		t.Fatalf("%d retries reported, want 2: %+v", len(got), got)
	}
	first := got[0]
	if first.Attempt != 1 || first.StatusCode != 503 || first.Code != "no_healthy_upstream" ||
		first.RequestID != "r1" || first.Reason != "503 Service Unavailable (no_healthy_upstream)" {
		t.Errorf("first retry = %+v", first)
	}
	if got[1].Attempt != 2 || got[1].Reason != "502 Bad Gateway" {
		t.Errorf("second retry = %+v", got[1])
	}
	for _, r := range got {
		if r.Method != "GET" || r.URL != u.URL+"/a" {
			t.Errorf("retry names %s %s, want GET %s/a (no query)", r.Method, r.URL, u.URL)
		}
		if r.Wait < 0 || r.Wait >= 5*time.Millisecond {
			t.Errorf("wait %v outside the jitter range [0, 5ms)", r.Wait)
		}
	}
}

// TestOtherStatusesAreResponses checks that statuses outside the retry set
// come back as plain responses, once, and that CheckResponse describes them.
func TestOtherStatusesAreResponses(t *testing.T) {
	for _, status := range []int{200, 201, 204, 400, 404, 409, 500} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			u := testkit.Start(t, testkit.Respond(status, http.Header{"X-Request-Id": {"rid"}}, "body"))
			c := client.New(fast)
			resp, err := c.Do(newRequest(t, "GET", u.URL, nil))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != status || u.Hits() != 1 {
				t.Fatalf("status %d after %d hits, want %d after 1", resp.StatusCode, u.Hits(), status)
			}
			err = client.CheckResponse(resp)
			if status < 300 {
				if err != nil {
					t.Fatalf("CheckResponse(%d) = %v", status, err)
				}
				resp.Body.Close()
				return
			}
			e := asError(t, err)
			if e.StatusCode != status || e.RequestID != "rid" || string(e.Body) != "body" || e.Attempts != 1 {
				t.Errorf("error = %+v", e)
			}
		})
	}
}

// TestWithRetryStatuses checks that the retried statuses can be replaced.
func TestWithRetryStatuses(t *testing.T) {
	u := testkit.Start(t, testkit.Status(500))
	c := client.New(fast, client.WithRetryStatuses(500))
	_, err := c.Do(newRequest(t, "GET", u.URL, nil))
	if e := asError(t, err); e.StatusCode != 500 || u.Hits() != 3 {
		t.Errorf("status %d after %d hits, want 500 after 3", e.StatusCode, u.Hits())
	}

	u2 := testkit.Start(t, testkit.Status(503))
	c2 := client.New(fast, client.WithRetryStatuses())
	resp, err := c2.Do(newRequest(t, "GET", u2.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || u2.Hits() != 1 {
		t.Errorf("status %d after %d hits, want a plain 503 after 1", resp.StatusCode, u2.Hits())
	}
}

// TestMaxAttempts checks the attempt budget, including one (no retries).
func TestMaxAttempts(t *testing.T) {
	for _, n := range []int{1, 2, 5} {
		u := testkit.Start(t, testkit.Status(503))
		_, err := client.New(fast, client.WithMaxAttempts(n)).Do(newRequest(t, "GET", u.URL, nil))
		if e := asError(t, err); e.Attempts != n || u.Hits() != int64(n) {
			t.Errorf("max %d: %d attempts, %d hits", n, e.Attempts, u.Hits())
		}
	}
}

// TestConnectionRefused checks that a refused connection is retried for
// every method (nothing was sent) and ends as an *Error wrapping it.
func TestConnectionRefused(t *testing.T) {
	url := "http://" + testkit.RefusingAddr(t) + "/x"
	for _, m := range []string{"GET", "POST"} {
		t.Run(m, func(t *testing.T) {
			var rec retries
			c := client.New(fast, client.OnRetry(rec.hook))
			resp, err := c.Do(newRequest(t, m, url, strings.NewReader("b")))
			if resp != nil {
				t.Fatalf("got a response %d", resp.StatusCode)
			}
			e := asError(t, err)
			if e.Attempts != 3 || e.StatusCode != 0 || e.Code != "" {
				t.Errorf("error = %+v, want 3 attempts without a status", e)
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("error %v does not wrap ECONNREFUSED", err)
			}
			if evs := rec.get(); len(evs) != 2 || evs[0].Reason != "connection refused" || evs[0].Err == nil {
				t.Errorf("retries = %+v", evs)
			}
		})
	}
}

// TestConnectionRefusedThenBack checks that a GET succeeds once the server
// listens again between two attempts.
func TestConnectionRefusedThenBack(t *testing.T) {
	u := testkit.Start(t, testkit.OK)
	p := testkit.StartTCPProxy(t, u.Addr)
	p.Cut()
	c := client.New(fast, client.OnRetry(func(r client.Retry) {
		if r.Attempt == 1 {
			if err := p.Restore(); err != nil {
				t.Errorf("restore: %v", err)
			}
		}
	}))
	resp, err := c.Do(newRequest(t, "GET", "http://"+p.Addr+"/back", nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || u.Hits() != 1 {
		t.Errorf("status %d, %d hits", resp.StatusCode, u.Hits())
	}
}

// TestConnectionReset checks that a reset or a close before the response
// head is retried for GET and not for POST without a key.
func TestConnectionReset(t *testing.T) {
	u := testkit.Start(t, testkit.Sequence(testkit.ResetBeforeHead, testkit.CloseBeforeHead, testkit.OK))
	var rec retries
	c := client.New(fast, client.OnRetry(rec.hook))
	resp, err := c.Do(newRequest(t, "GET", u.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || u.Hits() != 3 {
		t.Errorf("status %d after %d hits, want 200 after 3", resp.StatusCode, u.Hits())
	}
	evs := rec.get()
	if len(evs) != 2 || evs[0].Reason != "connection reset" || evs[1].Reason != "connection closed before response" {
		t.Errorf("retries = %+v", evs)
	}

	u2 := testkit.Start(t, testkit.Sequence(testkit.ResetBeforeHead, testkit.OK))
	_, err = c.Do(newRequest(t, "POST", u2.URL, strings.NewReader("pay")))
	e := asError(t, err)
	if !errors.Is(err, syscall.ECONNRESET) || e.Attempts != 1 || u2.Hits() != 1 {
		t.Errorf("POST: %v, attempts %d, hits %d; want one reset attempt", err, e.Attempts, u2.Hits())
	}
}

// TestNeverRetried checks failures a retry cannot fix: a malformed response.
func TestNeverRetried(t *testing.T) {
	u := testkit.Start(t, testkit.Garbage)
	_, err := client.New(fast).Do(newRequest(t, "GET", u.URL, nil))
	if e := asError(t, err); e.Attempts != 1 || u.Hits() != 1 || e.Err == nil {
		t.Errorf("garbage: %+v after %d hits, want one attempt", e, u.Hits())
	}
}
