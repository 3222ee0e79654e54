package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicegw/sluice/internal/testkit"
)

// redisOrSkip returns a client for the shared Redis, skipping loudly when
// it is absent (failing under CI=true).
func redisOrSkip(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at 127.0.0.1:6379 is required under CI: %v", err)
		}
		t.Skipf("SKIPPED: Redis at 127.0.0.1:6379 is unreachable (%v); multi-node rate limits untested", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestThreeProcessesShareOneRateLimit runs three `sluice serve` processes
// on one Redis and fires 500 concurrent requests across them against a
// limit of 100: exactly 100 pass, and only those reach the upstream.
func TestThreeProcessesShareOneRateLimit(t *testing.T) {
	rc := redisOrSkip(t)
	var rnd [6]byte
	rand.Read(rnd[:])
	prefix := "sluice-test:" + hex.EncodeToString(rnd[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rc.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rc.Del(ctx, keys...)
		}
	})
	up := testkit.Start(t, testkit.OK)
	cfg := fmt.Sprintf(`server: { listen: "127.0.0.1:0", admin_listen: "127.0.0.1:0" }
log: { access: "off" }
redis: { url: "redis://127.0.0.1:6379/0" }
upstreams:
  - name: u
    targets: [{ url: %q }]
routes:
  - name: r
    match: { paths: ["/"] }
    upstream: u
    plugins:
      rate-limit: { limit: 100, window: 1h, by: route, redis_prefix: %q, redis_timeout: 2s }
`, up.URL, prefix)
	var addrs []string
	for i := 0; i < 3; i++ {
		dir := t.TempDir()
		path := filepath.Join(dir, "sluice.yaml")
		os.WriteFile(path, []byte(cfg), 0o600)
		_, addr, _ := startServe(t, dir, "--config", path, "--data", filepath.Join(dir, "data"))
		addrs = append(addrs, addr)
	}
	// Let every node finish starting (store, first admin user) before the
	// burst, so the burst measures the shared limit, not start-up load.
	for _, a := range addrs {
		waitAdmin(t, a)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200, DialContext: (&net.Dialer{}).DialContext}}
	var passed, limited, other atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			resp, err := client.Get("http://" + addrs[i%3] + "/x")
			if err != nil {
				other.Add(1)
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case 200:
				passed.Add(1)
			case 429:
				limited.Add(1)
			default:
				other.Add(1)
			}
		}(i)
	}
	close(start)
	wg.Wait()
	if passed.Load() != 100 || limited.Load() != 400 || other.Load() != 0 {
		t.Fatalf("passed %d, limited %d, other %d; want exactly 100 / 400 / 0", passed.Load(), limited.Load(), other.Load())
	}
	if up.Hits() != 100 {
		t.Fatalf("upstream hits %d, want 100", up.Hits())
	}
}

// waitAdmin waits until a node's admin API is up: its store is open and
// its config loaded from it.
func waitAdmin(t *testing.T, proxyAddr string) {
	t.Helper()
	admin, _ := adminAddrs.Load(proxyAddr)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + admin.(string) + "/api/v1/status")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized { // served by the API, not 503
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("node %s did not come up", proxyAddr)
}
