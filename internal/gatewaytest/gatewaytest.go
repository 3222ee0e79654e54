// Package gatewaytest starts real sluice nodes in-process for tests of the
// packages that plug into the gateway (plugins, AI providers): a config
// from YAML, real listeners on loopback, the access log captured.
//
// Use it from external test packages (package foo_test), since it imports
// the whole gateway.
package gatewaytest

import (
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

	"github.com/sluicegw/sluice/internal/app"
)

// Gateway is a running node.
type Gateway struct {
	T       testing.TB
	App     *app.App
	URL     string // http://proxy-address
	Addr    string // proxy host:port
	CfgPath string
	Client  *http.Client
	// AdminURL is the admin listener's base URL, http://admin-address. To
	// call the admin API with a bearer token, t.Setenv SLUICE_ADMIN_TOKEN
	// before Start.
	AdminURL string

	access, errlog *syncBuffer
}

// Start runs a node whose config is the given YAML. Unless the YAML has a
// server section, the listeners bind to 127.0.0.1:0.
func Start(t testing.TB, yaml string) *Gateway {
	t.Helper()
	dir := t.TempDir()
	g := &Gateway{T: t, CfgPath: filepath.Join(dir, "sluice.yaml"), access: &syncBuffer{}, errlog: &syncBuffer{}}
	if !strings.Contains(yaml, "server:") {
		yaml = "server:\n  listen: \"127.0.0.1:0\"\n  admin_listen: \"127.0.0.1:0\"\n" + yaml
	}
	if err := os.WriteFile(g.CfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Options{ConfigPath: g.CfgPath, DataDir: filepath.Join(dir, "data"), Stdout: g.access, Stderr: g.errlog, Version: "test"})
	if err != nil {
		t.Fatalf("gateway config: %v", err)
	}
	if err := a.Start(); err != nil {
		t.Fatalf("gateway start: %v", err)
	}
	g.App, g.Addr = a, a.ProxyAddr()
	g.URL = "http://" + g.Addr
	g.AdminURL = "http://" + a.AdminAddr()
	if !strings.Contains(yaml, "storage:") {
		// Tests start from the merged config: the store opening swaps a
		// snapshot and starts the request log, which would race them.
		for deadline := time.Now().Add(15 * time.Second); !a.StoreLoaded(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("gatewaytest: the store did not open within 15s")
			}
		}
	}
	g.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Shutdown(ctx)
		g.Client.CloseIdleConnections()
		if t.Failed() {
			t.Logf("gateway application log:\n%s", g.errlog.String())
		}
	})
	return g
}

// WaitAdminAPI waits up to 10 seconds until the admin API serves: it
// starts once the store is open, answering 503 store_unavailable before.
func (g *Gateway) WaitAdminAPI() {
	g.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := g.Client.Get(g.AdminURL + "/api/v1/status")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				return
			}
		}
		if time.Now().After(deadline) {
			g.T.Fatalf("the admin API did not start within 10s (last error %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Do sends a request through the gateway and reads the whole body. hdr
// may set "Host".
func (g *Gateway) Do(method, path string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	g.T.Helper()
	req, err := http.NewRequest(method, g.URL+path, body)
	if err != nil {
		g.T.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := g.Client.Do(req)
	if err != nil {
		g.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		g.T.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, b
}

// Get is Do for a GET without a body.
func (g *Gateway) Get(path string, hdr map[string]string) (*http.Response, []byte) {
	g.T.Helper()
	return g.Do("GET", path, nil, hdr)
}

// AccessLog returns the access log lines so far, parsed.
func (g *Gateway) AccessLog() []map[string]any {
	g.T.Helper()
	g.App.FlushAccessLog()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(g.access.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			g.T.Fatalf("access log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// RawLogs returns the access log and application log text, for tests
// that check a secret never appears.
func (g *Gateway) RawLogs() string {
	g.App.FlushAccessLog()
	return g.access.String() + g.errlog.String()
}

// LogFor returns the access log line of a request id, waiting briefly.
func (g *Gateway) LogFor(id string) map[string]any {
	g.T.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		for _, m := range g.AccessLog() {
			if m["request_id"] == id {
				return m
			}
		}
		if time.Now().After(deadline) {
			g.T.Fatalf("no access log line for request %s", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Problem is a gateway error body.
type Problem struct {
	Type, Title, Code, Detail string
	Status                    int
	RequestID                 string `json:"request_id"`
}

// CheckProblem asserts that resp is gateway error code with status and
// returns the decoded body.
func CheckProblem(t testing.TB, resp *http.Response, body []byte, status int, code string) Problem {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	if got := resp.Header.Get("Sluice-Error"); got != code {
		t.Errorf("Sluice-Error = %q, want %q", got, code)
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("body is not problem+json: %v: %s", err, body)
	}
	if p.Code != code || p.Status != status {
		t.Errorf("problem = %+v, want code %s status %d", p, code, status)
	}
	if resp.Header.Get("X-Request-Id") != p.RequestID {
		t.Errorf("X-Request-Id %q != body request_id %q", resp.Header.Get("X-Request-Id"), p.RequestID)
	}
	return p
}

// syncBuffer is a goroutine-safe buffer for captured logs.
type syncBuffer = testkit.SyncBuffer
