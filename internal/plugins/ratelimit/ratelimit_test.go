package ratelimit_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	_ "github.com/sluicegw/sluice/internal/plugins/keyauth"
	"github.com/sluicegw/sluice/internal/plugins/ratelimit"
	"github.com/sluicegw/sluice/internal/testkit"
)

// node starts a gateway whose config is yaml with UPSTREAM replaced by the
// URL of a new echo upstream.
func node(t *testing.T, yaml string) (*gatewaytest.Gateway, *testkit.Upstream) {
	t.Helper()
	u := testkit.Start(t, testkit.Echo)
	return gatewaytest.Start(t, strings.ReplaceAll(yaml, "UPSTREAM", u.URL)), u
}

// oneRoute is a config with route r on /r (plus route other on /other)
// whose rate-limit config is PLUGIN.
const oneRoute = `upstreams:
  - name: u
    targets: [{ url: "UPSTREAM" }]
routes:
  - name: r
    match: { paths: ["/r"] }
    upstream: u
    plugins:
      rate-limit: PLUGIN
  - name: other
    match: { paths: ["/other"] }
    upstream: u
`

func withPlugin(yaml, plugin string) string { return strings.ReplaceAll(yaml, "PLUGIN", plugin) }

// wantHeaders checks the RateLimit headers (and Retry-After when retry is
// not "").
func wantHeaders(t *testing.T, h http.Header, limit, remaining, reset, retry string) {
	t.Helper()
	for name, want := range map[string]string{
		"RateLimit-Limit": limit, "RateLimit-Remaining": remaining, "RateLimit-Reset": reset, "Retry-After": retry,
	} {
		if got := h.Values(name); len(got) > 1 || h.Get(name) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestLimitThroughGateway(t *testing.T) {
	g, u := node(t, withPlugin(oneRoute, `{ limit: 3, window: 1h, by: ip }`))
	// One unit comes back every 20 minutes.
	for i, want := range []struct{ remaining, reset string }{{"2", "1200"}, {"1", "2400"}, {"0", "3600"}} {
		resp, body := g.Get("/r", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d: %s", i, resp.StatusCode, body)
		}
		wantHeaders(t, resp.Header, "3", want.remaining, want.reset, "")
	}
	resp, body := g.Get("/r", nil)
	gatewaytest.CheckProblem(t, resp, body, 429, "rate_limited")
	wantHeaders(t, resp.Header, "3", "0", "3600", "1200")
	if n := u.Hits(); n != 3 {
		t.Errorf("upstream saw %d requests, want 3: a refused request must not reach it", n)
	}
	if line := g.LogFor(resp.Header.Get("X-Request-Id")); line["status"] != float64(429) || line["code"] != "rate_limited" {
		t.Errorf("access log of the refusal = %v", line)
	}
	// A route without the plugin is not limited and carries no headers.
	resp, _ = g.Get("/other", nil)
	if resp.StatusCode != 200 || resp.Header.Get("RateLimit-Limit") != "" {
		t.Errorf("/other: status %d, RateLimit-Limit %q; want 200 without headers", resp.StatusCode, resp.Header.Get("RateLimit-Limit"))
	}
}

// TestUpstreamCannotOverwriteHeaders has the upstream send its own
// RateLimit headers: the gateway's win.
func TestUpstreamCannotOverwriteHeaders(t *testing.T) {
	u := testkit.Start(t, testkit.Respond(200, http.Header{
		"Ratelimit-Limit": {"999"}, "Ratelimit-Remaining": {"999"}, "Ratelimit-Reset": {"1"},
	}, "ok"))
	g := gatewaytest.Start(t, strings.ReplaceAll(withPlugin(oneRoute, `{ limit: 2, window: 1m, by: ip }`), "UPSTREAM", u.URL))
	resp, _ := g.Get("/r", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	wantHeaders(t, resp.Header, "2", "1", "30", "")
}

const consumers = `consumers:
  - name: alice
    credentials:
      - { type: key-auth, key: alice-key-1 }
      - { type: key-auth, key: alice-key-2 }
  - name: bob
    credentials:
      - { type: key-auth, key: bob-key }
`

// req is one request of a keying scenario and its expected status.
type req struct {
	path   string
	hdr    map[string]string
	status int
}

func TestKeys(t *testing.T) {
	key := func(k string) map[string]string { return map[string]string{"X-Api-Key": k} }
	client := func(c string) map[string]string { return map[string]string{"X-Client": c} }
	withAuth := strings.Replace(oneRoute, "      rate-limit: PLUGIN", "      key-auth: {}\n      rate-limit: PLUGIN", 1) + consumers
	tests := []struct {
		name   string
		yaml   string
		plugin string
		reqs   []req
	}{
		{"by ip", oneRoute, `{ limit: 1, window: 1h, by: ip }`, []req{
			{"/r", client("a"), 200}, {"/r", client("b"), 429},
		}},
		{"by header, missing falls back to ip", oneRoute, `{ limit: 1, window: 1h, by: "header:x-client" }`, []req{
			{"/r", client("a"), 200}, {"/r", client("b"), 200}, {"/r", client("a"), 429},
			{"/r", nil, 200}, {"/r", client(""), 429}, {"/r", client("b"), 429},
		}},
		{"by path", oneRoute, `{ limit: 1, window: 1h, by: path }`, []req{
			{"/r/x", nil, 200}, {"/r/y", nil, 200}, {"/r/x", nil, 429}, {"/r/./x", nil, 429},
		}},
		{"by route", oneRoute, `{ limit: 1, window: 1h, by: route }`, []req{
			{"/r", client("a"), 200}, {"/r/x", client("b"), 429},
		}},
		{"by consumer", withAuth, `{ limit: 1, window: 1h, by: consumer }`, []req{
			{"/r", key("alice-key-1"), 200}, {"/r", key("bob-key"), 200},
			{"/r", key("alice-key-2"), 429}, {"/r", key("bob-key"), 429},
		}},
		{"by consumer is the default", withAuth, `{ limit: 1, window: 1h }`, []req{
			{"/r", key("alice-key-1"), 200}, {"/r", key("bob-key"), 200}, {"/r", key("alice-key-2"), 429},
		}},
		{"by credential", withAuth, `{ limit: 1, window: 1h, by: credential }`, []req{
			{"/r", key("alice-key-1"), 200}, {"/r", key("alice-key-2"), 200}, {"/r", key("alice-key-1"), 429},
		}},
		{"by consumer without auth falls back to ip", oneRoute, `{ limit: 2, window: 1h, by: consumer }`, []req{
			{"/r", client("a"), 200}, {"/r", client("b"), 200}, {"/r", nil, 429},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := node(t, withPlugin(tt.yaml, tt.plugin))
			for i, r := range tt.reqs {
				resp, body := g.Get(r.path, r.hdr)
				if resp.StatusCode != r.status {
					t.Fatalf("request %d (%s %v): status %d, want %d: %s", i, r.path, r.hdr, resp.StatusCode, r.status, body)
				}
			}
		})
	}
}

// TestCountersPerRouteAndScope puts one global config on two routes and a
// consumer's own config over a route's.
func TestCountersPerRouteAndScope(t *testing.T) {
	g, _ := node(t, `upstreams:
  - name: u
    targets: [{ url: "UPSTREAM" }]
routes:
  - name: a
    match: { paths: ["/a"] }
    upstream: u
  - name: b
    match: { paths: ["/b"] }
    upstream: u
  - name: keyed
    match: { paths: ["/keyed"] }
    upstream: u
    plugins:
      key-auth: {}
      rate-limit: { limit: 3, window: 1h }
plugins:
  rate-limit: { limit: 1, window: 1h, by: ip }
consumers:
  - name: alice
    credentials: [{ type: key-auth, key: alice-key }]
    plugins:
      rate-limit: { limit: 1, window: 1h }
  - name: bob
    credentials: [{ type: key-auth, key: bob-key }]
`)
	alice, bob := map[string]string{"X-Api-Key": "alice-key"}, map[string]string{"X-Api-Key": "bob-key"}
	for i, r := range []req{
		{"/a", nil, 200}, {"/b", nil, 200}, {"/a", nil, 429}, {"/b", nil, 429},
		{"/keyed", alice, 200}, {"/keyed", alice, 429},
		{"/keyed", bob, 200}, {"/keyed", bob, 200}, {"/keyed", bob, 200}, {"/keyed", bob, 429},
	} {
		resp, body := g.Get(r.path, r.hdr)
		if resp.StatusCode != r.status {
			t.Fatalf("request %d (%s): status %d, want %d: %s", i, r.path, resp.StatusCode, r.status, body)
		}
		if r.path == "/keyed" && r.hdr["X-Api-Key"] == "alice-key" && resp.Header.Get("RateLimit-Limit") != "1" {
			t.Errorf("alice's RateLimit-Limit = %q, want her own 1", resp.Header.Get("RateLimit-Limit"))
		}
	}
}

// TestReloadKeepsCounters reloads with an unrelated change (counters kept),
// then with a new limit (counters start over).
func TestReloadKeepsCounters(t *testing.T) {
	g, u := node(t, withPlugin(oneRoute, `{ limit: 3, window: 1h, by: ip }`))
	reload := func(plugin, extra string) {
		t.Helper()
		yaml := strings.ReplaceAll(withPlugin(oneRoute, plugin), "UPSTREAM", u.URL) + extra
		if err := os.WriteFile(g.CfgPath, []byte("server:\n  listen: \"127.0.0.1:0\"\n  admin_listen: \"127.0.0.1:0\"\n"+yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := g.App.Reload(); err != nil {
			t.Fatalf("reload: %v", err)
		}
	}
	statuses := func(n int) string {
		t.Helper()
		var out []string
		for range n {
			resp, _ := g.Get("/r", nil)
			out = append(out, fmt.Sprint(resp.StatusCode))
		}
		return strings.Join(out, " ")
	}
	if got := statuses(2); got != "200 200" {
		t.Fatalf("before reload: %s", got)
	}
	reload(`{ limit: 3, window: 1h, by: ip }`, "  - name: added\n    match: { paths: [\"/added\"] }\n    upstream: u\n")
	if got := statuses(2); got != "200 429" {
		t.Errorf("after a reload with the same limit: %s, want 200 429 (the counter kept its 2)", got)
	}
	reload(`{ limit: 4, window: 1h, by: ip }`, "")
	if got := statuses(5); got != "200 200 200 200 429" {
		t.Errorf("after changing the limit: %s, want a fresh counter of 4", got)
	}
}

// TestConcurrentExactThroughGateway sends 500 requests at once against a
// limit of 100 on one node.
func TestConcurrentExactThroughGateway(t *testing.T) {
	g, u := node(t, withPlugin(oneRoute, `{ limit: 100, window: 1h, by: ip }`))
	counts := fire(t, []*gatewaytest.Gateway{g}, 500)
	if counts[200] != 100 || counts[429] != 400 {
		t.Errorf("statuses %v, want exactly 100×200 and 400×429", counts)
	}
	if n := u.Hits(); n != 100 {
		t.Errorf("upstream saw %d requests, want 100", n)
	}
	// Each admitted request's decision is forgotten once it is logged.
	deadline := time.Now().Add(2 * time.Second)
	for ratelimit.PendingDecisions() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := ratelimit.PendingDecisions(); n != 0 {
		t.Errorf("%d decisions still held after every request finished", n)
	}
}

// fire sends n concurrent GET /r spread over gateways and counts statuses.
func fire(t *testing.T, gateways []*gatewaytest.Gateway, n int) map[int]int {
	t.Helper()
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		start  sync.WaitGroup
		wg     sync.WaitGroup
	)
	start.Add(1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := gateways[i%len(gateways)]
			start.Wait()
			resp, err := g.Client.Get(g.URL + "/r")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			counts[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	start.Done()
	wg.Wait()
	return counts
}
