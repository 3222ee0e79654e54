package console_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/secret"
	"github.com/sluicegw/sluice/internal/store"
	_ "github.com/sluicegw/sluice/internal/store/sqlite" // the store sluice opens
	"github.com/sluicegw/sluice/internal/testkit"
)

// TestConsoleEndToEnd drives the console in headless Chromium (Debian's
// chromium, through playwright-core from web/node_modules) against a real
// `sluice serve` with a real upstream: log in, a validation error shown on
// its field, create an upstream and a route, send traffic through the
// proxy, see it on the dashboard, follow a 5xx to its cause chain, create
// a consumer credential (secret shown once), session expiry, change the
// password, log out. It writes a screenshot of each page to
// $SLUICE_SCREENSHOTS (make console-test: docs/screenshots/) and fails on
// any request the page makes off the loopback. The script is
// web/e2e/console.e2e.mjs.
//
// Without chromium, node, npm ci in web/ or a built console it skips,
// saying what is missing, except when CI=true, where it fails.
func TestConsoleEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED: the console end-to-end test is not short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	chromium := os.Getenv("SLUICE_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, nodeErr := exec.LookPath("node")
	var missing []string
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, "chromium at "+chromium+" (apt-get install chromium)")
	}
	if nodeErr != nil {
		missing = append(missing, "node on PATH")
	}
	if _, err := os.Stat(filepath.Join(root, "web/node_modules/playwright-core")); err != nil {
		missing = append(missing, "web/node_modules (cd web && npm ci)")
	}
	if b, err := os.ReadFile(filepath.Join(root, "internal/console/dist/index.html")); err != nil || !bytes.Contains(b, []byte("/assets/")) {
		missing = append(missing, "the built console (cd web && npm run build)")
	}
	if len(missing) > 0 {
		msg := "the console end-to-end test needs " + strings.Join(missing, ", ")
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED: " + msg + "; `make console-test` installs and runs it")
	}

	bin := filepath.Join(t.TempDir(), "sluice")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sluice")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "shop says hello to %s\n", r.URL.Path)
	}))
	t.Cleanup(shop.Close)
	refusing := "http://" + testkit.RefusingAddr(t)
	llm := testkit.StartMockLLM(t, "openai")
	llm.Default = testkit.LLMReply{Text: "Hello from the mock provider.", Usage: testkit.LLMUsage{Input: 11, Output: 4}}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(cfg, []byte(`server: { listen: "127.0.0.1:0", admin_listen: "127.0.0.1:0" }
upstreams:
  - name: legacy
    retries: 1
    targets: [{ url: "`+refusing+`" }]
routes:
  - name: legacy
    match: { paths: ["/legacy"] }
    upstream: legacy
ai:
  providers:
    - name: local
      type: openai-compatible
      base_url: "`+llm.URL+`/v1"
      api_keys: ["sk-test-not-a-real-key-1234"]
  models:
    - name: chat
      targets: [{ provider: local, model: "tiny" }]
  prices:
    "local/tiny": { input: 1, output: 2 }
`), 0o600)

	data := filepath.Join(dir, "data")
	seedUsage(t, data)

	const password = "first-password-for-e2e"
	cmd := exec.Command(bin, "serve", "--config", cfg, "--data", data)
	cmd.Env = append(os.Environ(), "SLUICE_ADMIN_PASSWORD="+password)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	proxyAddr, adminAddr, log := waitListening(t, cmd, stderr)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sluice log:\n%s", log.String())
		}
	})

	// make console-test points SLUICE_SCREENSHOTS at docs/screenshots;
	// other runs keep them out of the work tree.
	shots := os.Getenv("SLUICE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, node, "e2e/console.e2e.mjs")
	run.Dir = filepath.Join(root, "web")
	run.Env = append(os.Environ(),
		"SLUICE_ADMIN_URL=http://"+adminAddr,
		"SLUICE_PROXY_URL=http://"+proxyAddr,
		"SLUICE_UPSTREAM_URL="+shop.URL,
		"SLUICE_PASSWORD="+password,
		"SLUICE_CHROMIUM="+chromium,
		"SLUICE_SCREENSHOTS="+shots,
	)
	out, err := run.CombinedOutput()
	t.Logf("console.e2e.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the console end-to-end script failed: %v", err)
	}
	// The script's playground check streamed a chat through the node's AI
	// gateway to the mock provider; the provider must have seen it.
	if last := llm.Last(); last.Body["model"] != "tiny" || last.Header.Get("Authorization") != "Bearer sk-test-not-a-real-key-1234" {
		t.Fatalf("the playground chat reached the provider as %v %v", last.Body, last.Header)
	}

}

// seedUsage writes AI usage of the last minutes into the store sluice will
// open (the AI gateway that records it is not part of this test), for the
// dashboard's tokens and cost.
func seedUsage(t *testing.T, data string) {
	t.Helper()
	keys, err := secret.LoadKeyring(data)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite", filepath.Join(data, "sluice.db"), store.Options{Sealer: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	var rows []store.UsageEntry
	for i := range 6 {
		rows = append(rows, store.UsageEntry{Time: now.Add(-time.Duration(i) * 2 * time.Minute), RequestID: fmt.Sprintf("seed-%d", i),
			Consumer: "alice", Model: "chat", Provider: "local", ProviderModel: "tiny",
			InputTokens: 1000, OutputTokens: 250, CostUSD: 0.0125})
	}
	if err := st.InsertUsage(ctx, rows); err != nil {
		t.Fatal(err)
	}
}

// waitListening reads sluice's log until it says where it listens, and
// keeps collecting the log afterwards.
func waitListening(t *testing.T, cmd *exec.Cmd, stderr io.Reader) (proxy, admin string, log *testkit.SyncBuffer) {
	t.Helper()
	log = &testkit.SyncBuffer{}
	sc := bufio.NewScanner(stderr)
	addrRe := regexp.MustCompile(`proxy on (\S+), admin on http://(\S+)`)
	deadline := time.AfterFunc(15*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		log.Write([]byte(sc.Text() + "\n"))
		if m := addrRe.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(log, stderr)
			return m[1], m[2], log
		}
	}
	t.Fatalf("sluice serve did not start:\n%s", log.String())
	return "", "", nil
}
