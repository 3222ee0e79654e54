package diagnose_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/diagnose"
	"github.com/sluicegw/sluice/internal/gatewaytest"
)

// adminToken is the SLUICE_ADMIN_TOKEN of the gateways these tests start.
const adminToken = "diagnose-test-token"

// startGateway runs a gateway with an admin token and waits for its admin
// API.
func startGateway(t *testing.T, yaml string) *gatewaytest.Gateway {
	t.Helper()
	t.Setenv("SLUICE_ADMIN_TOKEN", adminToken)
	g := gatewaytest.Start(t, yaml)
	g.WaitAdminAPI()
	return g
}

// adminGet calls the admin API with the token and decodes the JSON answer.
func adminGet(t *testing.T, g *gatewaytest.Gateway, path string, into any) {
	t.Helper()
	req, _ := http.NewRequest("GET", g.AdminURL+"/api/v1"+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := g.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatal(err)
	}
}

// send sends n requests through the gateway, checks each answer with
// check (when not nil), and waits until the request log holds n entries
// for route.
func send(t *testing.T, g *gatewaytest.Gateway, n int, method, path, route string, check func(*http.Response, []byte)) {
	t.Helper()
	for range n {
		resp, body := g.Do(method, path, nil, nil)
		if check != nil {
			check(resp, body)
		}
	}
	waitFor(t, 10*time.Second, "request log entries for route "+route, func() bool {
		var l struct{ Data []any }
		adminGet(t, g, "/logs?limit=10000&route="+url.QueryEscape(route), &l)
		return len(l.Data) >= n
	})
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// diagnoseRun runs a diagnosis of target against g. opts may adjust the
// options.
func diagnoseRun(t *testing.T, g *gatewaytest.Gateway, target string, opts func(*diagnose.Options)) (*diagnose.Report, string) {
	t.Helper()
	var progress bytes.Buffer
	o := diagnose.Options{AdminURL: g.AdminURL, Token: adminToken, Target: target, Progress: &progress}
	if opts != nil {
		opts(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := diagnose.Run(ctx, o)
	if err != nil {
		t.Fatalf("diagnose %s: %v\nprogress:\n%s", target, err, progress.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			var out bytes.Buffer
			diagnose.WriteText(&out, rep)
			t.Logf("diagnose %s:\n%s%s", target, progress.String(), out.String())
		}
	})
	return rep, progress.String()
}

// finding returns the finding with code about target ("" for any), or
// fails the test.
func finding(t *testing.T, rep *diagnose.Report, code, target string) diagnose.Finding {
	t.Helper()
	for _, f := range rep.Findings {
		if f.Code == code && (target == "" || f.Target == target) {
			return f
		}
	}
	t.Fatalf("no finding %s about %q; findings: %s", code, target, codes(rep))
	return diagnose.Finding{}
}

// codes lists a report's findings as "severity code target".
func codes(rep *diagnose.Report) string {
	var s []string
	for _, f := range rep.Findings {
		s = append(s, string(f.Severity)+" "+f.Code+" "+f.Target)
	}
	return "[" + strings.Join(s, "; ") + "]"
}

// problems returns the findings of severity problem.
func problems(rep *diagnose.Report) []diagnose.Finding {
	var out []diagnose.Finding
	for _, f := range rep.Findings {
		if f.Severity == diagnose.Problem {
			out = append(out, f)
		}
	}
	return out
}

// wantText fails the test unless s contains every part.
func wantText(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s %q does not contain %q", what, s, p)
		}
	}
}
