package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicegw/sluice/internal/ratelimit/redistest"
)

func init() {
	// go-redis prints every failed dial; the outage tests cause many.
	redis.SetLogger(quietRedis{})
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func newTestRedis(t testing.TB, c redis.Scripter, r Rate, prefix string, timeout time.Duration) *Redis {
	t.Helper()
	l, err := NewRedis(c, r, RedisOptions{Prefix: prefix, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestRedisDecisions runs the burst through Redis with a window long enough
// that no unit comes back during the test, so the answers are exact.
func TestRedisDecisions(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	l := newTestRedis(t, c, Rate{Limit: 5, Window: time.Hour}, prefix, time.Second)
	ctx := context.Background()
	period := 12 * time.Minute

	d, err := l.Allow(ctx, "peek", 0)
	if err != nil || !d.Allowed || d.Remaining != 5 || d.ResetAfter != 0 {
		t.Fatalf("cost 0 on a new key = %+v, %v; want allowed, 5 remaining, reset 0", d, err)
	}
	if n, _ := c.Exists(ctx, prefix+"peek").Result(); n != 0 {
		t.Error("cost 0 created a key")
	}

	for i := range int64(5) {
		d, err := l.Allow(ctx, "k", 1)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed || d.Limit != 5 || d.Remaining != 4-i || d.RetryAfter != 0 {
			t.Fatalf("request %d = %+v; want allowed with %d remaining", i, d, 4-i)
		}
		if want := time.Duration(i+1) * period; d.ResetAfter > want || d.ResetAfter < want-time.Second {
			t.Errorf("request %d: ResetAfter = %s, want about %s", i, d.ResetAfter, want)
		}
	}
	d, err = l.Allow(ctx, "k", 1)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.Remaining != 0 || d.RetryAfter > period || d.RetryAfter < period-time.Second {
		t.Fatalf("sixth request = %+v; want refused with RetryAfter about %s", d, period)
	}

	raw, err := c.Get(ctx, prefix+"k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strconv.ParseInt(raw, 10, 64); err != nil {
		t.Errorf("stored TAT %q is not an exact integer: %v", raw, err)
	}
	ttl, err := c.PTTL(ctx, prefix+"k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("key TTL = %s, want just under 1h (the TAT)", ttl)
	}
	if _, err := l.Allow(ctx, "k", 6); !errors.Is(err, ErrCost) {
		t.Errorf("cost above the limit: error %v, want ErrCost", err)
	}
}

// TestRedisRefills checks that units come back on the server's clock.
func TestRedisRefills(t *testing.T) {
	c := redistest.Client(t)
	l := newTestRedis(t, c, Rate{Limit: 2, Window: 2 * time.Second}, redistest.Prefix(t, c), time.Second)
	ctx := context.Background()
	for range 2 {
		if d, err := l.Allow(ctx, "k", 1); err != nil || !d.Allowed {
			t.Fatalf("burst: %+v, %v", d, err)
		}
	}
	d, err := l.Allow(ctx, "k", 1)
	if err != nil || d.Allowed {
		t.Fatalf("over the burst: %+v, %v", d, err)
	}
	time.Sleep(d.RetryAfter + 50*time.Millisecond)
	if d, err := l.Allow(ctx, "k", 1); err != nil || !d.Allowed {
		t.Fatalf("after RetryAfter: %+v, %v; want allowed", d, err)
	}
	if d, err := l.Allow(ctx, "k", 1); err != nil || d.Allowed {
		t.Fatalf("right after the refilled unit: %+v, %v; want refused", d, err)
	}
}

// TestRedisConcurrentExact races 500 requests against a limit of 100, from
// one node and from three nodes (separate clients) sharing Redis.
func TestRedisConcurrentExact(t *testing.T) {
	for _, nodes := range []int{1, 3} {
		t.Run(strconv.Itoa(nodes)+" nodes", func(t *testing.T) {
			c := redistest.Client(t)
			prefix := redistest.Prefix(t, c)
			limiters := make([]*Redis, nodes)
			for i := range limiters {
				nc := redis.NewClient(&redis.Options{Addr: redistest.Addr(), PoolSize: 50})
				t.Cleanup(func() { nc.Close() })
				limiters[i] = newTestRedis(t, nc, Rate{Limit: 100, Window: time.Hour}, prefix, 10*time.Second)
			}
			var admitted atomic.Int64
			var start, wg sync.WaitGroup
			start.Add(1)
			for i := range 500 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start.Wait()
					d, err := limiters[i%nodes].Allow(context.Background(), "shared", 1)
					if err != nil {
						t.Error(err)
						return
					}
					if d.Allowed {
						admitted.Add(1)
					}
				}()
			}
			start.Done()
			wg.Wait()
			if n := admitted.Load(); n != 100 {
				t.Errorf("admitted %d of 500 concurrent requests, want exactly 100", n)
			}
		})
	}
}

// TestRedisTimeoutBoundsLatency stalls Redis behind a proxy: a decision
// fails after about the timeout instead of hanging.
func TestRedisTimeoutBoundsLatency(t *testing.T) {
	prefix := redistest.Prefix(t, redistest.Client(t))
	p := redistest.NewProxy(t)
	c, err := NewRedisClient(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	l := newTestRedis(t, c, Rate{Limit: 5, Window: time.Minute}, prefix, 100*time.Millisecond)
	ctx := context.Background()
	if _, err := l.Allow(ctx, "k", 0); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	for _, tc := range []struct {
		name  string
		fault func()
	}{
		{"stalled", p.Stall},
		{"cut", p.Cut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fault()
			defer p.Restore()
			for range 3 {
				start := time.Now()
				_, err := l.Allow(ctx, "k", 0)
				took := time.Since(start)
				if err == nil {
					t.Fatal("decision succeeded with Redis unreachable")
				}
				// Far above the 100ms timeout, far below go-redis's own
				// multi-second defaults.
				if took > time.Second {
					t.Errorf("failed after %s; want about the 100ms timeout", took)
				}
			}
		})
	}
}

func TestNewRedisClientHidesTheURL(t *testing.T) {
	for _, u := range []string{"http://user:s3cret@host:6379", "redis://user:s3cret@host:port/0", "redis://:s3cret@ho st"} {
		_, err := NewRedisClient(u)
		if err == nil {
			t.Errorf("NewRedisClient(%q) accepted a bad URL", u)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q shows the password", err)
		}
	}
}
