package diagnose

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/config"
)

// timeoutStep weighs the upstream's timeouts against the latency seen in
// the request log and by the direct probes (step 5).
func (d *run) timeoutStep(rc *config.Route, up *config.Upstream, s *logStats) {
	t := up.Timeouts
	read := t.Read.D()
	var samples []float64
	fromLog := 0
	if s != nil {
		samples = append(samples, s.headMS...)
		fromLog = len(samples)
	}
	var slowest *TargetReport
	for i := range d.rep.Targets {
		tr := &d.rep.Targets[i]
		if h := tr.HTTP; h != nil && h.Status > 0 {
			samples = append(samples, h.DurationMS)
			if slowest == nil || h.DurationMS > slowest.HTTP.DurationMS {
				slowest = tr
			}
		}
	}
	lat := latency(samples)
	if d.rep.Log != nil {
		d.rep.Log.Latency = lat
	}
	timedOut := s.failedAttempts("upstream_timeout", "")
	observed := "no latency observed"
	if lat != nil {
		observed = fmt.Sprintf("observed time to response head p50 %s, p99 %s, max %s (%d %s: %d from the log, %d direct)",
			ms(lat.P50MS), ms(lat.P99MS), ms(lat.MaxMS), lat.Samples, plural(lat.Samples, "sample", "samples"), fromLog, lat.Samples-fromLog)
	}
	if timedOut > 0 {
		observed += fmt.Sprintf("; %d %s hit the read timeout", timedOut, plural(timedOut, "attempt", "attempts"))
	}
	d.progress("[5/6] timeouts: connect %s, read %s, total %s; %s", t.Connect.D(), read, t.Total.D(), observed)

	base := Finding{Route: rc.Name, Upstream: up.Name}
	readMS := float64(read) / float64(time.Millisecond)
	switch {
	case timedOut > 0 || lat != nil && lat.MaxMS > readMS:
		f := base
		f.Code, f.Severity = "read_timeout_below_latency", Problem
		f.Summary = fmt.Sprintf("timeouts.read of upstream %s (%s) is below the latency observed", up.Name, read)
		need := readMS
		if lat != nil {
			need = max(lat.P99MS, need)
			f.Summary += fmt.Sprintf(" (p99 %s, max %s)", ms(lat.P99MS), ms(lat.MaxMS))
			f.Evidence = append(f.Evidence, observed)
		}
		if timedOut > 0 {
			f.Evidence = append(f.Evidence, fmt.Sprintf("request log (last %s): %d %s got no response head within %s (upstream_timeout)",
				fmtDuration(d.o.Since), timedOut, plural(timedOut, "attempt", "attempts"), read))
		}
		if slowest != nil && slowest.HTTP.DurationMS > readMS {
			f.Evidence = append(f.Evidence, fmt.Sprintf("direct from here: %s %s on %s answered after %s",
				slowest.HTTP.Method, slowest.HTTP.Path, slowest.Address, ms(slowest.HTTP.DurationMS)))
		}
		f.Fix = fmt.Sprintf("raise timeouts.read of upstream %s to about %s (twice the latency seen), and timeouts.total with it, or find out why the target is that slow",
			up.Name, suggestTimeout(2*need))
		d.found.add(f)
	case lat != nil && lat.P99MS >= 0.8*readMS:
		f := base
		f.Code, f.Severity = "read_timeout_tight", Warning
		f.Summary = fmt.Sprintf("timeouts.read of upstream %s (%s) leaves little room above the observed p99 latency (%s)", up.Name, read, ms(lat.P99MS))
		f.Fix = fmt.Sprintf("raise timeouts.read to about %s, or a little more load will turn slow answers into 504 upstream_timeout", suggestTimeout(2*lat.P99MS))
		f.Evidence = []string{observed}
		d.found.add(f)
	}
	connectMS := float64(t.Connect.D()) / float64(time.Millisecond)
	for _, tr := range d.rep.Targets {
		if c := tr.Connect; c != nil && c.OK && c.DurationMS >= connectMS/2 {
			f := base
			f.Code, f.Severity, f.Target = "connect_timeout_tight", Warning, tr.URL
			f.Summary = fmt.Sprintf("connecting to target %s took %s, over half of timeouts.connect (%s)", tr.Address, ms(c.DurationMS), t.Connect.D())
			f.Fix = fmt.Sprintf("raise timeouts.connect of upstream %s to about %s, or find out why connecting is slow", up.Name, suggestTimeout(3*c.DurationMS))
			f.Evidence = []string{fmt.Sprintf("direct from here: TCP connect to %s in %s", tr.Address, ms(c.DurationMS))}
			d.found.add(f)
		}
	}
	if t.Total.D() < read {
		f := base
		f.Code, f.Severity = "total_timeout_below_read", Warning
		f.Summary = fmt.Sprintf("timeouts.total of upstream %s (%s) is shorter than timeouts.read (%s), so it cuts slow answers first", up.Name, t.Total.D(), read)
		f.Fix = "make timeouts.total at least timeouts.read (and room for retries), or lower timeouts.read to what is meant"
		f.Evidence = []string{fmt.Sprintf("timeouts: read %s, total %s", read, t.Total.D())}
		d.found.add(f)
	}
}

