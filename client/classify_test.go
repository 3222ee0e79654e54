package client

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999999999", 0, false}, // overflows int64: malformed
		{"9223372036854775807", time.Duration(1<<63-1) / time.Second * time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Sat, 01 Mar 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Saturday, 01-Mar-25 12:00:30 GMT", 30 * time.Second, true}, // RFC 850
		{"Sat Mar  1 12:00:30 2025", 30 * time.Second, true},         // asctime
	}
	for _, tc := range cases {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

// TestBackoffFullJitter checks that each wait lies in [0, min(cap,
// base*2^n)) and that the waits spread over that range.
func TestBackoffFullJitter(t *testing.T) {
	base, capD := 100*time.Millisecond, 2*time.Second
	for n, ceiling := range []time.Duration{100, 200, 400, 800, 1600, 2000, 2000} {
		ceiling *= time.Millisecond
		var lo, hi time.Duration = ceiling, 0
		for range 2000 {
			d := backoff(base, capD, n)
			if d < 0 || d >= ceiling {
				t.Fatalf("retry %d: wait %v outside [0, %v)", n, d, ceiling)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo > ceiling/10 || hi < ceiling*9/10 {
			t.Errorf("retry %d: waits span only [%v, %v] of [0, %v)", n, lo, hi, ceiling)
		}
	}
	if d := backoff(0, time.Second, 3); d != 0 {
		t.Errorf("zero base: %v", d)
	}
	if d := backoff(time.Second, 1<<62, 200); d < 0 {
		t.Errorf("huge retry count overflowed: %v", d)
	}
}

func TestIdempotentMethod(t *testing.T) {
	for m, want := range map[string]bool{
		"": true, "GET": true, "HEAD": true, "OPTIONS": true, "PUT": true, "DELETE": true, "TRACE": true,
		"POST": false, "PATCH": false, "CONNECT": false, "get": false,
	} {
		if idempotentMethod(m) != want {
			t.Errorf("idempotentMethod(%q) = %v", m, !want)
		}
	}
}

func TestNewKey(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		k := newKey()
		if len(k) != 36 || k[14] != '4' || seen[k] {
			t.Fatalf("key %q: not a fresh v4 UUID", k)
		}
		seen[k] = true
	}
}
