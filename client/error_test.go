package client_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/client"
	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// TestErrorFields checks what an *Error carries from a gateway-style
// response, whichever of header and body has the code and request id.
func TestErrorFields(t *testing.T) {
	problem := `{"type":"about:blank","title":"Service Unavailable","status":503,` +
		`"code":"no_healthy_upstream","detail":"No healthy upstream target is available.","request_id":"body-id"}`
	cases := []struct {
		name          string
		header        http.Header
		body          string
		wantCode, wID string
		wantDetail    string
	}{
		{
			name: "header and problem body",
			header: http.Header{"Content-Type": {"application/problem+json"}, "Sluice-Error": {"no_healthy_upstream"},
				"X-Request-Id": {"hdr-id"}},
			body: problem, wantCode: "no_healthy_upstream", wID: "hdr-id",
			wantDetail: "No healthy upstream target is available.",
		},
		{
			name:   "problem body only",
			header: http.Header{"Content-Type": {"application/problem+json; charset=utf-8"}},
			body:   problem, wantCode: "no_healthy_upstream", wID: "body-id",
			wantDetail: "No healthy upstream target is available.",
		},
		{
			name:   "service's own 503",
			header: http.Header{"Content-Type": {"text/html"}, "X-Request-Id": {"svc"}},
			body:   "<h1>down</h1>", wID: "svc",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := testkit.Start(t, testkit.Respond(503, tc.header, tc.body))
			_, err := client.New(fast, client.WithMaxAttempts(2)).Do(newRequest(t, "GET", u.URL+"/p?token=s3cr3t", nil))
			e := asError(t, err)
			if e.StatusCode != 503 || e.Code != tc.wantCode || e.RequestID != tc.wID || e.Detail != tc.wantDetail {
				t.Errorf("status %d code %q request id %q detail %q; want 503 %q %q %q",
					e.StatusCode, e.Code, e.RequestID, e.Detail, tc.wantCode, tc.wID, tc.wantDetail)
			}
			if e.Attempts != 2 || e.Method != "GET" || e.URL != u.URL+"/p" {
				t.Errorf("attempts %d, %s %s", e.Attempts, e.Method, e.URL)
			}
			if string(e.Body) != tc.body || e.Header.Get("X-Request-Id") != tc.header.Get("X-Request-Id") {
				t.Errorf("body %q header %v", e.Body, e.Header)
			}
			if e.Err != nil || errors.Unwrap(err) != nil {
				t.Errorf("a response error unwraps to %v", e.Err)
			}
			msg := err.Error()
			for _, s := range []string{"503", tc.wantCode, tc.wID, "attempts=2"} {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q lacks %q", msg, s)
				}
			}
			if strings.Contains(msg, "s3cr3t") {
				t.Errorf("message %q shows the query", msg)
			}
		})
	}
}

// TestLogger checks that WithLogger writes one structured line a retry.
func TestLogger(t *testing.T) {
	u := testkit.Start(t, testkit.Respond(502, http.Header{"Sluice-Error": {"upstream_connect_failed"}, "X-Request-Id": {"abc"}}, ""))
	var buf bytes.Buffer
	c := client.New(fast, client.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	_, err := c.Do(newRequest(t, "GET", u.URL+"/q?key=k", nil))
	asError(t, err)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil {
		t.Fatal(err)
	}
	if m["msg"] != "retrying request" || m["attempt"] != 2.0 || m["code"] != "upstream_connect_failed" ||
		m["request_id"] != "abc" || m["status"] != 502.0 || m["url"] != u.URL+"/q" || m["level"] != "WARN" {
		t.Errorf("log line = %v", m)
	}
}

// TestThroughGateway runs a call through a real sluice node whose upstream
// refuses connections: the client retries the 502, then reports sluice's
// code and the request id of its last attempt, which the gateway logged.
func TestThroughGateway(t *testing.T) {
	refusing := testkit.RefusingAddr(t)
	g := gatewaytest.Start(t, `upstreams:
  - name: orders
    targets: [{ url: "http://`+refusing+`" }]
    retries: 1
routes:
  - name: orders
    match: { paths: ["/orders"] }
    upstream: orders
`)
	var rec retries
	c := client.New(fast, client.OnRetry(rec.hook))
	resp, err := c.Do(newRequest(t, "GET", g.URL+"/orders/42", nil, "X-Api-Version", "2"))
	if resp != nil {
		t.Fatalf("got a response %d, want an *Error", resp.StatusCode)
	}
	e := asError(t, err)
	if e.StatusCode != 502 || e.Code != "upstream_connect_failed" || e.Attempts != 3 {
		t.Errorf("error = %+v, want 502 upstream_connect_failed after 3 attempts", e)
	}
	if e.Detail != "The upstream refused the connection." || e.Title != "Bad Gateway" {
		t.Errorf("problem title %q detail %q", e.Title, e.Detail)
	}
	if e.RequestID == "" {
		t.Fatal("no request id")
	}
	line := g.LogFor(e.RequestID)
	if line["code"] != "upstream_connect_failed" || line["status"] != 502.0 || line["route"] != "orders" {
		t.Errorf("access log for %s = %v", e.RequestID, line)
	}
	// Each attempt was a request of its own to the gateway, logged under the
	// request id the retry hook saw.
	evs := rec.get()
	if len(evs) != 2 {
		t.Fatalf("%d retries, want 2", len(evs))
	}
	for _, ev := range evs {
		if ev.RequestID == "" || ev.RequestID == e.RequestID || ev.Code != "upstream_connect_failed" {
			t.Errorf("retry %+v", ev)
			continue
		}
		if l := g.LogFor(ev.RequestID); l["code"] != "upstream_connect_failed" {
			t.Errorf("access log for attempt %d = %v", ev.Attempt, l)
		}
	}
	if strings.Contains(err.Error(), refusing) {
		t.Errorf("the error %q shows the upstream address", err)
	}
}
