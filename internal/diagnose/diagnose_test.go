package diagnose_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/diagnose"
	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// TestRefusingTarget: one of two targets refuses connections; with
// retries off, the requests that go to it fail with
// upstream_connect_failed, and diagnose names that target (and only it).
func TestRefusingTarget(t *testing.T) {
	ok := testkit.Start(t, testkit.OK)
	refusing := "http://" + testkit.RefusingAddr(t)
	g := startGateway(t, fmt.Sprintf(`upstreams:
  - name: orders
    retries: 0
    targets: [{ url: %q }, { url: %q }]
routes:
  - name: orders
    match: { paths: ["/orders"] }
    upstream: orders
`, refusing, ok.URL))
	failed := 0
	send(t, g, 10, "GET", "/orders/1", "orders", func(resp *http.Response, _ []byte) {
		if resp.Header.Get("Sluice-Error") == "upstream_connect_failed" {
			failed++
		}
	})
	if failed == 0 || failed == 10 {
		t.Fatalf("round robin over a refusing and a good target failed %d of 10", failed)
	}

	rep, progress := diagnoseRun(t, g, g.URL+"/orders/1", nil)
	if rep.ExitCode() != 1 {
		t.Errorf("exit code %d, want 1", rep.ExitCode())
	}
	if rep.Route == nil || rep.Route.Name != "orders" {
		t.Fatalf("route = %+v", rep.Route)
	}
	f := finding(t, rep, "upstream_connect_failed", refusing)
	if f.Severity != diagnose.Problem || f.Upstream != "orders" {
		t.Errorf("finding = %+v", f)
	}
	addr := strings.TrimPrefix(refusing, "http://")
	wantText(t, "summary", f.Summary, "target "+addr+" refuses connections",
		fmt.Sprintf("%d of the last %d errors are upstream_connect_failed", failed, failed))
	wantText(t, "evidence", strings.Join(f.Evidence, "\n"), "connection refused", "request log")
	for _, p := range problems(rep) {
		if p.Target == ok.URL {
			t.Errorf("the good target is blamed: %+v", p)
		}
	}
	finding(t, rep, "retries_off", "")
	for _, step := range []string{"[1/6]", "[2/6]", "[3/6]", "[4/6]", "[5/6]", "[6/6]"} {
		wantText(t, "progress", progress, step)
	}
	if rep.Log == nil || rep.Log.Requests != 10 || rep.Log.ByCode["upstream_connect_failed"] != failed {
		t.Errorf("log summary = %+v", rep.Log)
	}
}

// TestRefusingTargetHiddenByRetries: with retries on, every client gets
// its answer, yet the failed attempts on the refusing target are found.
func TestRefusingTargetHiddenByRetries(t *testing.T) {
	ok := testkit.Start(t, testkit.OK)
	refusing := "http://" + testkit.RefusingAddr(t)
	g := startGateway(t, fmt.Sprintf(`upstreams:
  - name: orders
    targets: [{ url: %q }, { url: %q }]
routes:
  - name: orders
    match: { paths: ["/orders"] }
    upstream: orders
`, refusing, ok.URL))
	send(t, g, 6, "GET", "/orders", "orders", func(resp *http.Response, _ []byte) {
		if resp.StatusCode != 200 {
			t.Fatalf("retries did not hide the refusing target: %d", resp.StatusCode)
		}
	})
	rep, _ := diagnoseRun(t, g, g.URL+"/orders", nil)
	f := finding(t, rep, "upstream_connect_failed", refusing)
	wantText(t, "summary", f.Summary, "refuses connections", "retries on other targets answered the clients")
	if rep.ExitCode() != 1 {
		t.Errorf("exit code %d, want 1", rep.ExitCode())
	}
}

