package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/ratelimit/redistest"
)

// scriptedRemote is a remote that fails while broken is set and counts its
// calls.
type scriptedRemote struct {
	broken atomic.Bool
	calls  atomic.Int64
}

var errRemote = errors.New("connection refused")

func (r *scriptedRemote) Allow(ctx context.Context, key string, cost int64) (Decision, error) {
	r.calls.Add(1)
	if r.broken.Load() {
		return Decision{}, errRemote
	}
	return Decision{Allowed: true, Limit: 100, Remaining: 42}, nil
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), sub)
}

func TestFailover(t *testing.T) {
	const probe = 50 * time.Millisecond
	tests := []struct {
		name   string
		closed bool
	}{
		{"fail open", false},
		{"fail closed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remote := &scriptedRemote{}
			local := newTestMemory(t, Rate{Limit: 3, Window: time.Hour}, nil)
			logs := &syncBuffer{}
			f, err := NewFailover(remote, FailoverOptions{Local: local, FailClosed: tt.closed, ProbeInterval: probe,
				Log: slog.New(slog.NewTextHandler(logs, nil)), Name: "test"})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()

			if d, err := f.Allow(ctx, "k", 1); err != nil || d.Remaining != 42 {
				t.Fatalf("remote up: %+v, %v; want the remote's decision", d, err)
			}

			remote.broken.Store(true)
			before := Totals()
			var allowed int
			for range 10 {
				d, err := f.Allow(ctx, "k", 1)
				switch {
				case tt.closed:
					if !errors.Is(err, ErrUnavailable) {
						t.Fatalf("fail closed: error %v, want ErrUnavailable", err)
					}
				case err != nil:
					t.Fatalf("fail open: %v", err)
				case d.Allowed:
					allowed++
				}
			}
			if !f.Down() {
				t.Error("remote errors did not mark the remote down")
			}
			if got := remote.calls.Load(); got != 2 {
				t.Errorf("remote called %d times; want 2 (one success, then one failure that marks it down)", got)
			}
			if !tt.closed && allowed != 3 {
				t.Errorf("local limiter admitted %d, want its limit 3", allowed)
			}
			st := f.Stats()
			want := Stats{RemoteErrors: 1, Outages: 1}
			if tt.closed {
				want.FailedClosed = 10
			} else {
				want.FailedOpen = 10
			}
			if st != want {
				t.Errorf("Stats = %+v, want %+v", st, want)
			}
			if tot := Totals(); tot.Outages-before.Outages < 1 || tot.RemoteErrors-before.RemoteErrors < 1 {
				t.Errorf("Totals did not count the outage: before %+v after %+v", before, tot)
			}

			// Still broken: one probe per interval, and no new log line.
			time.Sleep(probe + 10*time.Millisecond)
			for range 10 {
				f.Allow(ctx, "k", 1)
			}
			if got := remote.calls.Load(); got != 3 {
				t.Errorf("after one probe interval the remote was called %d times in all, want 3", got)
			}

			remote.broken.Store(false)
			time.Sleep(probe + 10*time.Millisecond)
			for range 5 {
				if d, err := f.Allow(ctx, "k", 1); err != nil || d.Remaining != 42 {
					t.Fatalf("after recovery: %+v, %v; want the remote's decision", d, err)
				}
			}
			if f.Down() {
				t.Error("a successful probe did not mark the remote up")
			}
			if n := logs.count("rate limit backend unavailable"); n != 1 {
				t.Errorf("logged the outage %d times, want once", n)
			}
			if n := logs.count("rate limit backend recovered"); n != 1 {
				t.Errorf("logged the recovery %d times, want once", n)
			}
		})
	}
}

func TestFailoverIgnoresCallerCancellation(t *testing.T) {
	remote := &scriptedRemote{}
	remote.broken.Store(true)
	f, err := NewFailover(remote, FailoverOptions{FailClosed: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Allow(ctx, "k", 1); err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("error = %v, want the remote's error, not a fallback", err)
	}
	if f.Down() || f.Stats() != (Stats{}) {
		t.Errorf("a cancelled caller marked the remote down: %+v", f.Stats())
	}
}

func TestNewFailoverNeedsLocalToFailOpen(t *testing.T) {
	if _, err := NewFailover(&scriptedRemote{}, FailoverOptions{}); err == nil {
		t.Error("a fail-open failover without a local limiter was accepted")
	}
}

// TestFailoverOverRedis cuts a real Redis connection mid-stream: requests
// keep getting decisions from the local limiter, and after the proxy is
// restored the decisions come from Redis again, whose state outlived the
// outage.
func TestFailoverOverRedis(t *testing.T) {
	prefix := redistest.Prefix(t, redistest.Client(t))
	p := redistest.NewProxy(t)
	c, err := NewRedisClient(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rate := Rate{Limit: 5, Window: time.Hour}
	remote := newTestRedis(t, c, rate, prefix, 100*time.Millisecond)
	f, err := NewFailover(remote, FailoverOptions{Local: newTestMemory(t, rate, nil), ProbeInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	allow := func(n int) (admitted int) {
		t.Helper()
		for range n {
			start := time.Now()
			d, err := f.Allow(ctx, "k", 1)
			if err != nil {
				t.Fatalf("fail open returned an error: %v", err)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("a decision took %s with a 100ms timeout", took)
			}
			if d.Allowed {
				admitted++
			}
		}
		return admitted
	}

	if n := allow(4); n != 4 {
		t.Fatalf("Redis up: admitted %d of 4", n)
	}
	p.Cut()
	// The local limiter knows nothing of the 4 spent in Redis.
	if n := allow(7); n != 5 {
		t.Errorf("Redis down: the local limiter admitted %d of 7, want 5", n)
	}
	if !f.Down() {
		t.Fatal("the failover did not notice the outage")
	}
	p.Restore()
	deadline := time.Now().Add(5 * time.Second)
	for f.Down() && time.Now().Before(deadline) {
		allow(1)
		time.Sleep(20 * time.Millisecond)
	}
	if f.Down() {
		t.Fatal("the failover did not recover within 5s of Redis coming back")
	}
	// The probe that recovered spent Redis's last unit; Redis refuses now,
	// though the local limiter would refuse too, so check Redis directly.
	d, err := remote.Allow(ctx, "k", 0)
	if err != nil || d.Remaining != 0 {
		t.Errorf("Redis after recovery: %+v, %v; want its 5 units spent (4 before, 1 by the probe)", d, err)
	}
}
