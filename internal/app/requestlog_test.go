package app

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"
)

// TestRequestLogThroughAdminAPI: every request's summary, with the cause
// chain of a failed one, reaches the store off the request path and can be
// queried through the admin API; without the admin token it is a 401.
func TestRequestLogThroughAdminAPI(t *testing.T) {
	t.Setenv("SLUICE_ADMIN_TOKEN", "test-admin-token")
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
  - name: bad
    match: { paths: ["/bad"] }
    upstream: bad
`)
	admin := "http://" + h.app.AdminAddr()
	query := func(q string, token string) (int, []map[string]any) {
		req, _ := http.NewRequest("GET", admin+"/api/v1/logs?"+q, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Data []map[string]any `json:"data"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Data
	}
	waitFor(t, 10*time.Second, func() bool { code, _ := query("", ""); return code != 503 }) // the admin API starts with the store
	// Traffic once the store is open: entries of requests served before it
	// opened are dropped (the writer does not hold them back).
	h.get("/good/1")
	resp, _ := h.get("/bad/1")
	failedID := resp.Header.Get("X-Request-Id")
	if code, _ := query("", ""); code != 401 {
		t.Fatalf("without a token: %d", code)
	}
	if code, _ := query("", "wrong"); code != 401 {
		t.Fatalf("with a wrong token: %d", code)
	}
	var entries []map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for len(entries) == 0 && time.Now().Before(deadline) {
		_, entries = query("code=upstream_connect_failed", "test-admin-token")
		time.Sleep(50 * time.Millisecond)
	}
	if len(entries) != 1 {
		t.Fatalf("entries for code upstream_connect_failed: %v", entries)
	}
	e := entries[0]
	if e["request_id"] != failedID || e["route"] != "bad" || e["status"] != 502.0 {
		t.Errorf("entry = %v", e)
	}
	atts, _ := e["attempts"].([]any)
	if len(atts) != 2 {
		t.Fatalf("attempts = %v, want the two tries", e["attempts"])
	}
	if a := atts[0].(map[string]any); a["code"] != "upstream_connect_failed" || !strings.Contains(a["error"].(string), "refused") {
		t.Errorf("attempt = %v", a)
	}
	if _, all := query("route=good", "test-admin-token"); len(all) != 1 || all[0]["status"] != 200.0 {
		t.Errorf("route=good: %v", all)
	}
	if code, _ := query("status=abc", "test-admin-token"); code != 400 {
		t.Errorf("bad filter: %d", code)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(h.cfgPath), "data", "sluice.db")); err != nil {
		t.Errorf("the SQLite store is not in the data dir: %v", err)
	}
}
