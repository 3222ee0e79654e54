package admin

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/store"
)

func TestStatusAndHealth(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers", body: map[string]any{"name": "c"}})
	got := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/status"}).json(t)
	if got["version"] != "test" || got["store_config_version"] != 1.0 || got["config_version"] != 0.0 {
		t.Fatalf("status %v", got)
	}
	h := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/upstreams/file-up/health"}).json(t)
	if h["targets"] == nil {
		t.Fatalf("health %v", h)
	}
	if rep := e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/upstreams/ghost/health"}); rep.code(t) != "not_found" {
		t.Fatalf("%s", rep.body)
	}
}

func TestLogsQuery(t *testing.T) {
	e := newEnv(t, envOptions{})
	now := time.Now().UTC().Truncate(time.Second)
	entries := []store.RequestLogEntry{
		{Time: now.Add(-2 * time.Hour), RequestID: "old", Route: "a", Status: 200, Method: "GET", Path: "/a"},
		{Time: now.Add(-time.Minute), RequestID: "r1", Route: "a", Consumer: "alice", Status: 502, Code: "upstream_connect_failed",
			Method: "GET", Path: "/a", Duration: 1500 * time.Microsecond,
			Attempts: []store.Attempt{{Target: "10.0.0.1:80", Code: "upstream_connect_failed"}}},
		{Time: now.Add(-30 * time.Second), RequestID: "r2", Route: "b", Status: 200, Method: "POST", Path: "/b"},
	}
	if err := e.store.InsertRequestLogs(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	ids := func(q string) []string {
		var out []string
		for _, d := range e.must(http.StatusOK, req{method: "GET", path: "/api/v1/logs" + q}).json(t)["data"].([]any) {
			out = append(out, d.(map[string]any)["request_id"].(string))
		}
		return out
	}
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"r2", "r1", "old"}},
		{"?route=a", []string{"r1", "old"}},
		{"?status=502", []string{"r1"}},
		{"?code=upstream_connect_failed&consumer=alice", []string{"r1"}},
		{"?since=1h", []string{"r2", "r1"}},
		{"?since=" + now.Add(-3*time.Hour).Format(time.RFC3339) + "&until=" + now.Add(-time.Hour).Format(time.RFC3339), []string{"old"}},
		{"?limit=1", []string{"r2"}},
		{"?request_id=r2", []string{"r2"}},
	}
	for _, c := range cases {
		if got := ids(c.query); !reflect.DeepEqual(got, c.want) {
			t.Fatalf("%q: %v, want %v", c.query, got, c.want)
		}
	}
	one := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/logs?request_id=r1"}).json(t)["data"].([]any)[0].(map[string]any)
	if one["duration_ms"] != 1.5 || len(one["attempts"].([]any)) != 1 {
		t.Fatalf("entry %v", one)
	}
	for _, q := range []string{"status=abc", "status=42", "limit=0", "limit=20000", "since=yesterday", "until=-5m"} {
		rep := e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/logs?" + q})
		if ps := rep.problems(t); len(ps) != 1 {
			t.Fatalf("%s: problems %+v", q, ps)
		}
	}
}

func TestUsageQuery(t *testing.T) {
	e := newEnv(t, envOptions{})
	now := time.Now().UTC()
	if err := e.store.InsertUsage(context.Background(), []store.UsageEntry{
		{Time: now, Consumer: "alice", Model: "m1", InputTokens: 10, OutputTokens: 5, CostUSD: 0.5},
		{Time: now, Consumer: "alice", Model: "m2", InputTokens: 1, OutputTokens: 1, CostUSD: 0.25},
		{Time: now, Consumer: "bob", Model: "m1", InputTokens: 100, OutputTokens: 50, CostUSD: 2},
	}); err != nil {
		t.Fatal(err)
	}
	rows := func(q string) []any {
		return e.must(http.StatusOK, req{method: "GET", path: "/api/v1/usage" + q}).json(t)["data"].([]any)
	}
	if r := rows(""); len(r) != 1 || r[0].(map[string]any)["requests"] != 3.0 || r[0].(map[string]any)["cost_usd"] != 2.75 {
		t.Fatalf("total %v", r)
	}
	if r := rows("?group_by=consumer"); len(r) != 2 || r[0].(map[string]any)["consumer"] != "alice" || r[0].(map[string]any)["input_tokens"] != 11.0 {
		t.Fatalf("by consumer %v", r)
	}
	if r := rows("?consumer=alice&group_by=model,day"); len(r) != 2 || r[0].(map[string]any)["day"] != now.Format("2006-01-02") {
		t.Fatalf("alice by model and day %v", r)
	}
	if r := rows("?since=" + now.Add(time.Hour).Format(time.RFC3339)); len(r) != 1 || r[0].(map[string]any)["requests"] != 0.0 {
		t.Fatalf("future window %v", r)
	}
	rep := e.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/usage?group_by=consumer,region"})
	if ps := rep.problems(t); len(ps) != 1 || ps[0].Path != "group_by" {
		t.Fatalf("problems %+v", ps)
	}
}
