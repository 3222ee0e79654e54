package main

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// TestRefusingUpstream runs the program against a real sluice node whose
// only target refuses connections.
func TestRefusingUpstream(t *testing.T) {
	g := gatewaytest.Start(t, `upstreams:
  - name: orders
    targets: [{ url: "http://`+testkit.RefusingAddr(t)+`" }]
routes:
  - name: orders
    match: { paths: ["/orders"] }
    upstream: orders
`)
	var out, errOut bytes.Buffer
	code := run([]string{"-url", g.URL + "/orders", "-admin", "http://admin.example"}, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stdout:\n%s\nstderr: %s", code, out.String(), errOut.String())
	}
	text := out.String()
	for _, want := range []string{
		"GET " + g.URL + "/orders failed: 502 Bad Gateway after 3 attempts\n",
		"code:       upstream_connect_failed\n",
		"detail:     The upstream refused the connection.\n",
		"what to do: the service behind the route refused the connection",
		"'http://admin.example/api/v1/logs?request_id=",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	m := regexp.MustCompile(`request id: (\S+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no request id in:\n%s", text)
	}
	t.Logf("output:\n%s", text)
	if line := g.LogFor(m[1]); line["code"] != "upstream_connect_failed" {
		t.Errorf("access log for %s: %v", m[1], line)
	}
}

// TestOtherOutcomes covers a success, the service's own failure status and
// a gateway that cannot be reached.
func TestOtherOutcomes(t *testing.T) {
	cases := []struct {
		name     string
		url      func(t *testing.T) string
		wantCode int
		want     string
	}{
		{name: "ok", url: func(t *testing.T) string {
			return testkit.Start(t, testkit.Respond(200, http.Header{"X-Request-Id": {"r-ok"}}, "fine")).URL
		}, wantCode: 0, want: "ok: 200, request id r-ok"},
		{name: "service's own 500", url: func(t *testing.T) string { return testkit.Start(t, testkit.Status(500)).URL },
			wantCode: 1, want: "the service itself answered"},
		{name: "service's own 503, retried", url: func(t *testing.T) string { return testkit.Start(t, testkit.Status(503)).URL },
			wantCode: 1, want: "503 Service Unavailable after 3 attempts"},
		{name: "gateway unreachable", url: func(t *testing.T) string { return "http://" + testkit.RefusingAddr(t) },
			wantCode: 1, want: "sluice did not answer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run([]string{"-url", tc.url(t)}, &out, &errOut)
			if code != tc.wantCode || !strings.Contains(out.String(), tc.want) {
				t.Errorf("exit %d, output %q; want exit %d and %q", code, out.String(), tc.wantCode, tc.want)
			}
		})
	}
}