// TestDNSFailure: a target whose host name does not resolve.
func TestDNSFailure(t *testing.T) {
	target := "http://orders.invalid:9001"
	g := startGateway(t, fmt.Sprintf(`upstreams:
  - name: orders
    retries: 0
    targets: [{ url: %q }]
routes:
  - name: orders
    match: { paths: ["/orders"] }
    upstream: orders
`, target))
	send(t, g, 3, "GET", "/orders", "orders", func(resp *http.Response, body []byte) {
		gatewaytest.CheckProblem(t, resp, body, 502, "upstream_dns_failed")
	})
	rep, _ := diagnoseRun(t, g, g.URL+"/orders", nil)
	f := finding(t, rep, "upstream_dns_failed", target)
	if f.Severity != diagnose.Problem {
		t.Errorf("severity %s", f.Severity)
	}
	wantText(t, "summary", f.Summary, "orders.invalid:9001 does not resolve", "3 of the last 3 errors are upstream_dns_failed")
	wantText(t, "evidence", strings.Join(f.Evidence, "\n"), "host name orders.invalid does not resolve")
	if tr := rep.Targets[0]; tr.DNS == nil || tr.DNS.OK || tr.Connect != nil {
		t.Errorf("probe = %+v; want a failed DNS step and no connect", tr)
	}
}

// TestSlowUpstream: the target answers after 600ms, the read timeout is
// 200ms: requests fail with upstream_timeout and diagnose says the read
// timeout is below the latency, from the direct probe and the log.
func TestSlowUpstream(t *testing.T) {
	slow := testkit.Start(t, testkit.SlowHead(600*time.Millisecond))
	g := startGateway(t, fmt.Sprintf(`upstreams:
  - name: reports
    retries: 0
    timeouts: { connect: 2s, read: 200ms, total: 5s }
    targets: [{ url: %q }]
routes:
  - name: reports
    match: { paths: ["/reports"] }
    upstream: reports
`, slow.URL))
	send(t, g, 3, "GET", "/reports/daily", "reports", func(resp *http.Response, body []byte) {
		gatewaytest.CheckProblem(t, resp, body, 504, "upstream_timeout")
	})
	rep, _ := diagnoseRun(t, g, g.URL+"/reports/daily", nil)
	if rep.ExitCode() != 1 {
		t.Errorf("exit code %d", rep.ExitCode())
	}
	f := finding(t, rep, "read_timeout_below_latency", "")
	if f.Severity != diagnose.Problem || f.Upstream != "reports" {
		t.Errorf("finding = %+v", f)
	}
	wantText(t, "summary", f.Summary, "timeouts.read of upstream reports (200ms) is below the latency observed")
	ev := strings.Join(f.Evidence, "\n")
	wantText(t, "evidence", ev, "3 attempts got no response head within 200ms", "direct from here: GET /reports/daily")
	// The fix names a read timeout above the 600ms the target takes.
	if !strings.Contains(f.Fix, "raise timeouts.read of upstream reports to about") {
		t.Errorf("fix %q", f.Fix)
	}
	tf := finding(t, rep, "upstream_timeout", slow.URL)
	wantText(t, "summary", tf.Summary, "does not answer within the read timeout (200ms)", "3 of the last 3 errors are upstream_timeout")
	if h := rep.Targets[0].HTTP; h == nil || h.Status != 200 || h.DurationMS < 550 {
		t.Errorf("direct probe = %+v, want a 200 after about 600ms", h)
	}
}

