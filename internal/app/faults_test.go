package app

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"
)

// oneTarget is a config with one upstream "u" of the given target URLs and
// extra upstream settings, and a catch-all route to it.
func oneTarget(extra string, urls ...string) string {
	var b strings.Builder
	b.WriteString("upstreams:\n  - name: u\n    targets:\n")
	for _, u := range urls {
		fmt.Fprintf(&b, "      - url: %q\n", u)
	}
	for _, line := range strings.Split(strings.TrimSpace(extra), "\n") {
		if line != "" {
			b.WriteString("    " + line + "\n")
		}
	}
	b.WriteString("routes:\n  - name: r\n    match: { paths: [\"/\"] }\n    upstream: u\n")
	return b.String()
}

// TestFaultClassification maps every upstream fault to its status and code
// (CONTRACT §3), through real sockets end to end.
func TestFaultClassification(t *testing.T) {
	tlsUp := testkit.StartTLS(t, testkit.OK)
	cases := []struct {
		name   string
		target func(t *testing.T) string
		extra  string
		status int
		code   string
	}{
		{"connect refused", func(t *testing.T) string { return "http://" + testkit.RefusingAddr(t) }, "", 502, "upstream_connect_failed"},
		{"dns failure", func(t *testing.T) string { return "http://no-such-host.invalid:9" }, "", 502, "upstream_dns_failed"},
		{"tls failure", func(t *testing.T) string { return "https://" + tlsUp.Addr }, "", 502, "upstream_tls_failed"},
		{"connect timeout", func(t *testing.T) string { return "http://" + testkit.BlackholeAddr(t) },
			"timeouts: { connect: 300ms }", 504, "upstream_connect_timeout"},
		{"reset before head", up(testkit.ResetBeforeHead), "", 502, "upstream_reset"},
		{"close before head", up(testkit.CloseBeforeHead), "", 502, "upstream_reset"},
		{"garbage", up(testkit.Garbage), "", 502, "upstream_bad_response"},
		{"slow head", up(testkit.SlowHead(3 * time.Second)), "timeouts: { read: 300ms }", 504, "upstream_timeout"},
		{"hang", up(testkit.Hang), "timeouts: { read: 300ms }", 504, "upstream_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := startGateway(t, oneTarget("retries: 0\n"+tc.extra, tc.target(t)))
			start := time.Now()
			resp, body := h.get("/some/path")
			p := checkProblem(t, resp, body, tc.status, tc.code)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			line := h.logFor(p.RequestID)
			if line["code"] != tc.code || int(line["status"].(float64)) != tc.status {
				t.Errorf("access log code/status = %v/%v", line["code"], line["status"])
			}
			atts, _ := line["attempts"].([]any)
			if len(atts) != 1 {
				t.Fatalf("attempts = %v, want 1", line["attempts"])
			}
			a := atts[0].(map[string]any)
			if a["code"] != tc.code || a["error"] == "" || a["target"] == "" {
				t.Errorf("attempt = %v", a)
			}
		})
	}
}

// up returns a target factory for a testkit upstream with behaviour b.
func up(b testkit.Behavior) func(t *testing.T) string {
	return func(t *testing.T) string { return testkit.Start(t, b).URL }
}

func TestNoRoute(t *testing.T) {
	u := testkit.Start(t, testkit.OK)
	h := startGateway(t, `upstreams:
  - name: u
    targets: [{ url: "`+u.URL+`" }]
routes:
  - name: api
    match: { paths: ["/api"] }
    upstream: u
`)
	resp, body := h.get("/other")
	checkProblem(t, resp, body, 404, "no_route")
	resp, body = h.get("/apiX")
	checkProblem(t, resp, body, 404, "no_route")
	resp, _ = h.get("/api/x")
	if resp.StatusCode != 200 {
		t.Fatalf("/api/x = %d", resp.StatusCode)
	}
	if u.Hits() != 1 {
		t.Fatalf("upstream hits = %d", u.Hits())
	}
}

// TestResetMidBodyAbortsClient checks that a failure after the response
// head never looks like a clean, complete response.
func TestResetMidBodyAbortsClient(t *testing.T) {
	u := testkit.Start(t, testkit.ResetMidBody)
	h := startGateway(t, oneTarget("retries: 0", u.URL))
	req, _ := http.NewRequest("GET", h.url+"/x", nil)
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	id := resp.Header.Get("X-Request-Id")
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("read %d bytes with no error: a truncated body looked complete", len(b))
	}
	line := h.logFor(id)
	if line["code"] != "upstream_reset_after_head" {
		t.Errorf("access log code = %v", line["code"])
	}
}

func TestSuccessHeaders(t *testing.T) {
	u := testkit.Start(t, testkit.OK)
	h := startGateway(t, oneTarget("", u.URL))
	resp, body := h.get("/hello?x=1")
	if resp.StatusCode != 200 || string(body) != "GET /hello?x=1\n" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	st := resp.Header.Get("Server-Timing")
	if !strings.Contains(st, "gateway;dur=") || !strings.Contains(st, "upstream;dur=") {
		t.Errorf("Server-Timing = %q", st)
	}
	// A well-formed client request id is kept and forwarded.
	resp, _, err := h.do("GET", "/a", nil, map[string]string{"X-Request-Id": "client-id-123"})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("X-Request-Id"); got != "client-id-123" {
		t.Errorf("X-Request-Id = %q", got)
	}
	if got := u.LastRequest().Get("X-Request-Id"); got != "client-id-123" {
		t.Errorf("upstream saw X-Request-Id %q", got)
	}
	// A malformed one is replaced.
	resp, _, _ = h.do("GET", "/a", nil, map[string]string{"X-Request-Id": "bad id\twith space"})
	if got := resp.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
		t.Errorf("X-Request-Id = %q", got)
	}
}

// TestHTTPSUpstreamTrusted: an https target whose CA is configured is
// reached over TLS, with keep-alive reuse.
func TestHTTPSUpstreamTrusted(t *testing.T) {
	u := testkit.StartTLS(t, testkit.OK)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: u.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startGateway(t, oneTarget(fmt.Sprintf("tls: { ca_file: %q }", ca), "https://"+u.Addr))
	for i := 0; i < 3; i++ {
		resp, body := h.get("/secure")
		if resp.StatusCode != 200 || string(body) != "GET /secure\n" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	}
	if c := u.Conns(); c != 1 {
		t.Errorf("3 requests used %d TLS connections, want 1 (keep-alive)", c)
	}
	if sni := u.LastRequest().TLSServerName; sni != "" && sni != "127.0.0.1" {
		t.Errorf("SNI = %q", sni)
	}
}
