package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/store"
)

// getStatus answers GET /api/v1/status: Options.Status plus
// "store_config_version", the latest config version committed to the
// store (a node whose "config_version" is lower has not caught up yet).
func (a *API) getStatus(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{}
	if a.status != nil {
		for k, v := range a.status() {
			body[k] = v
		}
	}
	v, err := a.store.ConfigVersion(r.Context())
	if err != nil {
		a.fail(w, r, a.storeError(r.Context(), err, "the config version"))
		return
	}
	body["store_config_version"] = v
	writeJSON(w, http.StatusOK, body)
}

// upstreamHealth answers GET /api/v1/upstreams/{name}/health.
func (a *API) upstreamHealth(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if a.health != nil {
		if body, ok := a.health(name); ok {
			writeJSON(w, http.StatusOK, body)
			return
		}
	}
	a.fail(w, r, errNotFound("There is no upstream %q.", name))
}

// logEntryJSON is one request log entry as answered.
type logEntryJSON struct {
	Time       string          `json:"time"`
	RequestID  string          `json:"request_id"`
	NodeID     string          `json:"node_id"`
	Route      string          `json:"route,omitempty"`
	Upstream   string          `json:"upstream,omitempty"`
	Consumer   string          `json:"consumer,omitempty"`
	Method     string          `json:"method"`
	Host       string          `json:"host"`
	Path       string          `json:"path"`
	Status     int             `json:"status"`
	Code       string          `json:"code,omitempty"`
	Error      string          `json:"error,omitempty"`
	Attempts   []store.Attempt `json:"attempts"`
	BytesIn    int64           `json:"bytes_in"`
	BytesOut   int64           `json:"bytes_out"`
	DurationMS float64         `json:"duration_ms"`
	UpstreamMS float64         `json:"upstream_ms"`
}

// queryLogs answers GET /api/v1/logs: the request log, newest first,
// filtered by request_id, code, status, route, consumer, since and until
// (RFC 3339, or a Go duration back from now like 15m) and cut at limit
// (default 100, at most 10000).
func (a *API) queryLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.LogFilter{RequestID: q.Get("request_id"), Code: q.Get("code"), Route: q.Get("route"), Consumer: q.Get("consumer")}
	var ps []problem
	f.Status = a.intParam(q, "status", 100, 599, &ps)
	f.Limit = a.intParam(q, "limit", 1, store.MaxLogLimit, &ps)
	f.Since = a.timeParam(q, "since", &ps)
	f.Until = a.timeParam(q, "until", &ps)
	if len(ps) > 0 {
		a.fail(w, r, invalid(ps, "Invalid query parameters."))
		return
	}
	entries, err := a.store.QueryRequestLogs(r.Context(), f)
	if err != nil {
		a.fail(w, r, a.storeError(r.Context(), err, "the request log"))
		return
	}
	out := make([]logEntryJSON, len(entries))
	for i, e := range entries {
		out[i] = logEntryJSON{Time: timeJSON(e.Time), RequestID: e.RequestID, NodeID: e.NodeID, Route: e.Route,
			Upstream: e.Upstream, Consumer: e.Consumer, Method: e.Method, Host: e.Host, Path: e.Path,
			Status: e.Status, Code: e.Code, Error: e.Error, Attempts: e.Attempts,
			BytesIn: e.BytesIn, BytesOut: e.BytesOut,
			DurationMS: float64(e.Duration.Microseconds()) / 1000, UpstreamMS: float64(e.UpstreamDuration.Microseconds()) / 1000}
		if out[i].Attempts == nil {
			out[i].Attempts = []store.Attempt{}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

// usageRowJSON is one row of summed AI usage.
type usageRowJSON struct {
	Consumer        string  `json:"consumer,omitempty"`
	Model           string  `json:"model,omitempty"`
	Provider        string  `json:"provider,omitempty"`
	Day             string  `json:"day,omitempty"`
	Requests        int64   `json:"requests"`
	InputTokens     int64   `json:"input_tokens"`
	OutputTokens    int64   `json:"output_tokens"`
	CachedTokens    int64   `json:"cached_tokens"`
	ReasoningTokens int64   `json:"reasoning_tokens"`
	CostUSD         float64 `json:"cost_usd"`
}

// queryUsage answers GET /api/v1/usage: AI tokens and cost filtered by
// consumer, model, provider, since and until, summed by group_by (a
// comma-separated list of consumer, model, provider and day; none gives one
// total).
func (a *API) queryUsage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.UsageFilter{Consumer: q.Get("consumer"), Model: q.Get("model"), Provider: q.Get("provider")}
	var ps []problem
	f.Since = a.timeParam(q, "since", &ps)
	f.Until = a.timeParam(q, "until", &ps)
	if g := q.Get("group_by"); g != "" {
		for part := range strings.SplitSeq(g, ",") {
			switch dim := store.UsageGroup(strings.TrimSpace(part)); dim {
			case store.ByConsumer, store.ByModel, store.ByProvider, store.ByDay:
				f.GroupBy = append(f.GroupBy, dim)
			default:
				ps = append(ps, newProblem("group_by", "%q is not a dimension; use consumer, model, provider or day, comma-separated", part))
			}
		}
	}
	if len(ps) > 0 {
		a.fail(w, r, invalid(ps, "Invalid query parameters."))
		return
	}
	rows, err := a.store.QueryUsage(r.Context(), f)
	if err != nil {
		a.fail(w, r, a.storeError(r.Context(), err, "the usage"))
		return
	}
	out := make([]usageRowJSON, len(rows))
	for i, u := range rows {
		out[i] = usageRowJSON{Consumer: u.Consumer, Model: u.Model, Provider: u.Provider, Day: u.Day, Requests: u.Requests,
			InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CachedTokens: u.CachedTokens, ReasoningTokens: u.ReasoningTokens, CostUSD: u.CostUSD}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

// intParam reads an optional integer query parameter in [lo, hi]; 0 when
// absent.
func (a *API) intParam(q url.Values, name string, lo, hi int, ps *[]problem) int {
	v := q.Get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		*ps = append(*ps, newProblem(name, "must be a whole number from %d to %d", lo, hi))
		return 0
	}
	return n
}

// timeParam reads an optional time query parameter: RFC 3339, or a Go
// duration meaning that long before now. Zero when absent.
func (a *API) timeParam(q url.Values, name string, ps *[]problem) time.Time {
	v := q.Get(name)
	if v == "" {
		return time.Time{}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return a.now().Add(-d)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		*ps = append(*ps, newProblem(name, "must be an RFC 3339 time like 2025-01-02T15:04:05Z or a duration back from now like 15m"))
	}
	return t
}
