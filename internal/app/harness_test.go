package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"
)

// harness is a sluice node started in-process on loopback ports.
type harness struct {
	t       *testing.T
	app     *App
	url     string // http://proxy-addr
	cfgPath string
	access  *syncBuffer
	errlog  *syncBuffer
	client  *http.Client
}

const serverSection = `server:
  listen: "127.0.0.1:0"
  admin_listen: "127.0.0.1:0"
`

// startGateway starts a node whose config is serverSection + body.
func startGateway(t *testing.T, body string) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{t: t, cfgPath: filepath.Join(dir, "sluice.yaml"), access: &syncBuffer{}, errlog: &syncBuffer{}}
	if err := os.WriteFile(h.cfgPath, []byte(withServer(body)), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{ConfigPath: h.cfgPath, DataDir: filepath.Join(dir, "data"), Stdout: h.access, Stderr: h.errlog, Version: "test"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	h.app = a
	h.url = "http://" + a.ProxyAddr()
	if !strings.Contains(body, "storage:") {
		// Tests start from the merged config: the store opening swaps a
		// snapshot and starts the request log, which would race them.
		waitFor(t, 15*time.Second, a.StoreLoaded)
	}
	h.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Shutdown(ctx)
		h.client.CloseIdleConnections()
		if t.Failed() {
			t.Logf("application log:\n%s", h.errlog.String())
		}
	})
	return h
}

func withServer(body string) string {
	if strings.Contains(body, "server:") {
		return body
	}
	return serverSection + body
}

// rewrite replaces the config file (atomically, by rename).
func (h *harness) rewrite(body string) {
	h.t.Helper()
	tmp := h.cfgPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(withServer(body)), 0o600); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, h.cfgPath); err != nil {
		h.t.Fatal(err)
	}
}

// do sends a request through the gateway and reads the whole body.
func (h *harness) do(method, path string, body io.Reader, hdr map[string]string) (*http.Response, []byte, error) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// get is do for a GET that must produce a complete response.
func (h *harness) get(path string) (*http.Response, []byte) {
	h.t.Helper()
	resp, b, err := h.do("GET", path, nil, nil)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	return resp, b
}

// accessLog flushes and parses the access log lines so far.
func (h *harness) accessLog() []map[string]any {
	h.t.Helper()
	h.app.accessOut.Flush()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(h.access.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			h.t.Fatalf("access log line is not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// logFor returns the access log line of a request id, waiting briefly for
// the line to be written (it is written after the response).
func (h *harness) logFor(id string) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		for _, m := range h.accessLog() {
			if m["request_id"] == id {
				return m
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no access log line for request %s; log:\n%s", id, h.access.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// problem is the problem+json body of a gateway error.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
}

// checkProblem asserts that resp is the gateway error code with status.
func checkProblem(t *testing.T, resp *http.Response, body []byte, status int, code string) problem {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	if got := resp.Header.Get("Sluice-Error"); got != code {
		t.Errorf("Sluice-Error = %q, want %q", got, code)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("body is not problem+json: %v: %s", err, body)
	}
	if p.Code != code || p.Status != status || p.Detail == "" || p.Title == "" {
		t.Errorf("problem = %+v, want code %s status %d", p, code, status)
	}
	if id := resp.Header.Get("X-Request-Id"); id == "" || id != p.RequestID {
		t.Errorf("X-Request-Id %q does not match body request_id %q", id, p.RequestID)
	}
	if !strings.Contains(resp.Header.Get("Server-Timing"), "gateway;dur=") {
		t.Errorf("Server-Timing = %q", resp.Header.Get("Server-Timing"))
	}
	if bytes.Contains(body, []byte("127.0.0.1")) || bytes.Contains(body, []byte("no-such-host")) || bytes.Contains(body, []byte("dial")) {
		t.Errorf("public error body leaks upstream details: %s", body)
	}
	return p
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}

// syncBuffer is a goroutine-safe buffer for captured logs.
type syncBuffer = testkit.SyncBuffer
