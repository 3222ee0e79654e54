package admin

import (
	"net/http"
	"time"

	"github.com/sluicegw/sluice/internal/gwerr"
)

// Bounds of GET /api/v1/stats.
const (
	// maxStatsWindow is the longest window the node keeps.
	maxStatsWindow = time.Hour
	// maxStatsBuckets bounds the buckets of one answer.
	maxStatsBuckets = 720
	// defaultStatsWindow and defaultStatsBuckets apply when since and step
	// are absent.
	defaultStatsWindow  = 15 * time.Minute
	defaultStatsBuckets = 90
)

// Playground serves the console's AI playground: an OpenAI Chat
// Completions request body in, the answer (an SSE stream when the body
// asks for stream: true) out, as the AI gateway would serve it, with the
// provider, model and usage it reports.
type Playground interface {
	ServeChat(w http.ResponseWriter, r *http.Request)
}

// getStats answers GET /api/v1/stats?since=15m&step=10s: this node's
// traffic over the last since (a duration, at most 1h; default 15m) in
// buckets of step (whole seconds, default since/90): requests, requests
// per second, status classes, error codes and p50/p99 latency per bucket,
// with totals and the top routes. Each node answers for itself.
func (a *API) getStats(w http.ResponseWriter, r *http.Request) {
	if a.stats == nil {
		a.fail(w, r, gwerr.Newf(gwerr.NotImplemented, nil, "This node keeps no traffic stats."))
		return
	}
	q := r.URL.Query()
	var ps []problem
	window := durationParam(q.Get("since"), defaultStatsWindow)
	if window < time.Second || window > maxStatsWindow {
		ps = append(ps, newProblem("since", "must be a duration from 1s to 1h, like 15m"))
		window = defaultStatsWindow
	}
	step := durationParam(q.Get("step"), max(window/defaultStatsBuckets, time.Second).Truncate(time.Second))
	switch {
	case step < time.Second || step%time.Second != 0:
		ps = append(ps, newProblem("step", "must be a whole number of seconds, like 10s"))
	case step > window:
		ps = append(ps, newProblem("step", "must not be longer than since"))
	case int64((window+step-1)/step) > maxStatsBuckets:
		ps = append(ps, newProblem("step", "gives more than %d buckets over %s; use a longer step", maxStatsBuckets, window))
	}
	if len(ps) > 0 {
		a.fail(w, r, invalid(ps, "Invalid query parameters."))
		return
	}
	writeJSON(w, http.StatusOK, a.stats(window, step))
}

// durationParam parses a Go duration; def when v is empty, -1 when it is
// not a duration.
func durationParam(v string, def time.Duration) time.Duration {
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return -1
	}
	return d
}

// playgroundChat answers POST /api/v1/playground/chat through
// Options.Playground; 501 without one.
func (a *API) playgroundChat(w http.ResponseWriter, r *http.Request) {
	if a.playground == nil {
		a.fail(w, r, gwerr.Newf(gwerr.NotImplemented, nil, "The AI playground is not available on this node: the AI gateway is not enabled."))
		return
	}
	a.playground.ServeChat(w, r)
}
