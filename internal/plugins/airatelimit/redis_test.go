package airatelimit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/plugins/aiplugintest"
	"github.com/sluicegw/sluice/internal/ratelimit/redistest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// TestTwoNodesShareRedis runs two gateways on one Redis (the config's
// top-level redis.url): a request on one node spends the tokens the other
// sees, the crossing request on node A makes node B refuse.
func TestTwoNodesShareRedis(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	plugin := fmt.Sprintf(`{ requests: 100, tokens: 1000, window: 24h, redis_prefix: %q, redis_timeout: 2s }`, prefix)
	extra := fmt.Sprintf("redis: { url: \"redis://%s/0\" }\n", redistest.Addr())
	a := startAI(t, plugin, "", extra)
	b := a.Also(plugin, extra)

	a.OA.Push(testkit.LLMReply{Text: "ok", Usage: testkit.LLMUsage{Input: 100, Output: 300}})
	a.MustChat(aliceKey, "gpt", "hi")
	// Node B sees the 400 spent on A, minus its own estimate.
	if h := b.MustChat(aliceKey, "gpt", short); h.Get("RateLimit-Remaining") != fmt.Sprint(600-estimate(short)) || h.Get("RateLimit-Limit") != "1000" {
		t.Fatalf("node B: RateLimit-Remaining %s of %s, want %d of 1000", h.Get("RateLimit-Remaining"), h.Get("RateLimit-Limit"), 600-estimate(short))
	}
	// The mock's default answer reports no usage: B refunded its estimate.
	// A's next answer crosses the limit; B refuses.
	a.OA.Push(testkit.LLMReply{Text: "ok", Usage: testkit.LLMUsage{Input: 10, Output: 700}})
	a.MustChat(aliceKey, "gpt", "hi")
	h, err := b.Chat(aliceKey, "gpt", "hi")
	wantRateLimited(t, err, h, "1000", "0")

	keys, err := redistest.Keys(context.Background(), c, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !strings.HasPrefix(keys[0], prefix+"route:ai:100r,1000t/24h0m0s:consumer:ai:consumer:alice") {
		t.Fatalf("Redis keys %q, want alice's bucket on route ai", keys)
	}
	// 1110 tokens spent of 1000 (400, B's refunded estimate, 710): the key
	// lives until the bucket is full again, 1110 × 86.4s from now.
	want := time.Duration(1110 * 86.4 * float64(time.Second))
	if ttl := c.PTTL(context.Background(), keys[0]).Val(); ttl > want || ttl < want-10*time.Second {
		t.Errorf("bucket TTL %s, want about %s: the key must expire when its bucket is full", ttl, want)
	}
}

// outageNode starts a node on Redis through a proxy the test can cut.
func outageNode(t *testing.T, fail string) (*aiplugintest.Env, *redistest.Proxy) {
	t.Helper()
	prefix := redistest.Prefix(t, redistest.Client(t))
	p := redistest.NewProxy(t)
	e := startAI(t, fmt.Sprintf(`{ requests: 3, window: 1h, redis_url: %q, redis_prefix: %q, redis_timeout: 1s, fail: %s }`,
		p.URL(), prefix, fail), "", "")
	return e, p
}

// waitRecovered sends requests as key until the log says the backend is
// back.
func waitRecovered(t *testing.T, e *aiplugintest.Env, key string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.G.RawLogs(), "ai-rate-limit backend recovered") {
		if time.Now().After(deadline) {
			t.Fatal("no recovery within 5s of Redis coming back")
		}
		e.Chat(key, "gpt", "hi")
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRedisOutageFailsOpen(t *testing.T) {
	e, p := outageNode(t, "open")
	e.MustChat(aliceKey, "gpt", "hi")
	e.MustChat(aliceKey, "gpt", "hi")
	p.Cut()
	// The node's local buckets take over, fresh: bob gets 3, then 429.
	for i := range 3 {
		start := time.Now()
		e.MustChat(bobKey, "gpt", "hi")
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("request %d took %s with Redis cut", i, took)
		}
	}
	h, err := e.Chat(bobKey, "gpt", "hi")
	wantRateLimited(t, err, h, "3", "0")
	if n := strings.Count(e.G.RawLogs(), "ai-rate-limit backend unavailable; failing open"); n != 1 {
		t.Errorf("the outage was logged %d times, want once", n)
	}
	p.Restore()
	waitRecovered(t, e, carolKey)
	// Back on Redis: alice has 1 left there.
	e.MustChat(aliceKey, "gpt", "hi")
	h, err = e.Chat(aliceKey, "gpt", "hi")
	wantRateLimited(t, err, h, "3", "0")
}

func TestRedisOutageFailsClosed(t *testing.T) {
	e, p := outageNode(t, "closed")
	e.MustChat(aliceKey, "gpt", "hi")
	calls := len(e.OA.Requests())
	p.Cut()
	for range 2 {
		h, err := e.Chat(aliceKey, "gpt", "hi")
		if apiMessage(err) != "AI rate limiting is unavailable; retry later." || h.Get("Retry-After") != "1" {
			t.Errorf("Redis down, failing closed: %v (Retry-After %q)", err, h.Get("Retry-After"))
		}
		wantRateLimited(t, err, h, "", "")
	}
	if len(e.OA.Requests()) != calls {
		t.Errorf("a request reached the provider while failing closed")
	}
	p.Restore()
	waitRecovered(t, e, carolKey)
	e.MustChat(aliceKey, "gpt", "hi")
}
