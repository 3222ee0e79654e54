package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"
)

// TestStatsThroughAdminAPI: traffic through the proxy listener shows up in
// GET /api/v1/stats on the admin listener, by status class, error code and
// route, with latency percentiles; bad parameters are 400s naming the
// field; the console is served at / and the API keeps its paths.
func TestStatsThroughAdminAPI(t *testing.T) {
	t.Setenv("SLUICE_ADMIN_TOKEN", "test-admin-token")
	ok := testkit.Start(t, testkit.OK)
	refusing := "http://" + testkit.RefusingAddr(t)
	h := startGateway(t, `upstreams:
  - name: good
    targets: [{ url: "`+ok.URL+`" }]
  - name: bad
    targets: [{ url: "`+refusing+`" }]
routes:
  - name: good
    match: { paths: ["/good"] }
    upstream: good
  - name: bad
    match: { paths: ["/bad"] }
    upstream: bad
`)
	for range 5 {
		h.get("/good/1")
	}
	h.get("/bad/1")
	h.get("/bad/2")
	h.get("/nowhere")

	admin := "http://" + h.app.AdminAddr()
	get := func(path string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", admin+path, nil)
		req.Header.Set("Authorization", "Bearer test-admin-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	waitFor(t, 10*time.Second, func() bool { resp, _ := get("/api/v1/status"); return resp.StatusCode == 200 })

	resp, body := get("/api/v1/stats?since=2m&step=10s")
	if resp.StatusCode != 200 {
		t.Fatalf("stats: %d %s", resp.StatusCode, body)
	}
	var rep struct {
		WindowSeconds int `json:"window_seconds"`
		StepSeconds   int `json:"step_seconds"`
		Buckets       []struct {
			Requests int `json:"requests"`
		} `json:"buckets"`
		Totals struct {
			Requests int            `json:"requests"`
			Status   map[string]int `json:"status"`
			Codes    map[string]int `json:"codes"`
			P50MS    float64        `json:"p50_ms"`
			P99MS    float64        `json:"p99_ms"`
		} `json:"totals"`
		TopRoutes []struct {
			Route    string `json:"route"`
			Requests int    `json:"requests"`
			Errors   int    `json:"errors"`
		} `json:"top_routes"`
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.WindowSeconds != 120 || rep.StepSeconds != 10 || len(rep.Buckets) != 12 {
		t.Errorf("window %d step %d buckets %d", rep.WindowSeconds, rep.StepSeconds, len(rep.Buckets))
	}
	sum := 0
	for _, b := range rep.Buckets {
		sum += b.Requests
	}
	tot := rep.Totals
	if tot.Requests != 8 || sum != 8 {
		t.Errorf("requests: totals %d, buckets sum %d, want 8", tot.Requests, sum)
	}
	if tot.Status["2xx"] != 5 || tot.Status["5xx"] != 2 || tot.Status["4xx"] != 1 {
		t.Errorf("status classes %v", tot.Status)
	}
	if tot.Codes["upstream_connect_failed"] != 2 || tot.Codes["no_route"] != 1 {
		t.Errorf("codes %v", tot.Codes)
	}
	if tot.P50MS <= 0 || tot.P99MS < tot.P50MS {
		t.Errorf("p50 %v p99 %v", tot.P50MS, tot.P99MS)
	}
	if len(rep.TopRoutes) != 3 || rep.TopRoutes[0].Route != "good" || rep.TopRoutes[0].Requests != 5 ||
		rep.TopRoutes[1].Route != "bad" || rep.TopRoutes[1].Errors != 2 {
		t.Errorf("top routes %+v", rep.TopRoutes)
	}

	for _, tc := range []struct{ query, field string }{
		{"since=2h", "since"}, {"since=abc", "since"}, {"since=1m&step=500ms", "step"},
		{"since=1m&step=2m", "step"}, {"since=1h&step=1s", "step"},
	} {
		resp, body := get("/api/v1/stats?" + tc.query)
		var p struct {
			Code     string `json:"code"`
			Problems []struct {
				Field string `json:"field"`
			} `json:"problems"`
		}
		json.Unmarshal(body, &p)
		if resp.StatusCode != 400 || p.Code != "bad_request" || len(p.Problems) != 1 || p.Problems[0].Field != tc.field {
			t.Errorf("%s: %d %s, want a 400 with one problem on %s", tc.query, resp.StatusCode, body, tc.field)
		}
	}

	// The console is at / and at any app path; the API, /healthz and
	// /metrics keep theirs.
	for _, path := range []string{"/", "/logs/abc"} {
		resp, body := get(path)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(body), "<html") || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: %d %s %.80q", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	if resp, body := get("/api/v1/nothing"); resp.StatusCode != 404 || !strings.Contains(string(body), "not_found") {
		t.Errorf("GET /api/v1/nothing: %d %s", resp.StatusCode, body)
	}
	if resp, body := get("/healthz"); resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("GET /healthz: %d %q", resp.StatusCode, body)
	}
	if resp, body := get("/metrics"); resp.StatusCode != 200 || !strings.Contains(string(body), "sluice_requests_total") {
		t.Errorf("GET /metrics: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", admin+"/api/v1/playground/chat", strings.NewReader(`{"model":"none","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer test-admin-token")
	pr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pr.Body.Close()
	// The playground is the node's AI gateway: with no models configured,
	// any model is unknown, in the OpenAI error format.
	if pr.StatusCode != 404 || pr.Header.Get("Sluice-Error") != "model_not_found" || pr.Header.Get("Content-Type") != "application/json" {
		t.Errorf("playground without models: %d %s", pr.StatusCode, pr.Header.Get("Sluice-Error"))
	}
}
