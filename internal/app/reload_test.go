package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"
)

func routeTo(prefix, url string) string {
	return fmt.Sprintf(`upstreams:
  - name: u
    targets: [{ url: %q }]
routes:
  - name: r
    match: { paths: [%q] }
    upstream: u
`, url, prefix)
}

// TestReloadOnFileChangeAndBadConfigKept: a changed file is picked up
// without a signal; a broken file is rejected and the old config serves on.
func TestReloadOnFileChangeAndBadConfigKept(t *testing.T) {
	a := testkit.Start(t, testkit.Respond(200, nil, "A"))
	b := testkit.Start(t, testkit.Respond(200, nil, "B"))
	h := startGateway(t, routeTo("/", a.URL))
	if WatchErr := h.app.WatchConfig(t.Context()); WatchErr != nil {
		t.Fatal(WatchErr)
	}
	if _, body := h.get("/"); string(body) != "A" {
		t.Fatalf("body %q", body)
	}
	h.rewrite(routeTo("/", b.URL))
	waitFor(t, 5*time.Second, func() bool { _, body := h.get("/"); return string(body) == "B" })

	// The file's config, not the version: the store opening in the
	// background may swap a snapshot (same file config) at any time.
	before := h.app.fileCfg.Load()
	h.rewrite("upstreams: [ { name: broken, targets: [ { url: 'ftp://x' } ] } ]\nbogus_key: 1\n")
	time.Sleep(700 * time.Millisecond)
	if _, body := h.get("/"); string(body) != "B" {
		t.Fatalf("after a bad config, body %q; the old snapshot must keep serving", body)
	}
	if h.app.fileCfg.Load() != before {
		t.Fatalf("a bad config was swapped in")
	}
	if !strings.Contains(h.errlog.String(), "reload rejected") {
		t.Errorf("the rejection was not logged:\n%s", h.errlog.String())
	}
}

// TestReloadUnderLoadLosesNothing reloads the config over and over while
// requests flow, including slow in-flight ones; none may fail.
func TestReloadUnderLoadLosesNothing(t *testing.T) {
	fast := testkit.Start(t, testkit.OK)
	slow := testkit.Start(t, testkit.SlowHead(150*time.Millisecond))
	cfg := func(n int) string {
		return fmt.Sprintf(`upstreams:
  - name: fast
    targets: [{ url: %q, weight: %d }]
  - name: slow
    targets: [{ url: %q }]
routes:
  - name: fast
    match: { paths: ["/fast"] }
    upstream: fast
  - name: slow
    match: { paths: ["/slow"] }
    upstream: slow
`, fast.URL, 100+n%5, slow.URL)
	}
	h := startGateway(t, cfg(0))
	ctx, cancel := context.WithCancel(context.Background())
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			path := "/fast"
			if w%4 == 0 {
				path = "/slow"
			}
			for ctx.Err() == nil {
				resp, err := h.client.Get(h.url + path)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
					if err == nil {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}(w)
	}
	for i := 1; i <= 20; i++ {
		h.rewrite(cfg(i))
		if err := h.app.Reload(); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed during reloads; first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	if ok.Load() < 50 {
		t.Fatalf("only %d requests completed", ok.Load())
	}
}

// TestShutdownDrainsInFlight: an in-flight request finishes while the
// node shuts down; new connections are refused.
func TestShutdownDrainsInFlight(t *testing.T) {
	slow := testkit.Start(t, testkit.SlowHead(500*time.Millisecond))
	h := startGateway(t, routeTo("/", slow.URL))
	done := make(chan error, 1)
	go func() {
		resp, body, err := h.do("GET", "/inflight", nil, nil)
		if err == nil && (resp.StatusCode != 200 || len(body) == 0) {
			err = fmt.Errorf("status %d body %q", resp.StatusCode, body)
		}
		done <- err
	}()
	waitFor(t, 2*time.Second, func() bool { return slow.Hits() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.app.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	if _, err := http.Get(h.url + "/after"); err == nil {
		t.Fatal("a request after shutdown was served")
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