// TestNoRoute: requests no route takes; the diagnosis agrees with the
// gateway's 404 and names the route that nearly matches and why.
func TestNoRoute(t *testing.T) {
	ok := testkit.Start(t, testkit.OK)
	g := startGateway(t, fmt.Sprintf(`upstreams:
  - name: u
    targets: [{ url: %q }]
routes:
  - name: orders
    match: { paths: ["/orders"], methods: [GET] }
    upstream: u
  - name: users
    match: { hosts: ["api.example.com"], paths: ["/users"] }
    upstream: u
  - name: billing
    match: { paths: ["/billing/v2"] }
    upstream: u
`, ok.URL))
	cases := []struct {
		name, method, path string
		route              string
		parts              []string
	}{
		{"wrong method", "POST", "/orders/1", "orders", []string{"method POST is not one of GET"}},
		{"segment typo", "GET", "/order/1", "orders", []string{`prefixes match whole segments: "orders" in prefix /orders is not "order"`}},
		{"wrong host", "GET", "/users/7", "users", []string{"is not one of api.example.com"}},
		{"missing segment", "GET", "/billing", "billing", []string{"prefix /billing/v2 is longer than the path /billing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := g.Do(c.method, c.path, nil, nil)
			gatewaytest.CheckProblem(t, resp, body, 404, "no_route")
			rep, _ := diagnoseRun(t, g, g.URL+c.path, func(o *diagnose.Options) { o.Method = c.method })
			if rep.ExitCode() != 1 || rep.Route != nil {
				t.Errorf("exit %d, route %+v", rep.ExitCode(), rep.Route)
			}
			f := finding(t, rep, "no_route", "")
			if f.Severity != diagnose.Problem || f.Route != c.route {
				t.Errorf("finding = %+v, want the near miss %s", f, c.route)
			}
			wantText(t, "summary", f.Summary, c.parts...)
			if f.Fix == "" {
				t.Error("no fix")
			}
		})
	}
	t.Run("host fixes it", func(t *testing.T) {
		rep, _ := diagnoseRun(t, g, g.URL+"/users/7", func(o *diagnose.Options) {
			o.Header = http.Header{"Host": {"api.example.com"}}
		})
		if rep.Route == nil || rep.Route.Name != "users" || rep.ExitCode() != 0 {
			t.Errorf("route %+v, exit %d: %s", rep.Route, rep.ExitCode(), codes(rep))
		}
		wantText(t, "why", strings.Join(rep.Route.Why, "; "), "host api.example.com matches api.example.com", "path /users/7 matches prefix /users")
	})
	t.Run("unknown route name", func(t *testing.T) {
		_, err := diagnose.Run(context.Background(), diagnose.Options{AdminURL: g.AdminURL, Token: adminToken, Target: "order"})
		if !errors.Is(err, diagnose.ErrCannotRun) || !strings.Contains(err.Error(), `did you mean "orders"`) {
			t.Errorf("err = %v", err)
		}
	})
}

// TestAllTargetsUnhealthy: both targets fail their active health check;
// the gateway answers 503 no_healthy_upstream and diagnose says why, per
// target and for the upstream.
func TestAllTargetsUnhealthy(t *testing.T) {
	a := testkit.Start(t, testkit.OK, testkit.WithHealth("/healthz"))
	b := testkit.Start(t, testkit.OK, testkit.WithHealth("/healthz"))
	a.SetHealthy(false)
	b.SetHealthy(false)
	g := startGateway(t, fmt.Sprintf(`upstreams:
  - name: orders
    targets: [{ url: %q }, { url: %q }]
    health_check:
      active: { path: /healthz, interval: 100ms, timeout: 100ms, healthy: 1, unhealthy: 1 }
routes:
  - name: orders
    match: { paths: ["/orders"] }
    upstream: orders
`, a.URL, b.URL))
	waitFor(t, 10*time.Second, "both targets unhealthy", func() bool {
		var h struct{ Targets []struct{ State string } }
		adminGet(t, g, "/upstreams/orders/health", &h)
		return len(h.Targets) == 2 && h.Targets[0].State == "unhealthy" && h.Targets[1].State == "unhealthy"
	})
	send(t, g, 4, "GET", "/orders", "orders", func(resp *http.Response, body []byte) {
		gatewaytest.CheckProblem(t, resp, body, 503, "no_healthy_upstream")
	})
	rep, _ := diagnoseRun(t, g, "orders", nil)
	f := finding(t, rep, "no_healthy_upstream", "")
	if f.Severity != diagnose.Problem || f.Upstream != "orders" {
		t.Errorf("finding = %+v", f)
	}
	wantText(t, "summary", f.Summary, "every target of upstream orders is out", a.Addr, b.Addr, "4 of the last 4 errors are no_healthy_upstream")
	for _, u := range []*testkit.Upstream{a, b} {
		tf := finding(t, rep, "target_unhealthy", u.URL)
		wantText(t, "evidence", strings.Join(tf.Evidence, "\n"), "GET /healthz on "+u.Addr+": 503", "gateway health: unhealthy")
	}
	if rep.ExitCode() != 1 {
		t.Errorf("exit code %d", rep.ExitCode())
	}
}

