package app

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"
)

// TestRetryRules pins CONTRACT §4 by counting what reached the upstream.
func TestRetryRules(t *testing.T) {
	cases := []struct {
		name     string
		behavior testkit.Behavior
		method   string
		headers  map[string]string
		wantHits int64
		status   int
	}{
		{"reset GET retried", testkit.ResetBeforeHead, "GET", nil, 3, 502},
		{"reset POST not retried", testkit.ResetBeforeHead, "POST", nil, 1, 502},
		{"reset POST with Idempotency-Key retried", testkit.ResetBeforeHead, "POST", map[string]string{"Idempotency-Key": "k1"}, 3, 502},
		{"reset PUT retried", testkit.ResetBeforeHead, "PUT", nil, 3, 502},
		{"timeout GET retried", testkit.Hang, "GET", nil, 3, 504},
		{"timeout PATCH not retried", testkit.Hang, "PATCH", nil, 1, 504},
		{"503 GET retried", testkit.Status(503), "GET", nil, 3, 503},
		{"503 POST relayed at once", testkit.Status(503), "POST", nil, 1, 503},
		{"500 not in retry_on_status", testkit.Status(500), "GET", nil, 1, 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := testkit.Start(t, tc.behavior)
			h := startGateway(t, oneTarget("retries: 2\ntimeouts: { read: 200ms, total: 5s }", u.URL))
			resp, _, err := h.do(tc.method, "/r", strings.NewReader("payload"), tc.headers)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if got := u.Hits(); got != tc.wantHits {
				t.Errorf("upstream hits = %d, want %d", got, tc.wantHits)
			}
		})
	}
}

// TestRetryStatusThenSuccess: a retried 503 followed by a 200 gives the
// client the 200.
func TestRetryStatusThenSuccess(t *testing.T) {
	u := testkit.Start(t, testkit.Sequence(testkit.Status(503), testkit.OK))
	h := startGateway(t, oneTarget("retries: 2", u.URL))
	resp, body := h.get("/x")
	if resp.StatusCode != 200 || string(body) != "GET /x\n" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	line := h.logFor(resp.Header.Get("X-Request-Id"))
	if atts := line["attempts"].([]any); len(atts) != 2 {
		t.Errorf("attempts = %v", atts)
	}
}

// TestConnectFailureRetriedForPOSTWithBodyIntact: nothing reached the
// refusing target, so even a POST is retried, on the other target, with
// its body replayed byte for byte.
func TestConnectFailureRetriedForPOSTWithBodyIntact(t *testing.T) {
	echo := testkit.Start(t, testkit.Echo)
	refusing := "http://" + testkit.RefusingAddr(t)
	h := startGateway(t, oneTarget("retries: 1", refusing, echo.URL))
	payload := strings.Repeat("0123456789", 3000) // 30 KB, inside the retry buffer
	for i := 0; i < 4; i++ {                      // round robin starts on either target
		resp, body, err := h.do("POST", "/orders", strings.NewReader(payload), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if got := echo.LastRequest().Body; string(got) != payload {
			t.Fatalf("body arrived with %d bytes, want %d", len(got), len(payload))
		}
	}
}

// TestResetRetriedOnOtherTargetWithBody: an idempotent request whose first
// target resets is retried on the other target with the body intact.
func TestResetRetriedOnOtherTargetWithBody(t *testing.T) {
	bad := testkit.Start(t, testkit.ResetBeforeHead)
	good := testkit.Start(t, testkit.Echo)
	h := startGateway(t, oneTarget("retries: 1", bad.URL, good.URL))
	payload := strings.Repeat("x", 5000)
	for i := 0; i < 4; i++ {
		resp, body, err := h.do("PUT", "/doc", strings.NewReader(payload), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("PUT: %v %v %s", err, resp, body)
		}
		if got := good.LastRequest().Body; string(got) != payload {
			t.Fatalf("body arrived with %d bytes", len(got))
		}
	}
	if bad.Hits() == 0 {
		t.Fatal("the resetting target was never tried")
	}
}

// TestOverallDeadlineBoundsRetries: per-try timeouts do not multiply; the
// total deadline ends the request.
func TestOverallDeadlineBoundsRetries(t *testing.T) {
	u := testkit.Start(t, testkit.Hang)
	h := startGateway(t, oneTarget("retries: 10\ntimeouts: { connect: 500ms, read: 400ms, total: 1s }", u.URL))
	start := time.Now()
	resp, body := h.get("/slow")
	d := time.Since(start)
	checkProblem(t, resp, body, 504, "upstream_timeout")
	if d > 3*time.Second {
		t.Errorf("request took %v; the 1s total deadline did not bound the retries", d)
	}
	if hits := u.Hits(); hits < 2 || hits > 4 {
		t.Errorf("upstream hits = %d, want 2..4 within the deadline", hits)
	}
}

// TestLargeBodyNotReplayed: a body bigger than retry_buffer cannot be
// replayed, so an idempotent request is not retried once it flowed.
func TestLargeBodyNotReplayed(t *testing.T) {
	u := testkit.Start(t, testkit.ResetBeforeHead)
	h := startGateway(t, oneTarget("retries: 2\nretry_buffer: 1KiB", u.URL))
	resp, body, err := h.do("PUT", "/big", strings.NewReader(strings.Repeat("y", 100_000)), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkProblem(t, resp, body, 502, "upstream_reset")
	if u.Hits() != 1 {
		t.Errorf("hits = %d, want 1", u.Hits())
	}
}

// TestWriteTimeout: an upstream that stops reading the request body makes
// the write time out instead of hanging the request.
func TestWriteTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept and never read
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	h := startGateway(t, oneTarget("retries: 0\ntimeouts: { write: 300ms, read: 20s, total: 60s }", "http://"+ln.Addr().String()))
	start := time.Now()
	// Far more than the socket buffers hold, so the write blocks. The body
	// is sent from its own goroutine over a raw connection so the client
	// reads the early answer however the server closes.
	c, err := net.Dial("tcp", h.app.ProxyAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const size = 64 << 20
	fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
	go func() {
		chunk := []byte(strings.Repeat("b", 64<<10))
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	checkProblem(t, resp, body, 504, "upstream_timeout")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v: the write timeout did not fire", d)
	}
}
