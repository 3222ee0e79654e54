package app

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/testkit"
)

// scrape returns the admin listener's /metrics text.
func (h *harness) scrape() string {
	h.t.Helper()
	resp, err := http.Get("http://" + h.app.AdminAddr() + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// TestMetrics: requests, failures by code, attempts and retries, upstream
// latency and target health are exported with bounded labels.
func TestMetrics(t *testing.T) {
	ok := testkit.Start(t, testkit.OK)
	refusing := "http://" + testkit.RefusingAddr(t)
	h := startGateway(t, `upstreams:
  - name: good
    targets: [{ url: "`+ok.URL+`" }]
  - name: bad
    retries: 1
    targets: [{ url: "`+refusing+`" }]
routes:
  - name: good
    match: { paths: ["/good"] }
    upstream: good
    plugins:
      rate-limit: { limit: 4, window: 1m, by: route }
  - name: bad
    match: { paths: ["/bad"] }
    upstream: bad
`)
	for i := 0; i < 3; i++ {
		h.get("/good/x?secret=1")
	}
	h.get("/good/x") // the fourth: allowed
	h.get("/good/x") // the fifth: over the limit
	h.get("/bad/x")
	h.get("/nowhere")
	m := h.scrape()
	for _, want := range []string{
		`sluice_requests_total{code="",route="good",status="200"} 4`,
		`sluice_requests_total{code="rate_limited",route="good",status="429"} 1`,
		`sluice_rate_limit_decisions_total{decision="allowed",route="good"} 4`,
		`sluice_rate_limit_decisions_total{decision="limited",route="good"} 1`,
		`sluice_requests_total{code="upstream_connect_failed",route="bad",status="502"} 1`,
		`sluice_requests_total{code="no_route",route="",status="404"} 1`,
		`sluice_upstream_attempts_total{result="ok",upstream="good"} 4`,
		`sluice_upstream_attempts_total{result="upstream_connect_failed",upstream="bad"} 2`,
		`sluice_upstream_retries_total{upstream="bad"} 1`,
		`sluice_upstream_latency_seconds_count{upstream="good"} 4`,
		`sluice_request_duration_seconds_count{route="good"} 5`,
		`sluice_upstream_target_healthy{target="` + ok.URL + `",upstream="good"} 1`,
		`sluice_request_log_entries_total{outcome="dropped"} 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, leak := range []string{"/good/x", "secret=1", "request_id"} {
		if strings.Contains(m, leak) {
			t.Errorf("/metrics carries %q: unbounded label", leak)
		}
	}
}
