package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/store"
)

// logBase is the time of the first sample entry; entries are a minute apart.
var logBase = time.Date(2031, 3, 4, 5, 6, 7, 891234567, time.UTC)

// sampleLogs returns n entries, the i-th at logBase + i minutes, with
// fields cycling so that every filter selects a known subset.
func sampleLogs(n int) []store.RequestLogEntry {
	routes := []string{"orders", "users", "search"}
	consumers := []string{"alice", "bob"}
	out := make([]store.RequestLogEntry, n)
	for i := range out {
		e := store.RequestLogEntry{
			Time:      logBase.Add(time.Duration(i) * time.Minute),
			RequestID: fmt.Sprintf("req-%03d", i),
			NodeID:    "node-1",
			Route:     routes[i%len(routes)],
			Upstream:  "up-" + routes[i%len(routes)],
			Consumer:  consumers[i%len(consumers)],
			Method:    "GET",
			Host:      "api.example.com",
			Path:      fmt.Sprintf("/%s/%d", routes[i%len(routes)], i),
			Status:    200,
			BytesIn:   int64(i),
			BytesOut:  int64(1000 + i),
			Duration:  time.Duration(i)*time.Millisecond + 123*time.Microsecond + 999, // sub-µs part is dropped
		}
		if i%4 == 3 {
			e.Status, e.Code, e.Error = 502, "upstream_connect_failed", "dial tcp 10.0.0.5:9001: connection refused"
			e.UpstreamDuration = 2 * time.Millisecond
			e.Attempts = []store.Attempt{
				{Target: "http://10.0.0.5:9001", Code: "upstream_connect_failed", Error: "connection refused", DurationMS: 1.25},
				{Target: "http://10.0.0.6:9001", Code: "upstream_connect_failed", Error: "connection refused", DurationMS: 0.5, Reused: true},
			}
		}
		out[i] = e
	}
	return out
}

// stored is e as the store gives it back: times and durations to the
// microsecond.
func stored(e store.RequestLogEntry) store.RequestLogEntry {
	e.Time = e.Time.Truncate(time.Microsecond)
	e.Duration = e.Duration.Truncate(time.Microsecond)
	e.UpstreamDuration = e.UpstreamDuration.Truncate(time.Microsecond)
	return e
}

