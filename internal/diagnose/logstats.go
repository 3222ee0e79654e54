package diagnose

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/config"
)

// LogSummary sums up the route's recent request log.
type LogSummary struct {
	// Since is the window read, as a Go duration.
	Since string `json:"since"`
	// Requests is the number of entries read; Truncated is set when the
	// limit cut the window short.
	Requests  int  `json:"requests"`
	Truncated bool `json:"truncated,omitempty"`
	// Errors counts the requests that failed: a gateway error code, or an
	// upstream status of 500 or more.
	Errors int `json:"errors"`
	// ByCode counts requests by gateway error code; ByStatus counts the
	// upstream's own answers of 500 or more (no gateway code).
	ByCode   map[string]int `json:"by_code"`
	ByStatus map[int]int    `json:"by_status"`
	// Retried counts requests that took more than one attempt.
	Retried int `json:"retried"`
	// Latency is the upstream's time to response head over the attempts
	// that got one, and the direct probes.
	Latency *Latency `json:"latency,omitempty"`
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	Samples int     `json:"samples"`
	P50MS   float64 `json:"p50_ms"`
	P99MS   float64 `json:"p99_ms"`
	MaxMS   float64 `json:"max_ms"`
}

// logStats is what the request log says, per target.
type logStats struct {
	summary *LogSummary
	// attempts counts failed attempts by target key and code;
	// requests counts failed requests by target key and their final code,
	// for the targets whose attempt failed with that code.
	attempts, requests map[string]map[string]int
	// example is one attempt error text per target key and code.
	example map[string]map[string]string
	// headMS are the durations of attempts that got a response head.
	headMS []float64
	// retriedFailed counts retried requests that still failed.
	retriedFailed int
	// entries are the entries read.
	entries []logEntry
}

// failedAttempts returns the failed attempts of code on target (all
// targets when target is "").
func (s *logStats) failedAttempts(code, target string) int {
	if s == nil {
		return 0
	}
	n := 0
	for t, byCode := range s.attempts {
		if target == "" || t == targetKey(target) {
			n += byCode[code]
		}
	}
	return n
}

// logStep reads and sums up the route's recent request log (step 4). It
// returns nil when the log could not be read.
func (d *run) logStep(ctx context.Context, rc *config.Route, cfg *config.Config) *logStats {
	if !cfg.Log.RequestLog.Enabled {
		d.progress("[4/6] request log: off on this gateway (log.request_log.enabled: false)")
		d.found.add(Finding{Code: "request_log_off", Severity: Info, Route: rc.Name,
			Summary:  "the gateway keeps no request log, so diagnose cannot see how this route's requests fared",
			Fix:      "turn on log.request_log.enabled to let diagnose (and GET /api/v1/logs) see recent failures",
			Evidence: []string{"log.request_log.enabled: false"}})
		return nil
	}
	entries, err := d.api.logs(ctx, rc.Name, d.o.Since, d.o.LogLimit)
	if err != nil {
		if errors.Is(err, ErrCannotRun) {
			err = errors.Unwrap(err)
		}
		d.progress("[4/6] request log: not readable: %v", err)
		d.found.add(Finding{Code: "request_log_unavailable", Severity: Warning, Route: rc.Name,
			Summary:  "the request log could not be read, so recent failures are not part of this diagnosis",
			Fix:      "check the gateway's store (GET /api/v1/status) and run diagnose again",
			Evidence: []string{"GET /api/v1/logs: " + err.Error()}})
		return nil
	}
	s := summarize(entries)
	s.summary.Since = fmtDuration(d.o.Since)
	s.summary.Truncated = len(entries) >= d.o.LogLimit
	d.rep.Log = s.summary
	if len(entries) == 0 {
		d.progress("[4/6] request log: no requests on route %s in the last %s", rc.Name, fmtDuration(d.o.Since))
		d.found.add(Finding{Code: "no_recent_requests", Severity: Info, Route: rc.Name,
			Summary:  fmt.Sprintf("route %s has no requests in the request log of the last %s", rc.Name, fmtDuration(d.o.Since)),
			Fix:      "send the failing request again, then run diagnose, so the log shows how it fared (or widen --since)",
			Evidence: []string{"GET /api/v1/logs?route=" + url.QueryEscape(rc.Name) + "&since=" + d.o.Since.String() + ": no entries"}})
		return s
	}
	var parts []string
	for _, c := range sortedCounts(s.summary.ByCode) {
		parts = append(parts, fmt.Sprintf("%s %d", c, s.summary.ByCode[c]))
	}
	for _, st := range sortedStatuses(s.summary.ByStatus) {
		parts = append(parts, fmt.Sprintf("upstream status %d: %d", st, s.summary.ByStatus[st]))
	}
	detail := "no errors"
	if len(parts) > 0 {
		detail = strings.Join(parts, ", ")
	}
	d.progress("[4/6] request log: %d %s on route %s in the last %s, %d failed (%s)", len(entries),
		plural(len(entries), "request", "requests"), rc.Name, fmtDuration(d.o.Since), s.summary.Errors, detail)
	return s
}