// suggestTimeout rounds a duration in milliseconds up to a friendly value.
func suggestTimeout(msv float64) time.Duration {
	d := time.Duration(msv * float64(time.Millisecond))
	for _, step := range []time.Duration{100 * time.Millisecond, time.Second, 10 * time.Second, time.Minute} {
		if d <= 10*step {
			return time.Duration(math.Ceil(float64(d)/float64(step))) * step
		}
	}
	return d.Round(time.Minute)
}

// idempotentMethods are retried after a reset, a timeout or a
// retry_on_status answer (CONTRACT §4).
var idempotentMethods = []string{"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}

// retryStep weighs the retry settings against the method and the targets
// (step 6).
func (d *run) retryStep(rc *config.Route, up *config.Upstream, s *logStats) {
	method := d.o.Method
	idempotent := slices.Contains(idempotentMethods, method) || d.o.Header.Get("Idempotency-Key") != ""
	live := 0
	for _, t := range up.Targets {
		if t.Weight > 0 {
			live++
		}
	}
	statuses := make([]string, len(up.RetryOnStatus))
	for i, st := range up.RetryOnStatus {
		statuses[i] = fmt.Sprint(st)
	}
	how := "idempotent: retried after any failure before the response"
	if !idempotent {
		how = "not idempotent: retried only when connecting fails"
	}
	d.progress("[6/6] retries: %d extra %s, retry_on_status [%s]; %s is %s", up.Retries, plural(up.Retries, "attempt", "attempts"),
		strings.Join(statuses, " "), method, how)

	base := Finding{Route: rc.Name, Upstream: up.Name}
	var retried []string
	if s != nil && s.summary.Retried > 0 {
		retried = []string{fmt.Sprintf("request log (last %s): %d %s retried, %d of them still failed",
			fmtDuration(d.o.Since), s.summary.Retried, plural(s.summary.Retried, "request was", "requests were"), s.retriedFailed)}
	}
	if up.Retries > 0 && !idempotent {
		f := base
		f.Code, f.Severity = "retries_not_for_method", Info
		f.Summary = fmt.Sprintf("%s requests are retried only when connecting fails: after a reset, a timeout or a retry_on_status answer the gateway cannot know the target did nothing", method)
		f.Fix = "send an Idempotency-Key header on requests that are safe to repeat; they are then retried like GET"
		f.Evidence = append([]string{fmt.Sprintf("upstream %s: retries %d; %s is not idempotent", up.Name, up.Retries, method)}, retried...)
		if n := s.failedAttempts("upstream_reset", "") + s.failedAttempts("upstream_timeout", "") + s.failedAttempts("upstream_error_status", ""); n > 0 {
			f.Severity = Warning
			f.Evidence = append(f.Evidence, fmt.Sprintf("request log: %d %s failed in ways (reset, timeout, a 5xx answer) a %s is not retried after", n, plural(n, "attempt", "attempts"), method))
		}
		d.found.add(f)
	}
	switch {
	case up.Retries > 0 && live == 1:
		f := base
		f.Code, f.Severity = "retries_single_target", Warning
		f.Summary = fmt.Sprintf("upstream %s retries up to %d times but has one target, so every retry goes back to it", up.Name, up.Retries)
		f.Fix = fmt.Sprintf("add a second target to upstream %s so a retry can go elsewhere, or lower retries to fail fast", up.Name)
		f.Evidence = append([]string{fmt.Sprintf("upstream %s: retries %d, %d target taking traffic", up.Name, up.Retries, live)}, retried...)
		d.found.add(f)
	case up.Retries == 0 && live > 1:
		f := base
		f.Code, f.Severity = "retries_off", Info
		f.Summary = fmt.Sprintf("upstream %s has %d targets but retries: 0, so a failure on one target is not tried on another", up.Name, live)
		f.Fix = fmt.Sprintf("set retries: 1 or more on upstream %s to fail over (connect failures are retried for any method)", up.Name)
		f.Evidence = []string{fmt.Sprintf("upstream %s: retries 0, %d targets", up.Name, live)}
		d.found.add(f)
	}
}
