package app

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"
	"github.com/sluicegw/sluice/internal/upstream"
)

// TestPassiveEjectionAndRecovery: consecutive failures eject a target; with
// every target out, requests get 503 no_healthy_upstream without dialling;
// after the cooldown one probation request brings it back.
func TestPassiveEjectionAndRecovery(t *testing.T) {
	u := testkit.Start(t, testkit.Status(502))
	h := startGateway(t, oneTarget(`retries: 0
health_check:
  passive: { unhealthy: 3, cooldown: 700ms }`, u.URL))
	for i := 0; i < 3; i++ {
		if resp, _ := h.get("/x"); resp.StatusCode != 502 {
			t.Fatalf("request %d: status %d, want the upstream's 502", i, resp.StatusCode)
		}
	}
	hits := u.Hits()
	resp, body := h.get("/x")
	checkProblem(t, resp, body, 503, "no_healthy_upstream")
	if u.Hits() != hits {
		t.Fatalf("an ejected target was dialled")
	}
	u.Set(testkit.OK)
	time.Sleep(900 * time.Millisecond)
	if resp, body := h.get("/x"); resp.StatusCode != 200 {
		t.Fatalf("after cooldown: %d %s", resp.StatusCode, body)
	}
	if resp, _ := h.get("/x"); resp.StatusCode != 200 {
		t.Fatalf("after recovery: %d", resp.StatusCode)
	}
}

// TestActiveHealthChecks: a target whose health endpoint fails is taken
// out of rotation; traffic goes to the healthy one; it comes back when its
// health endpoint recovers.
func TestActiveHealthChecks(t *testing.T) {
	a := testkit.Start(t, testkit.Respond(200, nil, "a"), testkit.WithHealth("/healthz"))
	b := testkit.Start(t, testkit.Respond(200, nil, "b"), testkit.WithHealth("/healthz"))
	h := startGateway(t, oneTarget(`health_check:
  active: { path: /healthz, interval: 100ms, timeout: 80ms, healthy: 1, unhealthy: 1 }`, a.URL, b.URL))
	b.SetHealthy(false)
	// Wait for the gateway's verdict, not for a probe count: under load a
	// probe may land well after the health endpoint changed.
	waitFor(t, 5*time.Second, func() bool { return targetState(h, "u", b.URL) == upstream.StateUnhealthy })
	for i := 0; i < 10; i++ {
		if _, body := h.get("/x"); string(body) != "a" {
			t.Fatalf("request %d went to the unhealthy target", i)
		}
	}
	b.SetHealthy(true)
	waitFor(t, 3*time.Second, func() bool {
		_, body := h.get("/x")
		return string(body) == "b"
	})
	a.SetHealthy(false)
	b.SetHealthy(false)
	waitFor(t, 3*time.Second, func() bool {
		resp, _ := h.get("/x")
		return resp.StatusCode == 503 && resp.Header.Get("Sluice-Error") == "no_healthy_upstream"
	})
}

// TestMaxConnectionsOverloaded: beyond max_connections the gateway answers
// 503 upstream_overloaded at once instead of queueing.
func TestMaxConnectionsOverloaded(t *testing.T) {
	u := testkit.Start(t, testkit.SlowHead(800*time.Millisecond))
	h := startGateway(t, oneTarget("max_connections: 1\nretries: 0", u.URL))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.get("/slow")
	}()
	waitFor(t, 2*time.Second, func() bool { return u.Hits() == 1 })
	start := time.Now()
	resp, body := h.get("/second")
	checkProblem(t, resp, body, 503, "upstream_overloaded")
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("the overloaded answer took %v; it must not wait for a slot", d)
	}
	wg.Wait()
	if resp, _ := h.get("/third"); resp.StatusCode != 200 {
		t.Fatalf("after the slot freed: %d", resp.StatusCode)
	}
}

// TestKeepAliveReuse: sequential requests reuse one upstream connection.
func TestKeepAliveReuse(t *testing.T) {
	u := testkit.Start(t, testkit.OK)
	h := startGateway(t, oneTarget("", u.URL))
	for i := 0; i < 20; i++ {
		if resp, _ := h.get(fmt.Sprintf("/k/%d", i)); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if c := u.Conns(); c != 1 {
		t.Errorf("20 sequential requests used %d upstream connections, want 1", c)
	}
}

// TestStaleKeepAliveConnection: a pooled connection the upstream closed
// while idle is replaced transparently for an idempotent request.
func TestStaleKeepAliveConnection(t *testing.T) {
	u := testkit.Start(t, testkit.OK)
	h := startGateway(t, oneTarget("retries: 0", u.URL))
	if resp, _ := h.get("/a"); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	// Close the upstream's side of the idle connection: Sequence restarts
	// on Set, and CloseBeforeHead drops the next request's connection.
	u.Set(testkit.Sequence(testkit.CloseBeforeHead, testkit.OK))
	resp, body := h.get("/b")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %s", resp.StatusCode, body)
	}
}

// TestAttemptRecordsTargetHealth: a failed attempt records the target's
// health state at that moment (healthy, then probation after a cooldown),
// in the access log and so in the request log's cause chain.
func TestAttemptRecordsTargetHealth(t *testing.T) {
	refusing := "http://" + testkit.RefusingAddr(t)
	h := startGateway(t, oneTarget(`retries: 0
health_check:
  passive: { unhealthy: 2, cooldown: 300ms }`, refusing))
	health := func() string {
		resp, _ := h.get("/x")
		line := h.logFor(resp.Header.Get("X-Request-Id"))
		as, _ := line["attempts"].([]any)
		if len(as) != 1 {
			t.Fatalf("attempts = %v", line["attempts"])
		}
		return fmt.Sprint(as[0].(map[string]any)["health"])
	}
	if got := health(); got != "healthy" {
		t.Fatalf("first failure: health %q", got)
	}
	health() // the second failure ejects the target
	time.Sleep(400 * time.Millisecond)
	if got := health(); got != "probation" {
		t.Fatalf("after the cooldown: health %q, want probation", got)
	}
}

// targetState is the health state the running gateway holds for the
// target url of upstream name.
func targetState(h *harness, name, url string) string {
	for _, tg := range h.app.gw.Snapshot().Upstreams[name].Targets() {
		if tg.Name == url || tg.URL.String() == url {
			return tg.State()
		}
	}
	return ""
}