// TestHealthyRoute: nothing is wrong; the only findings are not problems,
// by URL and by route name alike.
func TestHealthyRoute(t *testing.T) {
	ok := testkit.Start(t, testkit.OK, testkit.WithHealth("/healthz"))
	g := startGateway(t, fmt.Sprintf(`upstreams:
  - name: orders
    timeouts: { connect: 2s, read: 10s }
    targets: [{ url: %q }]
    health_check:
      active: { path: /healthz, interval: 1s, timeout: 1s }
routes:
  - name: orders
    match: { paths: ["/orders"], methods: [GET, POST] }
    upstream: orders
`, ok.URL))
	send(t, g, 5, "GET", "/orders/1", "orders", func(resp *http.Response, _ []byte) {
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	for _, target := range []string{g.URL + "/orders/1", "orders"} {
		rep, _ := diagnoseRun(t, g, target, nil)
		if rep.ExitCode() != 0 || rep.Problems != 0 {
			t.Errorf("%s: exit %d, findings %s", target, rep.ExitCode(), codes(rep))
		}
		finding(t, rep, "retries_single_target", "")
		tr := rep.Targets[0]
		if tr.Connect == nil || !tr.Connect.OK || tr.HTTP == nil || tr.HTTP.Status != 200 || tr.HTTP.Path != "/healthz" || tr.Health == nil || tr.Health.State != "healthy" {
			t.Errorf("%s: target report = %+v", target, tr)
		}
		if rep.Log == nil || rep.Log.Requests != 5 || rep.Log.Errors != 0 || rep.Log.Latency == nil || rep.Log.Latency.Samples < 5 {
			t.Errorf("%s: log = %+v", target, rep.Log)
		}
	}
	rep, _ := diagnoseRun(t, g, g.URL+"/orders/1", func(o *diagnose.Options) { o.Method = "POST" })
	if f := finding(t, rep, "retries_not_for_method", ""); f.Severity != diagnose.Info {
		t.Errorf("POST on a healthy route: %+v", f)
	}
	if rep.ExitCode() != 0 {
		t.Errorf("POST: exit %d: %s", rep.ExitCode(), codes(rep))
	}
}

// TestTLSTarget: an https target whose certificate the gateway does not
// trust fails the handshake, directly and in the log.
func TestTLSTarget(t *testing.T) {
	up := testkit.StartTLS(t, testkit.OK)
	g := startGateway(t, fmt.Sprintf(`upstreams:
  - name: secure
    retries: 0
    targets: [{ url: %q }]
routes:
  - name: secure
    match: { paths: ["/"] }
    upstream: secure
`, up.URL))
	send(t, g, 2, "GET", "/x", "secure", func(resp *http.Response, body []byte) {
		gatewaytest.CheckProblem(t, resp, body, 502, "upstream_tls_failed")
	})
	rep, _ := diagnoseRun(t, g, g.URL+"/x", nil)
	f := finding(t, rep, "upstream_tls_failed", up.URL)
	wantText(t, "evidence", strings.Join(f.Evidence, "\n"), "TLS with "+up.Addr, "certificate")
	wantText(t, "summary", f.Summary, "2 of the last 2 errors are upstream_tls_failed")
}

// TestCannotRun: an unreachable admin API, a wrong token and a bad method
// stop the diagnosis with ErrCannotRun.
func TestCannotRun(t *testing.T) {
	ok := testkit.Start(t, testkit.OK)
	g := startGateway(t, fmt.Sprintf("upstreams:\n  - name: u\n    targets: [{ url: %q }]\nroutes:\n  - name: r\n    upstream: u\n", ok.URL))
	cases := []struct {
		name string
		o    diagnose.Options
		want string
	}{
		{"unreachable", diagnose.Options{AdminURL: "http://" + testkit.RefusingAddr(t), Target: "r"}, "unreachable"},
		{"wrong token", diagnose.Options{AdminURL: g.AdminURL, Token: "wrong", Target: "r"}, "refused the token"},
		{"no token", diagnose.Options{AdminURL: g.AdminURL, Target: "r"}, "needs a token"},
		{"bad method", diagnose.Options{AdminURL: g.AdminURL, Token: adminToken, Target: "r", Method: "GE T"}, "not an HTTP method"},
		{"bad admin URL", diagnose.Options{AdminURL: "ftp://x", Token: adminToken, Target: "r"}, "not an http(s) URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := diagnose.Run(context.Background(), c.o)
			if !errors.Is(err, diagnose.ErrCannotRun) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want ErrCannotRun with %q", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), adminToken) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

// TestConnectTimeout: a target that never completes the TCP handshake;
// the connect timeout ends every attempt, directly and through the
// gateway.
func TestConnectTimeout(t *testing.T) {
	target := "http://" + testkit.BlackholeAddr(t)
	g := startGateway(t, fmt.Sprintf(`upstreams:
  - name: orders
    retries: 0
    timeouts: { connect: 300ms }
    targets: [{ url: %q }]
routes:
  - name: orders
    match: { paths: ["/orders"] }
    upstream: orders
`, target))
	send(t, g, 2, "GET", "/orders", "orders", func(resp *http.Response, body []byte) {
		gatewaytest.CheckProblem(t, resp, body, 504, "upstream_connect_timeout")
	})
	rep, _ := diagnoseRun(t, g, g.URL+"/orders", nil)
	f := finding(t, rep, "upstream_connect_timeout", target)
	wantText(t, "summary", f.Summary, "does not accept connections within the connect timeout (300ms)", "2 of the last 2 errors are upstream_connect_timeout")
	wantText(t, "evidence", strings.Join(f.Evidence, "\n"), "no connection within the connect timeout (300ms)")
}

// TestRefusedByPlugin: a key-auth route whose callers send no key; the
// config export's masked credentials still parse, and the 401s are
// information, not a problem of the route.
func TestRefusedByPlugin(t *testing.T) {
	ok := testkit.Start(t, testkit.OK)
	g := startGateway(t, fmt.Sprintf(`upstreams:
  - name: u
    retries: 0
    targets: [{ url: %q }]
routes:
  - name: private
    match: { paths: ["/private"] }
    upstream: u
    plugins: { key-auth: {} }
consumers:
  - { name: alice, credentials: [{ type: key-auth, key: "alice-secret-key" }] }
  - { name: bob, credentials: [{ type: key-auth, key: "bob-secret-key" }] }
`, ok.URL))
	send(t, g, 3, "GET", "/private/x", "private", func(resp *http.Response, body []byte) {
		gatewaytest.CheckProblem(t, resp, body, 401, "unauthorized")
	})
	rep, _ := diagnoseRun(t, g, g.URL+"/private/x", nil)
	f := finding(t, rep, "unauthorized", "")
	if f.Severity != diagnose.Info || !strings.Contains(f.Summary, "3 recent requests on route private were refused by the gateway with unauthorized (status 401)") {
		t.Errorf("finding = %+v", f)
	}
	if rep.ExitCode() != 0 {
		t.Errorf("exit %d: %s", rep.ExitCode(), codes(rep))
	}
}