func (h *harness) testRequestLogFilters(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	const n = 24
	logs := sampleLogs(n)
	// Inserted in two batches, the second older than the first, so order
	// comes from the times, not from insertion.
	wantErr(t, "insert newer half", s.InsertRequestLogs(ctx, logs[n/2:]), nil)
	wantErr(t, "insert older half", s.InsertRequestLogs(ctx, logs[:n/2]), nil)
	wantErr(t, "insert nothing", s.InsertRequestLogs(ctx, nil), nil)

	// expect returns the sample indexes matching keep, newest first.
	expect := func(keep func(i int, e store.RequestLogEntry) bool) []int {
		var out []int
		for i := n - 1; i >= 0; i-- {
			if keep(i, logs[i]) {
				out = append(out, i)
			}
		}
		return out
	}
	cases := []struct {
		name string
		f    store.LogFilter
		want []int
	}{
		{"everything", store.LogFilter{}, expect(func(int, store.RequestLogEntry) bool { return true })},
		{"request id", store.LogFilter{RequestID: "req-007"}, []int{7}},
		{"code", store.LogFilter{Code: "upstream_connect_failed"}, expect(func(i int, _ store.RequestLogEntry) bool { return i%4 == 3 })},
		{"status", store.LogFilter{Status: 200}, expect(func(i int, _ store.RequestLogEntry) bool { return i%4 != 3 })},
		{"route", store.LogFilter{Route: "users"}, expect(func(_ int, e store.RequestLogEntry) bool { return e.Route == "users" })},
		{"consumer", store.LogFilter{Consumer: "bob"}, expect(func(_ int, e store.RequestLogEntry) bool { return e.Consumer == "bob" })},
		{"since (inclusive)", store.LogFilter{Since: logs[20].Time}, []int{23, 22, 21, 20}},
		{"until (exclusive)", store.LogFilter{Until: logs[2].Time}, []int{1, 0}},
		{"window", store.LogFilter{Since: logs[5].Time.Add(-time.Second), Until: logs[8].Time}, []int{7, 6, 5}},
		{"combined", store.LogFilter{Route: "orders", Consumer: "alice", Status: 200}, expect(func(i int, e store.RequestLogEntry) bool {
			return e.Route == "orders" && e.Consumer == "alice" && i%4 != 3
		})},
		{"limit", store.LogFilter{Limit: 3}, []int{23, 22, 21}},
		{"limit with filter", store.LogFilter{Code: "upstream_connect_failed", Limit: 2}, []int{23, 19}},
		{"no match", store.LogFilter{Route: "nope"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.QueryRequestLogs(ctx, tc.f)
			wantErr(t, "query", err, nil)
			if len(got) != len(tc.want) {
				t.Fatalf("%d entries, want %d", len(got), len(tc.want))
			}
			for k, i := range tc.want {
				g := got[k]
				if g.ID == 0 {
					t.Fatalf("entry %d has no id", k)
				}
				g.ID = 0
				sameJSON(t, fmt.Sprintf("entry %d", k), g, stored(logs[i]))
			}
		})
	}

	t.Run("default and maximum limit", func(t *testing.T) {
		more := sampleLogs(store.DefaultLogLimit + 10)
		for i := range more {
			more[i].Time = more[i].Time.Add(-24 * time.Hour)
		}
		wantErr(t, "insert", s.InsertRequestLogs(ctx, more), nil)
		got, err := s.QueryRequestLogs(ctx, store.LogFilter{})
		wantErr(t, "query", err, nil)
		if len(got) != store.DefaultLogLimit {
			t.Fatalf("default limit gave %d entries", len(got))
		}
		got, err = s.QueryRequestLogs(ctx, store.LogFilter{Limit: store.MaxLogLimit + 1})
		wantErr(t, "query", err, nil)
		if len(got) != n+len(more) {
			t.Fatalf("large limit gave %d entries, want %d", len(got), n+len(more))
		}
		_, err = s.QueryRequestLogs(ctx, store.LogFilter{Limit: -1})
		wantErr(t, "negative limit", err, store.ErrInvalid)
	})

	t.Run("text both databases can hold", func(t *testing.T) {
		e := store.RequestLogEntry{Time: logBase.Add(time.Hour), RequestID: "bad-bytes", Path: "/a\x00b\xffc",
			Attempts: []store.Attempt{{Target: "t", Error: "nul\x00here"}}}
		wantErr(t, "insert", s.InsertRequestLogs(ctx, []store.RequestLogEntry{e}), nil)
		got, err := s.QueryRequestLogs(ctx, store.LogFilter{RequestID: "bad-bytes"})
		wantErr(t, "query", err, nil)
		if len(got) != 1 || got[0].Path != "/ab\uFFFDc" || got[0].Attempts[0].Error != "nulhere" {
			t.Fatalf("got %+v", got)
		}
	})

	t.Run("a cancelled batch writes nothing", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		batch := sampleLogs(50)
		for i := range batch {
			batch[i].RequestID = "cancelled"
		}
		if err := s.InsertRequestLogs(c, batch); err == nil {
			t.Fatal("insert with a cancelled context succeeded")
		}
		got, err := s.QueryRequestLogs(ctx, store.LogFilter{RequestID: "cancelled"})
		wantErr(t, "query", err, nil)
		if len(got) != 0 {
			t.Fatalf("%d entries of a failed batch stored", len(got))
		}
	})
}

