package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"
)

// runDiagnose runs `sluice diagnose args…` with extra environment and
// returns its exit code, stdout and stderr.
func runDiagnose(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"diagnose"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// TestDiagnoseBinary runs `sluice diagnose` against a running `sluice
// serve`: exit 0 for a healthy route, 1 with the refusing target named for
// a broken one (text and --json), 2 when it cannot run.
func TestDiagnoseBinary(t *testing.T) {
	const token = "diagnose-binary-token"
	t.Setenv("SLUICE_ADMIN_TOKEN", token)
	ok := testkit.Start(t, testkit.OK)
	refusing := "http://" + testkit.RefusingAddr(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf(`server: { listen: "127.0.0.1:0", admin_listen: "127.0.0.1:0" }
upstreams:
  - name: good
    retries: 0
    targets: [{ url: %q }]
  - name: bad
    retries: 0
    targets: [{ url: %q }]
routes:
  - name: good
    match: { paths: ["/good"] }
    upstream: good
  - name: bad
    match: { paths: ["/bad"] }
    upstream: bad
`, ok.URL, refusing)), 0o600)
	_, addr, _ := startServe(t, dir, "--config", path, "--data", filepath.Join(dir, "data"))
	a, _ := adminAddrs.Load(addr)
	admin := "http://" + a.(string)

	// Traffic first, so the request log has entries; then wait for them.
	for range 4 {
		for _, p := range []string{"/good/1", "/bad/1"} {
			resp, err := http.Get("http://" + addr + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequest("GET", admin+"/api/v1/logs?route=bad", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		var body struct{ Data []any }
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
		}
		if len(body.Data) >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the request log did not fill: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	t.Run("healthy route exits 0", func(t *testing.T) {
		code, stdout, stderr := runDiagnose(t, nil, "--admin", admin, "http://"+addr+"/good/1")
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "No problems found") || !strings.Contains(stderr, "[1/6] route:") {
			t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
	})
	t.Run("refusing target exits 1", func(t *testing.T) {
		code, stdout, stderr := runDiagnose(t, []string{"SLUICE_ADMIN_URL=" + admin}, "bad")
		if code != 1 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		want := "target " + strings.TrimPrefix(refusing, "http://") + " refuses connections: 4 of the last 4 errors are upstream_connect_failed"
		if !strings.Contains(stdout, "PROBLEM  upstream_connect_failed: "+want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	})
	t.Run("json", func(t *testing.T) {
		// Flags after the argument work too.
		code, stdout, stderr := runDiagnose(t, nil, "http://"+addr+"/bad/1", "--admin", admin, "--json")
		if code != 1 {
			t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
		}
		var rep struct {
			Route    struct{ Name string }
			Findings []struct {
				Code, Severity, Target, Summary, Fix string
				Evidence                             []string
			}
			Problems int
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("stdout is not one JSON document (%v):\n%s", err, stdout)
		}
		if rep.Route.Name != "bad" || rep.Problems < 1 || len(rep.Findings) == 0 {
			t.Fatalf("report = %+v", rep)
		}
		f := rep.Findings[0]
		if f.Code != "upstream_connect_failed" || f.Severity != "problem" || f.Target != refusing || f.Fix == "" || len(f.Evidence) == 0 {
			t.Errorf("first finding = %+v", f)
		}
		if !strings.Contains(stderr, "[2/6]") {
			t.Errorf("no progress on stderr:\n%s", stderr)
		}
	})
	t.Run("cannot run exits 2", func(t *testing.T) {
		cases := []struct {
			name string
			args []string
			want string
		}{
			{"wrong token", []string{"--admin", admin, "--token", "wrong", "good"}, "refused the token"},
			{"unreachable", []string{"--admin", "http://" + testkit.RefusingAddr(t), "good"}, "unreachable"},
			{"unknown route", []string{"--admin", admin, "goood"}, `did you mean "good"`},
			{"no argument", []string{"--admin", admin}, "usage: sluice diagnose"},
			{"two arguments", []string{"--admin", admin, "good", "bad"}, "usage: sluice diagnose"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				code, stdout, stderr := runDiagnose(t, nil, append(c.args, "--json")...)
				if code != 2 || !strings.Contains(stderr, c.want) {
					t.Errorf("exit %d, stderr:\n%s", code, stderr)
				}
				if strings.Contains(stderr+stdout, token) {
					t.Error("the token is printed")
				}
				if c.name == "wrong token" {
					var e struct{ Error string }
					if json.Unmarshal([]byte(stdout), &e) != nil || !strings.Contains(e.Error, c.want) {
						t.Errorf("--json error document: %q", stdout)
					}
				}
			})
		}
	})
}