// summarize counts the entries.
func summarize(entries []logEntry) *logStats {
	s := &logStats{
		summary:  &LogSummary{Requests: len(entries), ByCode: map[string]int{}, ByStatus: map[int]int{}},
		attempts: map[string]map[string]int{}, requests: map[string]map[string]int{},
		example: map[string]map[string]string{}, entries: entries,
	}
	for _, e := range entries {
		failed := isFailure(e)
		if failed {
			s.summary.Errors++
		}
		if e.Code != "" {
			s.summary.ByCode[e.Code]++
		} else if e.Status >= 500 {
			s.summary.ByStatus[e.Status]++
		}
		if len(e.Attempts) > 1 {
			s.summary.Retried++
			if failed {
				s.retriedFailed++
			}
		}
		counted := map[string]bool{}
		for _, a := range e.Attempts {
			code := a.Code
			if code == "" && a.Status >= 500 {
				code = "upstream_error_status"
			}
			if a.Status > 0 {
				s.headMS = append(s.headMS, a.DurationMS)
			}
			if code == "" || code == "client_closed" {
				continue
			}
			key := targetKey(a.Target)
			inc(s.attempts, key, code)
			if s.example[key] == nil {
				s.example[key] = map[string]string{}
			}
			if s.example[key][code] == "" {
				ex := a.Error
				if ex == "" && a.Status > 0 {
					ex = fmt.Sprintf("status %d", a.Status)
				}
				s.example[key][code] = fmt.Sprintf("request %s: %s", e.RequestID, ex)
			}
			final := e.Code
			if final == "" && e.Status >= 500 {
				final = "upstream_error_status"
			}
			if failed && final == code && !counted[key] {
				counted[key] = true
				inc(s.requests, key, code)
			}
		}
	}
	return s
}

// isFailure reports whether a logged request failed on the gateway's or
// the upstream's side (client errors and client_closed do not count).
func isFailure(e logEntry) bool {
	if e.Code == "client_closed" {
		return false
	}
	return e.Status >= 500
}

func inc(m map[string]map[string]int, k1, k2 string) {
	if m[k1] == nil {
		m[k1] = map[string]int{}
	}
	m[k1][k2]++
}

// targetKey reduces a target URL to scheme://host:port, lower case, so the
// config, the health answer and the request log name it alike.
func targetKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return strings.ToLower(raw)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return strings.ToLower(u.Scheme + "://" + u.Hostname() + ":" + port)
}

// latency computes the distribution of samples (milliseconds).
func latency(samples []float64) *Latency {
	if len(samples) == 0 {
		return nil
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return &Latency{Samples: len(s), P50MS: percentile(s, 0.50), P99MS: percentile(s, 0.99), MaxMS: s[len(s)-1]}
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// sortedCounts returns the keys of m, the most frequent first.
func sortedCounts(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

func sortedStatuses(m map[int]int) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// fmtDuration formats a duration without zero tails: 15m, not 15m0s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
