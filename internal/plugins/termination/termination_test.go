package termination_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/plugin"
	_ "github.com/sluicegw/sluice/internal/plugins/cors"
	"github.com/sluicegw/sluice/internal/plugins/termination"
	_ "github.com/sluicegw/sluice/internal/plugins/transform"
	"github.com/sluicegw/sluice/internal/testkit"
)

func TestTerminationThroughGateway(t *testing.T) {
	cases := []struct {
		name      string
		global    string // the global request-termination config, or ""
		route     string // route "api"'s request-termination config, or ""
		method    string
		wantCode  int
		wantCT    string
		wantBody  string
		wantHits  int64
		extraYAML string
	}{
		{
			name: "defaults", route: `{}`, method: "GET",
			wantCode: 503, wantCT: "application/json", wantBody: `{"message":"Service Unavailable"}` + "\n",
		},
		{
			name: "message", route: `{ status: 410, message: "This API was retired; use \"v2\"." }`, method: "POST",
			wantCode: 410, wantCT: "application/json", wantBody: `{"message":"This API was retired; use \"v2\"."}` + "\n",
		},
		{
			name: "body with content type", route: `{ status: 200, body: "<h1>maintenance</h1>", content_type: "text/html; charset=utf-8" }`, method: "GET",
			wantCode: 200, wantCT: "text/html; charset=utf-8", wantBody: "<h1>maintenance</h1>",
		},
		{
			name: "body default content type", route: `{ body: "down" }`, method: "GET",
			wantCode: 503, wantCT: "text/plain; charset=utf-8", wantBody: "down",
		},
		{
			name: "no content", route: `{ status: 204 }`, method: "GET",
			wantCode: 204,
		},
		{
			name: "head has no body", route: `{ message: "down" }`, method: "HEAD",
			wantCode: 503, wantCT: "application/json",
		},
		{
			name: "route config overrides global", global: `{ message: "everything is down" }`,
			route: `{ status: 200, body: "ok" }`, method: "GET",
			wantCode: 200, wantCT: "text/plain; charset=utf-8", wantBody: "ok",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := testkit.Start(t, testkit.Echo)
			yaml := `upstreams:
  - name: u
    targets: [{ url: "` + u.URL + `" }]
routes:
  - name: api
    match: { paths: ["/api"] }
    upstream: u
`
			if tc.route != "" {
				yaml += "    plugins:\n      request-termination: " + tc.route + "\n"
			}
			if tc.global != "" {
				yaml += "plugins:\n  request-termination: " + tc.global + "\n"
			}
			g := gatewaytest.Start(t, yaml)
			resp, body := g.Do(tc.method, "/api/x", nil, nil)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.wantCT {
				t.Errorf("Content-Type = %q, want %q", got, tc.wantCT)
			}
			if string(body) != tc.wantBody {
				t.Errorf("body = %q, want %q", body, tc.wantBody)
			}
			if u.Hits() != 0 {
				t.Errorf("the upstream was contacted (%d hits)", u.Hits())
			}
			id := resp.Header.Get("X-Request-Id")
			if id == "" || !strings.HasPrefix(resp.Header.Get("Server-Timing"), "gateway;dur=") {
				t.Errorf("edge headers missing: %v", resp.Header)
			}
			if line := g.LogFor(id); line["status"] != float64(tc.wantCode) {
				t.Errorf("access log status %v, want %d", line["status"], tc.wantCode)
			}
		})
	}
}

// TestTerminationPassesResponsePlugins: the edge answer carries the CORS
// headers (a browser can read it) and what response-transform adds.
func TestTerminationPassesResponsePlugins(t *testing.T) {
	u := testkit.Start(t, testkit.Echo)
	g := gatewaytest.Start(t, `upstreams:
  - name: u
    targets: [{ url: "`+u.URL+`" }]
routes:
  - name: api
    match: { paths: ["/api"] }
    upstream: u
    plugins:
      request-termination: { message: "back at 10:00" }
      response-transform: { set_headers: { Retry-After: "600" } }
plugins:
  cors: { origins: ["https://app.example.com"] }
`)
	resp, body := g.Get("/api/x", map[string]string{"Origin": "https://app.example.com"})
	if resp.StatusCode != 503 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin": "https://app.example.com",
		"Vary":                        "Origin",
		"Retry-After":                 "600",
		"Cache-Control":               "no-store",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil || m["message"] != "back at 10:00" {
		t.Errorf("body %q: %v", body, err)
	}
	if u.Hits() != 0 {
		t.Error("the upstream was contacted")
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"1xx status", map[string]any{"status": 101}, "not a final HTTP status"},
		{"too large status", map[string]any{"status": 600}, "not a final HTTP status"},
		{"status as string", map[string]any{"status": "503"}, "status"},
		{"both message and body", map[string]any{"message": "a", "body": "b"}, "mutually exclusive"},
		{"body with 204", map[string]any{"status": 204, "body": "b"}, "has no body"},
		{"content type without body", map[string]any{"message": "a", "content_type": "text/plain"}, "only with body"},
		{"content type injection", map[string]any{"body": "a", "content_type": "text/plain\r\nX-Evil: 1"}, "control characters"},
		{"unknown key", map[string]any{"status_code": 503}, "unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := termination.New(tc.cfg, plugin.Env{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
