package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// TestThroughGateway runs the program against a real sluice node in front
// of an upstream that fails once, then echoes the request.
func TestThroughGateway(t *testing.T) {
	u := testkit.Start(t, testkit.Sequence(testkit.Status(503), testkit.Echo))
	g := gatewaytest.Start(t, `upstreams:
  - name: api
    targets: [{ url: "`+u.URL+`" }]
    retries: 0
routes:
  - name: api
    match: { paths: ["/api"] }
    upstream: api
`)
	var out, errOut bytes.Buffer
	code := run([]string{"-url", g.URL + "/api/orders", "-H", "X-Api-Version: 2", "-H", "X-Tenant:acme"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, errOut.String())
	}
	if u.Hits() != 2 {
		t.Errorf("upstream hits = %d, want 2 (the 503 retried by the client)", u.Hits())
	}
	last := u.LastRequest()
	if last.Get("X-Api-Version") != "2" || last.Get("X-Tenant") != "acme" {
		t.Errorf("upstream got headers %v", last.Header())
	}
	m := regexp.MustCompile(`request id: (\S+)`).FindStringSubmatch(out.String())
	if !strings.HasPrefix(out.String(), "status: 200\n") || m == nil {
		t.Fatalf("output:\n%s", out.String())
	}
	if line := g.LogFor(m[1]); line["status"] != 200.0 {
		t.Errorf("access log for %s: %v", m[1], line)
	}
	if !strings.Contains(out.String(), `"X-Api-Version"`) {
		t.Errorf("the echoed body is not printed:\n%s", out.String())
	}
}

// TestFailure checks the exit codes of a failed call and of bad arguments.
func TestFailure(t *testing.T) {
	u := testkit.Start(t, testkit.Status(404))
	var out, errOut bytes.Buffer
	if code := run([]string{"-url", u.URL, "-timeout", "5s"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "404") {
		t.Errorf("404: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"-H", "no colon"}, &out, &errOut); code != 2 {
		t.Errorf("bad header: exit %d, stderr %q", code, errOut.String())
	}
}