func (h *harness) testRequestLogPrune(t *testing.T) {
	cases := []struct {
		name      string
		olderThan func(logs []store.RequestLogEntry) time.Time
		maxRows   int
		left      []int // sample indexes left, newest first
		err       error
	}{
		{"nothing to do", nil, 0, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, nil},
		{"by age", func(l []store.RequestLogEntry) time.Time { return l[6].Time }, 0, []int{9, 8, 7, 6}, nil},
		{"by rows", nil, 3, []int{9, 8, 7}, nil},
		{"rows above count", nil, 50, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, nil},
		{"both, age stricter", func(l []store.RequestLogEntry) time.Time { return l[8].Time }, 5, []int{9, 8}, nil},
		{"both, rows stricter", func(l []store.RequestLogEntry) time.Time { return l[2].Time }, 4, []int{9, 8, 7, 6}, nil},
		{"negative rows", nil, -1, nil, store.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := h.open(t)
			ctx := ctx(t)
			logs := sampleLogs(10)
			// Two entries share a time, so the row cap must break the tie by id.
			logs[7].Time = logs[6].Time
			wantErr(t, "insert", s.InsertRequestLogs(ctx, logs), nil)
			var older time.Time
			if tc.olderThan != nil {
				older = tc.olderThan(logs)
			}
			n, err := s.PruneRequestLogs(ctx, older, tc.maxRows)
			wantErr(t, "prune", err, tc.err)
			if tc.err != nil {
				return
			}
			if int(n) != 10-len(tc.left) {
				t.Errorf("pruned %d, want %d", n, 10-len(tc.left))
			}
			got, err := s.QueryRequestLogs(ctx, store.LogFilter{})
			wantErr(t, "query", err, nil)
			var ids []string
			for _, e := range got {
				ids = append(ids, e.RequestID)
			}
			var want []string
			for _, i := range tc.left {
				want = append(want, logs[i].RequestID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(want) {
				t.Fatalf("left %v, want %v", ids, want)
			}
		})
	}
}

func (h *harness) testUsage(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	day1 := time.Date(2031, 1, 1, 23, 59, 59, 0, time.UTC)
	day2 := day1.Add(2 * time.Second) // next UTC day
	entries := []store.UsageEntry{
		{Time: day1, Consumer: "alice", Model: "gpt-4o", Provider: "openai", ProviderModel: "gpt-4o", InputTokens: 10, OutputTokens: 20, CostUSD: 0.25},
		{Time: day1, Consumer: "alice", Model: "claude", Provider: "anthropic", ProviderModel: "claude-sonnet-4-5", InputTokens: 1, OutputTokens: 2, CostUSD: 0.5},
		{Time: day2, Consumer: "alice", Model: "gpt-4o", Provider: "openai", ProviderModel: "gpt-4o", InputTokens: 100, OutputTokens: 200, CostUSD: 1},
		{Time: day2, Consumer: "bob", Model: "gpt-4o", Provider: "openai", ProviderModel: "gpt-4o", InputTokens: 5, OutputTokens: 5, CostUSD: 0.125,
			Route: "ai", CachedTokens: 3, ReasoningTokens: 2, Attempts: 2, FirstToken: 150 * time.Millisecond, Duration: time.Second, Stream: true, Partial: true, Code: "client_closed"},
	}
	wantErr(t, "insert", s.InsertUsage(ctx, entries), nil)
	wantErr(t, "insert nothing", s.InsertUsage(ctx, nil), nil)
	cases := []struct {
		name string
		f    store.UsageFilter
		want []store.UsageRow
		err  error
	}{
		{"total", store.UsageFilter{}, []store.UsageRow{{Requests: 4, InputTokens: 116, OutputTokens: 227, CachedTokens: 3, ReasoningTokens: 2, CostUSD: 1.875}}, nil},
		{"by provider", store.UsageFilter{GroupBy: []store.UsageGroup{store.ByProvider}}, []store.UsageRow{
			{Provider: "anthropic", Requests: 1, InputTokens: 1, OutputTokens: 2, CostUSD: 0.5},
			{Provider: "openai", Requests: 3, InputTokens: 115, OutputTokens: 225, CachedTokens: 3, ReasoningTokens: 2, CostUSD: 1.375},
		}, nil},
		{"filtered by provider", store.UsageFilter{Provider: "anthropic"}, []store.UsageRow{{Requests: 1, InputTokens: 1, OutputTokens: 2, CostUSD: 0.5}}, nil},
		{"total of nothing", store.UsageFilter{Consumer: "carol"}, []store.UsageRow{{}}, nil},
		{"by consumer", store.UsageFilter{GroupBy: []store.UsageGroup{store.ByConsumer}}, []store.UsageRow{
			{Consumer: "alice", Requests: 3, InputTokens: 111, OutputTokens: 222, CostUSD: 1.75},
			{Consumer: "bob", Requests: 1, InputTokens: 5, OutputTokens: 5, CachedTokens: 3, ReasoningTokens: 2, CostUSD: 0.125},
		}, nil},
		{"by day and model", store.UsageFilter{GroupBy: []store.UsageGroup{store.ByModel, store.ByDay}}, []store.UsageRow{
			{Day: "2031-01-01", Model: "claude", Requests: 1, InputTokens: 1, OutputTokens: 2, CostUSD: 0.5},
			{Day: "2031-01-01", Model: "gpt-4o", Requests: 1, InputTokens: 10, OutputTokens: 20, CostUSD: 0.25},
			{Day: "2031-01-02", Model: "gpt-4o", Requests: 2, InputTokens: 105, OutputTokens: 205, CachedTokens: 3, ReasoningTokens: 2, CostUSD: 1.125},
		}, nil},
		{"filtered by consumer and model, by day", store.UsageFilter{Consumer: "alice", Model: "gpt-4o", GroupBy: []store.UsageGroup{store.ByDay}}, []store.UsageRow{
			{Day: "2031-01-01", Requests: 1, InputTokens: 10, OutputTokens: 20, CostUSD: 0.25},
			{Day: "2031-01-02", Requests: 1, InputTokens: 100, OutputTokens: 200, CostUSD: 1},
		}, nil},
		{"since", store.UsageFilter{Since: day2, GroupBy: []store.UsageGroup{store.ByConsumer}}, []store.UsageRow{
			{Consumer: "alice", Requests: 1, InputTokens: 100, OutputTokens: 200, CostUSD: 1},
			{Consumer: "bob", Requests: 1, InputTokens: 5, OutputTokens: 5, CachedTokens: 3, ReasoningTokens: 2, CostUSD: 0.125},
		}, nil},
		{"until", store.UsageFilter{Until: day2}, []store.UsageRow{{Requests: 2, InputTokens: 11, OutputTokens: 22, CostUSD: 0.75}}, nil},
		{"unknown group", store.UsageFilter{GroupBy: []store.UsageGroup{"colour"}}, nil, store.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.QueryUsage(ctx, tc.f)
			wantErr(t, "query", err, tc.err)
			if tc.err == nil {
				sameJSON(t, "rows", got, tc.want)
			}
		})
	}
}

func (h *harness) testNodes(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	started := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	before := time.Now().Add(-time.Second)
	for _, n := range []store.Node{
		{ID: "node-b", Hostname: "host-b", Version: "1.0.0", Started: started},
		{ID: "node-a", Hostname: "host-a", Version: "1.0.0", Started: started},
		{ID: "node-a", Hostname: "host-a", Version: "1.1.0", Started: started.Add(time.Hour)}, // restarted
	} {
		wantErr(t, "register "+n.ID, s.RegisterNode(ctx, n), nil)
	}
	wantErr(t, "register without id", s.RegisterNode(ctx, store.Node{}), store.ErrInvalid)
	nodes, err := s.ListNodes(ctx)
	wantErr(t, "list", err, nil)
	if len(nodes) != 2 || nodes[0].ID != "node-a" || nodes[1].ID != "node-b" {
		t.Fatalf("nodes = %+v", nodes)
	}
	if a := nodes[0]; a.Version != "1.1.0" || !a.Started.Equal(started.Add(time.Hour)) || a.LastSeen.Before(before) {
		t.Fatalf("re-registered node = %+v", a)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}
