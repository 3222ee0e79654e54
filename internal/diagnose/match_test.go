package diagnose

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestPathSpecMiss(t *testing.T) {
	cases := []struct {
		spec, path string
		close      bool
		text       string
	}{
		{"/orders", "/order/1", true, "match whole segments"},
		{"/orders", "/ordres/1", true, "(a typo?)"},
		{"/Orders", "/orders", true, "case"},
		{"/billing/v2", "/billing", true, "needs /v2 after it"},
		{"/api/", "/api", true, "ends in a slash"},
		{"/orders", "/users", false, "does not start with prefix /orders"},
		{"=/health", "/health/", true, "trailing slash"},
		{"=/health", "/health/deep", true, "does not take the longer path"},
		{"=/health", "/status", false, "is not /status"},
		{"~^/v[0-9]+/", "/x", false, "regex"},
	}
	for _, c := range cases {
		text, close := pathSpecMiss(c.spec, c.path)
		if close != c.close || !strings.Contains(text, c.text) {
			t.Errorf("pathSpecMiss(%q, %q) = %q, %v; want close %v and %q", c.spec, c.path, text, close, c.close, c.text)
		}
	}
}

func TestSuggestTimeout(t *testing.T) {
	cases := map[float64]time.Duration{
		606:    700 * time.Millisecond,
		40:     100 * time.Millisecond,
		1500:   2 * time.Second,
		25000:  30 * time.Second,
		200000: 4 * time.Minute,
	}
	for in, want := range cases {
		if got := suggestTimeout(in); got != want {
			t.Errorf("suggestTimeout(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	l := latency([]float64{5, 1, 4, 2, 3, 100, 6, 7, 8, 9})
	if l.Samples != 10 || l.P50MS != 5 || l.P99MS != 100 || l.MaxMS != 100 {
		t.Errorf("latency = %+v", l)
	}
	if latency(nil) != nil {
		t.Error("no samples must give no latency")
	}
}

// TestRoutingSections: the export is cut to the sections diagnose reads,
// and a value holding "${" is kept literal, not expanded a second time.
func TestRoutingSections(t *testing.T) {
	doc := `server: { listen: ":8080" }
consumers:
  - { name: a, credentials: [{ type: key-auth, key: "***" }] }
  - { name: b, credentials: [{ type: key-auth, key: "***" }] }
routes:
  - name: r
    upstream: u
    plugins: { request-transform: { add_headers: { X-Lit: "${HOME}" } } }
upstreams:
  - { name: u, targets: [{ url: "http://127.0.0.1:9" }] }
`
	out, err := routingSections([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["consumers"]; ok {
		t.Error("consumers kept")
	}
	if _, ok := m["server"]; ok {
		t.Error("server kept")
	}
	if !strings.Contains(string(out), `$${HOME}`) {
		t.Errorf("the literal ${HOME} is not escaped:\n%s", out)
	}
}
