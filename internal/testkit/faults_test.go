package testkit

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFaultsSeenByHTTPClient checks each fault as a plain net/http client
// experiences it.
func TestFaultsSeenByHTTPClient(t *testing.T) {
	tests := []struct {
		name    string
		b       Behavior
		timeout time.Duration
		check   func(t *testing.T, err error)
	}{
		{
			name: "reset before head is a connection reset",
			b:    ResetBeforeHead,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("err = %v, want ECONNRESET", err)
				}
			},
		},
		{
			name: "close before head is an EOF, not a reset",
			b:    CloseBeforeHead,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("err = %v, want EOF", err)
				}
			},
		},
		{
			name: "garbage is a malformed response",
			b:    Garbage,
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "malformed HTTP") {
					t.Errorf("err = %v, want a malformed-response error", err)
				}
			},
		},
		{
			name:    "hang times the client out",
			b:       Hang,
			timeout: 200 * time.Millisecond,
			check: func(t *testing.T, err error) {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("err = %v, want a timeout", err)
				}
			},
		},
		{
			name:    "slow head beyond the client's patience times it out",
			b:       SlowHead(5 * time.Second),
			timeout: 200 * time.Millisecond,
			check: func(t *testing.T, err error) {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("err = %v, want a timeout", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := Start(t, tt.b)
			c := u.Client()
			c.Timeout = tt.timeout
			resp, err := c.Get(u.URL + "/")
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got a response (%d), want a client error", resp.StatusCode)
			}
			tt.check(t, err)
			if got := u.Hits(); got != 1 {
				t.Errorf("Hits() = %d, want 1", got)
			}
		})
	}
}

// TestFaultsOnTheWire checks the exact bytes and the way each connection
// ends, below any HTTP client.
func TestFaultsOnTheWire(t *testing.T) {
	tests := []struct {
		name     string
		b        Behavior
		wantData string
		wantErr  error // nil means a clean EOF
	}{
		{"reset before head", ResetBeforeHead, "", syscall.ECONNRESET},
		{"close before head", CloseBeforeHead, "", nil},
		{"garbage", Garbage, "HELLO WORLD\r\n\r\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := Start(t, tt.b)
			c, err := net.Dial("tcp", u.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"); err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(c)
			if string(data) != tt.wantData {
				t.Errorf("read %q, want %q", data, tt.wantData)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("connection ended with %v, want a clean EOF", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("connection ended with %v, want %v", err, tt.wantErr)
			}
			if got := string(u.LastRequest().Body); got != "abc" {
				t.Errorf("recorded body %q, want %q", got, "abc")
			}
		})
	}
}

func TestFaultBeforeHeadDoesNotAnswerExpectContinue(t *testing.T) {
	u := Start(t, CloseBeforeHead)
	c, err := net.Dial("tcp", u.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(c)
	if len(data) != 0 || err != nil {
		t.Errorf("read %q, %v; want a clean close with no bytes", data, err)
	}
}

func TestResetMidBody(t *testing.T) {
	u := Start(t, ResetMidBody)
	resp, err := u.Client().Get(u.URL + "/")
	if err != nil {
		t.Fatalf("want a response head, got %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != 1000 {
		t.Fatalf("got %d with length %d, want 200 with 1000", resp.StatusCode, resp.ContentLength)
	}
	body, err := io.ReadAll(resp.Body)
	if len(body) != 100 {
		t.Errorf("read %d body bytes, want 100", len(body))
	}
	if err == nil {
		t.Errorf("body ended cleanly, want an error")
	}
}

func TestSlowHeadAnswersAfterDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	u := Start(t, SlowHead(delay))
	start := time.Now()
	status, body, err := get(t, u.Client(), u.URL+"/slow")
	if err != nil || status != http.StatusOK || body != "GET /slow\n" {
		t.Fatalf("got %d %q, %v", status, body, err)
	}
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("answered after %v, before the %v delay", elapsed, delay)
	}
}

// openConns returns how many connections the upstream is still serving.
func openConns(u *Upstream) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.active)
}

func TestWaitingStopsWhenClientCloses(t *testing.T) {
	tests := []struct {
		name string
		b    Behavior
	}{
		{"slow head", SlowHead(time.Hour)},
		{"hang", Hang},
		{"drip", Drip(2, time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := Start(t, tt.b)
			c, err := net.Dial("tcp", u.Addr)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			for u.Hits() == 0 {
				time.Sleep(time.Millisecond)
			}
			c.Close()
			// The upstream must notice the close long before the wait is over.
			deadline := time.Now().Add(10 * time.Second)
			for openConns(u) > 0 {
				if time.Now().After(deadline) {
					t.Fatal("the upstream kept the connection after the client closed it")
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// readTimed reads lines from r, noting when each arrived.
func readTimed(t *testing.T, r io.Reader, n int) ([]string, []time.Time) {
	t.Helper()
	br := bufio.NewReader(r)
	var lines []string
	var at []time.Time
	for range n {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", lines, err)
		}
		lines = append(lines, line)
		at = append(at, time.Now())
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after the last line: %q, %v", rest, err)
	}
	return lines, at
}

// checkSpaced fails unless consecutive arrivals are at least min apart:
// chunks that were buffered together would arrive at the same time.
func checkSpaced(t *testing.T, start time.Time, at []time.Time, minGap time.Duration) {
	t.Helper()
	prev := start
	for i, a := range at {
		if gap := a.Sub(prev); gap < minGap {
			t.Errorf("chunk %d arrived %v after the previous one, want at least %v", i+1, gap, minGap)
		}
		prev = a
	}
}

func TestDripSendsChunksApart(t *testing.T) {
	const interval = 200 * time.Millisecond
	u := Start(t, Drip(3, interval))
	resp, err := u.Client().Get(u.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := time.Now()
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("TransferEncoding = %q, want chunked", resp.TransferEncoding)
	}
	lines, at := readTimed(t, resp.Body, 3)
	if got := strings.Join(lines, ""); got != "chunk 1\nchunk 2\nchunk 3\n" {
		t.Errorf("body = %q", got)
	}
	checkSpaced(t, head, at, interval/2)
}

func TestSSESendsEventsApart(t *testing.T) {
	const interval = 200 * time.Millisecond
	u := Start(t, SSE([]string{"data: one", "event: ping\ndata: {}\n", "data: [DONE]\n\n"}, interval))
	resp, err := u.Client().Get(u.URL + "/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := time.Now()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	lines, at := readTimed(t, resp.Body, 7)
	want := "data: one\n\nevent: ping\ndata: {}\n\ndata: [DONE]\n\n"
	if got := strings.Join(lines, ""); got != want {
		t.Errorf("stream = %q, want %q", got, want)
	}
	// Each event ends with its blank line; those lines mark arrivals.
	checkSpaced(t, head, []time.Time{at[1], at[4], at[6]}, interval/2)
}

func TestDripOverHTTP10IsCloseDelimited(t *testing.T) {
	u := Start(t, Drip(2, time.Millisecond))
	head, body, err := RawRequest(t, u.Addr, "GET / HTTP/1.0\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(head), "chunked") || !strings.Contains(head, "Connection: close\r\n") {
		t.Errorf("head = %q, want close-delimited", head)
	}
	if string(body) != "chunk 1\nchunk 2\n" {
		t.Errorf("body = %q", body)
	}
}
