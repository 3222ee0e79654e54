package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestReport checks the medians, the overheads and the ratio.
func TestReport(t *testing.T) {
	lines := `s1/latency/direct/1 1000 100 110 200 10 0 ""
s1/latency/direct/2 1000 120 130 220 10 0 ""
s1/latency/direct/3 1000 110 120 210 10 0 ""
s1/latency/sluice/1 900 250 260 400 10 0 ""
s1/latency/sluice/2 900 210 260 410 10 0 ""
s1/latency/sluice/3 900 230 260 420 10 0 ""
s1/latency/proxy/1 1000 150 160 300 10 0 ""
s1/latency/nginx/1 1000 140 150 260 10 0 ""
s1/latency/portkey/1 300 2110 2200 5000 10 2 "status 500: boom"
s1/throughput/direct/1 8000 1000 1100 2000 100 0 ""
s1/throughput/sluice/1 4000 2000 2100 4000 100 0 ""
`
	path := filepath.Join(t.TempDir(), "runs.txt")
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := report(path, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		// direct median p50 110 (p99 210); sluice median 230 (p99 420).
		"| s1 | **sluice** | 230 | 420 | 120 | 210 | 0 | 250/210/230 |",
		"| s1 | Portkey | 2110 | 5000 | 2000 | 4790 | **2** (status 500: boom) | 2110 |",
		"| s1 | 0.120 ms | 0.040 ms | 0.080 ms | 0.030 ms | 2.000 ms | **16.7×** | 66.7× |",
		"| s1 | nginx, plain proxy (a C proxy's hop) | 140 | 260 | 30 | 50 | 0 | 140 |",
		"| s1 | sluice, plain proxy route (the hop's floor) | 150 | 300 | 40 | 90 | 0 | 150 |",
		"| s1 | **sluice** | 4000 | 2.00 | 4.00 | 0.50 | 0 | 4000 |",
		"| s1 | Portkey | not measured |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

// TestRunChecksAnswers drives a load phase against a server whose
// answers are complete, then one whose answers are cut short.
func TestRunChecksAnswers(t *testing.T) {
	var cut atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test") != "yes" || r.Method != http.MethodPost {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "data: x\n\n")
		if !cut.Load() {
			fmt.Fprint(w, "data: [DONE]\n\n")
		}
	}))
	defer srv.Close()
	l := &load{client: srv.Client(), url: srv.URL, header: http.Header{"X-Test": {"yes"}}, body: []byte(`{}`), expect: []byte("data: [DONE]")}
	lat, errs, first, _ := l.phase(2, 100*time.Millisecond, true)
	if len(lat) == 0 || errs != 0 {
		t.Fatalf("complete answers: %d ok, %d errors (%s)", len(lat), errs, first)
	}
	cut.Store(true)
	lat, errs, first, _ = l.phase(1, 50*time.Millisecond, true)
	if len(lat) != 0 || errs == 0 || !strings.Contains(first, "incomplete") {
		t.Fatalf("cut answers: %d ok, %d errors (%s)", len(lat), errs, first)
	}
}
