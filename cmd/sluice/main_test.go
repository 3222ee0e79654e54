package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"
)

var binary string

// adminAddrs maps a started node's proxy address to its admin address.
var adminAddrs sync.Map

// TestMain builds the real binary once; the tests run it as users do.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "sluice")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^sluice \S+ \(commit \S+, go1\.\d+`).Match(out) {
		t.Fatalf("version output %q", out)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("upstreams:\n  - name: u\n    targets: [{ url: \"http://127.0.0.1:9\" }]\nroutes:\n  - name: r\n    match: { paths: [\"/\"] }\n    upstream: u\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`upstreams:
  - name: u
    targets: [{ url: "ftp://x" }]
    balancer: fastest
    retriez: 3
routes:
  - name: r
    match: { paths: ["orders"] }
    upstream: missing
`), 0o600)

	cmd := exec.Command(binary, "config", "validate", good)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("good config: %v\n%s", err, out)
	}
	cmd = exec.Command(binary, "config", "validate", bad)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("bad config exit: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	wantLines := []string{bad + ":3:", bad + ":4:", bad + ":5:", bad + ":8:", bad + ":9:"}
	for _, w := range wantLines {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem reported at %s; got:\n%s", w, stderr.String())
		}
	}
}

// startServe runs `sluice serve` and waits until it says where it listens.
func startServe(t *testing.T, dir string, args ...string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve"}, args...)...)
	cmd.Dir = dir
	stderr, _ := cmd.StderrPipe()
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	addrRe := regexp.MustCompile(`proxy on (\S+), admin on http://(\S+)`)
	deadline := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	var log strings.Builder
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if m := addrRe.FindStringSubmatch(sc.Text()); m != nil {
			var rest syncBuf
			go io.Copy(&rest, stderr)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("sluice %s log:\n%s%s", m[1], log.String(), rest.String())
				}
			})
			adminAddrs.Store(m[1], m[2])
			return cmd, m[1], &out
		}
	}
	t.Fatalf("sluice serve did not start:\n%s", log.String())
	return nil, "", nil
}

func TestServeDefaults(t *testing.T) {
	for _, a := range []string{":8080", "127.0.0.1:8081"} {
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Skipf("SKIPPED: default port %s is in use on this machine (%v); cannot test the defaults", a, err)
		}
		l.Close()
	}
	dir := t.TempDir()
	cmd, addr, _ := startServe(t, dir)
	if addr != "[::]:8080" && addr != "0.0.0.0:8080" && !strings.HasSuffix(addr, ":8080") {
		t.Errorf("default proxy address %s", addr)
	}
	resp, err := http.Get("http://127.0.0.1:8080/anything")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Sluice-Error") != "no_route" {
		t.Errorf("empty gateway answered %d %q", resp.StatusCode, resp.Header.Get("Sluice-Error"))
	}
	if resp, err := http.Get("http://127.0.0.1:8081/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("admin on 127.0.0.1:8081: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sluice-data")); err != nil {
		t.Errorf("data dir not created: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// TestSignals: SIGHUP reloads the config; SIGTERM lets an in-flight request
// finish and exits 0.
func TestSignals(t *testing.T) {
	a := testkit.Start(t, testkit.Respond(200, nil, "A"))
	b := testkit.Start(t, testkit.SlowHead(700*time.Millisecond))
	dir := t.TempDir()
	cfg := func(url string) string {
		return fmt.Sprintf("server: { listen: \"127.0.0.1:0\", admin_listen: \"127.0.0.1:0\" }\nupstreams:\n  - name: u\n    targets: [{ url: %q }]\nroutes:\n  - name: r\n    match: { paths: [\"/\"] }\n    upstream: u\n", url)
	}
	path := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(path, []byte(cfg(a.URL)), 0o600)
	cmd, addr, _ := startServe(t, dir, "--config", path, "--data", filepath.Join(dir, "data"))
	get := func() (string, error) {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), err
	}
	if body, err := get(); err != nil || body != "A" {
		t.Fatalf("before reload: %q %v", body, err)
	}
	// Write without renaming, then SIGHUP (the watcher may also fire).
	os.WriteFile(path, []byte(cfg(b.URL)), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for b.Hits() == 0 && time.Now().Before(deadline) {
		get()
	}
	if b.Hits() == 0 {
		t.Fatal("SIGHUP did not reload the config")
	}
	result := make(chan error, 1)
	go func() {
		body, err := get()
		if err == nil && body == "" {
			err = fmt.Errorf("empty body")
		}
		result <- err
	}()
	hits := b.Hits()
	for b.Hits() == hits {
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-result; err != nil {
		t.Errorf("in-flight request during SIGTERM: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit status after SIGTERM: %v", err)
	}
}

// syncBuf is a goroutine-safe buffer for captured logs.
type syncBuf = testkit.SyncBuffer
