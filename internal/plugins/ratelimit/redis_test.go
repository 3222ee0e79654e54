package ratelimit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	rl "github.com/sluicegw/sluice/internal/ratelimit"
	"github.com/sluicegw/sluice/internal/ratelimit/redistest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// redisPlugin is a rate-limit config on Redis at url under prefix.
func redisPlugin(url, prefix, rest string) string {
	return fmt.Sprintf(`{ redis_url: %q, redis_prefix: %q, %s }`, url, prefix, rest)
}

// TestThreeNodesShareRedis runs three independent gateways on one Redis
// and sends 500 concurrent requests spread over them against a limit of
// 100.
func TestThreeNodesShareRedis(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	u := testkit.Start(t, testkit.Echo)
	yaml := strings.ReplaceAll(withPlugin(oneRoute, redisPlugin("redis://"+redistest.Addr()+"/0", prefix,
		`limit: 100, window: 1h, by: ip, redis_timeout: 5s`)), "UPSTREAM", u.URL)
	nodes := []*gatewaytest.Gateway{gatewaytest.Start(t, yaml), gatewaytest.Start(t, yaml), gatewaytest.Start(t, yaml)}

	counts := fire(t, nodes, 500)
	if counts[200] != 100 || counts[429] != 400 {
		t.Errorf("statuses %v, want exactly 100×200 and 400×429 across three nodes", counts)
	}
	if n := u.Hits(); n != 100 {
		t.Errorf("upstream saw %d requests, want 100", n)
	}
	keys, err := redistest.Keys(context.Background(), c, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !strings.HasPrefix(keys[0], prefix+"route:r:100/1h0m0s:ip:r:ip:") {
		t.Fatalf("Redis keys %q, want one counter for route r and the client IP", keys)
	}
	if ttl := c.PTTL(context.Background(), keys[0]).Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("counter TTL = %s, want (0, 1h]", ttl)
	}
	// Every node sees the shared state.
	for i, g := range nodes {
		resp, _ := g.Get("/r", nil)
		if resp.StatusCode != 429 {
			t.Errorf("node %d after the burst: status %d, want 429", i, resp.StatusCode)
		}
	}
}

// outageNode starts a gateway limiting 5 per hour by X-Client on Redis
// reached through a proxy the test can cut.
func outageNode(t *testing.T, fail string) (*gatewaytest.Gateway, *testkit.Upstream, *redistest.Proxy) {
	t.Helper()
	prefix := redistest.Prefix(t, redistest.Client(t))
	p := redistest.NewProxy(t)
	g, u := node(t, withPlugin(oneRoute, redisPlugin(p.URL(), prefix,
		`limit: 5, window: 1h, by: "header:X-Client", redis_timeout: 400ms, fail: `+fail)))
	return g, u, p
}

// statuses sends n requests as client and returns their statuses; each
// must take well under a second (the Redis timeout is 400ms: generous for a loaded machine, short beside the second).
func statuses(t *testing.T, g *gatewaytest.Gateway, client string, n int) string {
	t.Helper()
	var out []string
	for range n {
		start := time.Now()
		resp, _ := g.Get("/r", map[string]string{"X-Client": client})
		if took := time.Since(start); took > time.Second {
			t.Errorf("a request took %s with Redis timeout 400ms", took)
		}
		out = append(out, fmt.Sprint(resp.StatusCode))
	}
	return strings.Join(out, " ")
}

