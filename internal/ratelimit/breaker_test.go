package ratelimit

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	for _, closed := range []bool{false, true} {
		name := "fails open"
		if closed {
			name = "fails closed"
		}
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			b := NewBreaker(BreakerOptions{FailClosed: closed, ProbeInterval: 100 * time.Millisecond,
				Log: slog.New(slog.NewTextHandler(&logs, nil)), Name: "test", Kind: "test backend"})
			before := Totals()
			if !b.UseRemote() || b.Down() {
				t.Fatal("a new breaker must use the remote")
			}
			b.Failed(errors.New("connection refused"))
			b.Failed(errors.New("connection refused"))
			if !b.Down() {
				t.Fatal("not down after a failure")
			}
			// Down: no probe within the interval.
			for range 5 {
				if b.UseRemote() {
					t.Fatal("a down remote was used before the probe interval")
				}
				err := b.FallBack()
				if closed != errors.Is(err, ErrUnavailable) {
					t.Fatalf("FallBack = %v with FailClosed %v", err, closed)
				}
			}
			time.Sleep(150 * time.Millisecond)
			// One probe per interval, however many callers ask.
			probes := 0
			for range 5 {
				if b.UseRemote() {
					probes++
				}
			}
			if probes != 1 {
				t.Fatalf("%d probes after the interval, want 1", probes)
			}
			b.Succeeded()
			if b.Down() || !b.UseRemote() {
				t.Fatal("still down after a successful probe")
			}
			s := b.Stats()
			if s.RemoteErrors != 2 || s.Outages != 1 || s.FailedOpen+s.FailedClosed != 5 || (s.FailedClosed == 5) != closed {
				t.Errorf("stats %+v", s)
			}
			if d := Totals().Outages - before.Outages; d < 1 {
				t.Errorf("process totals did not count the outage")
			}
			out := logs.String()
			if strings.Count(out, "test backend unavailable") != 1 || strings.Count(out, "test backend recovered") != 1 {
				t.Errorf("logs: %s", out)
			}
		})
	}
}