// waitRecovered sends requests as client until the log says the limiter is
// back on Redis.
func waitRecovered(t *testing.T, g *gatewaytest.Gateway, client string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(g.RawLogs(), "rate limit backend recovered") {
		if time.Now().After(deadline) {
			t.Fatal("no recovery within 5s of Redis coming back")
		}
		statuses(t, g, client, 1)
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRedisOutageFailsOpen(t *testing.T) {
	g, _, p := outageNode(t, "open")
	before := rl.Totals()
	if got := statuses(t, g, "a", 4); got != "200 200 200 200" {
		t.Fatalf("Redis up: %s", got)
	}

	p.Cut()
	// The local limiter takes over with its own, fresh counters.
	if got := statuses(t, g, "b", 6); got != "200 200 200 200 200 429" {
		t.Errorf("Redis down, client b: %s; want the local limiter's 5 then 429", got)
	}
	if got := statuses(t, g, "a", 1); got != "200" {
		t.Errorf("Redis down, client a: %s; the local limiter does not know a's 4", got)
	}
	after := rl.Totals()
	if after.FailedOpen-before.FailedOpen < 7 || after.Outages-before.Outages < 1 {
		t.Errorf("counters before %+v after %+v; want ≥7 fail-open decisions and an outage", before, after)
	}
	if n := strings.Count(g.RawLogs(), "rate limit backend unavailable"); n != 1 {
		t.Errorf("the outage was logged %d times, want once", n)
	}

	p.Restore()
	waitRecovered(t, g, "c")
	// Back on Redis: a has 1 of 5 left there (the local limiter would allow
	// it 4 more), and b, never seen by Redis, has all 5.
	if got := statuses(t, g, "a", 2); got != "200 429" {
		t.Errorf("after recovery, client a: %s; want Redis's last unit then 429", got)
	}
	if got := statuses(t, g, "b", 1); got != "200" {
		t.Errorf("after recovery, client b: %s", got)
	}
	if n := strings.Count(g.RawLogs(), "rate limit backend recovered"); n != 1 {
		t.Errorf("the recovery was logged %d times, want once", n)
	}
}

// TestRedisStallFailsOpenWithinTheTimeout makes Redis accept connections
// but never answer: requests still pass, each within about the timeout.
func TestRedisStallFailsOpenWithinTheTimeout(t *testing.T) {
	g, u, p := outageNode(t, "open")
	if got := statuses(t, g, "a", 1); got != "200" {
		t.Fatalf("Redis up: %s", got)
	}
	p.Stall()
	if got := statuses(t, g, "a", 5); got != "200 200 200 200 200" {
		t.Errorf("Redis stalled: %s; want every request to pass on the local limiter", got)
	}
	if n := u.Hits(); n != 6 {
		t.Errorf("upstream saw %d requests, want 6", n)
	}
	p.Restore()
	waitRecovered(t, g, "z")
}

func TestRedisOutageFailsClosed(t *testing.T) {
	g, u, p := outageNode(t, "closed")
	if got := statuses(t, g, "a", 1); got != "200" {
		t.Fatalf("Redis up: %s", got)
	}
	before := rl.Totals()
	p.Cut()
	for range 3 {
		resp, body := g.Get("/r", map[string]string{"X-Client": "a"})
		gatewaytest.CheckProblem(t, resp, body, 429, "rate_limited")
		if got := resp.Header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After = %q, want 1", got)
		}
	}
	if n := u.Hits(); n != 1 {
		t.Errorf("upstream saw %d requests, want only the one before the outage", n)
	}
	if d := rl.Totals().FailedClosed - before.FailedClosed; d < 3 {
		t.Errorf("FailedClosed grew by %d, want ≥3", d)
	}
	p.Restore()
	waitRecovered(t, g, "z")
	if got := statuses(t, g, "a", 1); got != "200" {
		t.Errorf("after recovery: %s", got)
	}
}

// TestGlobalRedisURLIsTheDefault: with the config's top-level redis.url
// set, rate-limit shares its counters through Redis without a redis_url of
// its own.
func TestGlobalRedisURLIsTheDefault(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	u := testkit.Start(t, testkit.Echo)
	yaml := fmt.Sprintf(`redis: { url: "redis://%s/0" }
upstreams:
  - name: u
    targets: [{ url: %q }]
routes:
  - name: r
    match: { paths: ["/"] }
    upstream: u
    plugins:
      rate-limit: { limit: 5, window: 1h, by: route, redis_prefix: %q, redis_timeout: 2s }
`, redistest.Addr(), u.URL, prefix)
	a, b := gatewaytest.Start(t, yaml), gatewaytest.Start(t, yaml)
	allowed := 0
	for i := 0; i < 10; i++ {
		g := a
		if i%2 == 1 {
			g = b
		}
		if resp, _ := g.Get("/x", nil); resp.StatusCode == 200 {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("two nodes on the global redis.url admitted %d, want 5 in total", allowed)
	}
	keys, err := redistest.Keys(context.Background(), c, prefix)
	if err != nil || len(keys) == 0 {
		t.Fatalf("no counter keys under the prefix: %v %v", keys, err)
	}
}
