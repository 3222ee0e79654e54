package diagnose

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/sluicegw/sluice/internal/config"
)

// healthStep reads the targets' health as the gateway sees it (step 3).
func (d *run) healthStep(ctx context.Context, up *config.Upstream) {
	hs, err := d.api.health(ctx, up.Name)
	if err != nil {
		if errors.Is(err, ErrCannotRun) {
			err = errors.Unwrap(err)
		}
		d.progress("[3/6] health: not readable: %v", err)
		d.found.add(Finding{Code: "health_unavailable", Severity: Warning, Upstream: up.Name,
			Summary:  fmt.Sprintf("the gateway did not say how healthy upstream %s's targets are", up.Name),
			Fix:      "check that this node serves the config diagnosed (GET /api/v1/status), then run diagnose again",
			Evidence: []string{"GET /api/v1/upstreams/" + url.PathEscape(up.Name) + "/health: " + err.Error()}})
		return
	}
	var parts []string
	for i := range d.rep.Targets {
		tr := &d.rep.Targets[i]
		for _, h := range hs {
			if targetKey(h.URL) == targetKey(tr.URL) {
				tr.Health = &TargetHealth{State: h.State, LastCheck: h.LastCheck, LastError: h.LastError,
					ConsecutiveFailures: h.ConsecutiveFailures, ProbeFailures: h.ProbeFailures}
			}
		}
		state := "unknown"
		if tr.Health != nil {
			state = tr.Health.State
			if tr.Health.LastError != "" {
				state += " (" + tr.Health.LastError + ")"
			}
		}
		parts = append(parts, tr.URL+" "+state)
	}
	d.progress("[3/6] health: %s", strings.Join(parts, "; "))
}

// codeText says, for a failure code held against a target, what is wrong
// (with %s the target's address) and what to do.
var codeText = map[string]struct{ what, fix string }{
	"upstream_connect_failed": {"target %s refuses connections",
		"start the service behind %s, or correct the target URL in upstream %s; check that it listens on that address and port"},
	"upstream_dns_failed": {"target %s does not resolve",
		"correct the host name of %s in upstream %s, or add its DNS record"},
	"upstream_connect_timeout": {"target %s does not accept connections within the connect timeout",
		"check the network path to %s (a firewall dropping packets, a wrong address); raise timeouts.connect of upstream %s only if the network is merely slow"},
	"upstream_tls_failed": {"the TLS handshake with target %s fails",
		"match upstream %[2]s's tls settings (ca_file, server_name) to the certificate of %[1]s, or use http:// if it does not speak TLS"},
	"upstream_timeout": {"target %s does not answer within the read timeout",
		"find out why %s is slow, or raise timeouts.read of upstream %s above its latency"},
	"upstream_reset": {"target %s closes or resets connections before answering",
		"look for crashes or restarts in the logs of %s; a keep-alive timeout on the target shorter than upstream %s's keep_alive.idle_timeout also causes resets"},
	"upstream_bad_response": {"target %s does not answer with HTTP/1.x",
		"point upstream %[2]s at an HTTP/1.x server: %[1]s may be a TLS port (use https://) or another protocol"},
	"upstream_reset_after_head": {"target %s cuts responses off mid-body",
		"look for crashes in the logs of %s while it streams (upstream %s)"},
	"upstream_timeout_after_head": {"target %s stalls mid-body for longer than the read timeout",
		"find out why %s stalls while sending, or raise timeouts.read of upstream %s"},
	"upstream_error_status": {"target %s answers with server errors itself",
		"look in the logs of %s: the gateway passes its 5xx answers on (upstream %s)"},
	"target_unhealthy": {"target %s fails its active health check",
		"make %s answer the health check path with a healthy status, or correct health_check.active of upstream %s"},
	"target_ejected": {"target %s was ejected after failing real requests",
		"fix %s (see the other findings); upstream %s tries it again after health_check.passive.cooldown"},
}

// targetCodes are the codes of codeText in the order findings are made.
var targetCodes = []string{
	"upstream_dns_failed", "upstream_connect_failed", "upstream_connect_timeout", "upstream_tls_failed",
	"upstream_bad_response", "upstream_reset", "upstream_timeout", "upstream_reset_after_head",
	"upstream_timeout_after_head", "upstream_error_status", "target_unhealthy", "target_ejected",
}

// targetFindings turns the probes, the health and the request log into
// findings, one per target and failure code, then upstream-wide ones.
func (d *run) targetFindings(rc *config.Route, up *config.Upstream, s *logStats) {
	for i := range d.rep.Targets {
		d.findingsForTarget(rc, up, &d.rep.Targets[i], s)
	}
	d.allTargetsOut(rc, up, s)
	d.logOnlyFindings(rc, s)
}

// findingsForTarget records one finding per failure code seen on tr.
func (d *run) findingsForTarget(rc *config.Route, up *config.Upstream, tr *TargetReport, s *logStats) {
	key := targetKey(tr.URL)
	probe := tr.failed()
	var codes []string
	for _, c := range targetCodes {
		seen := probe != nil && probe.Code == c || s != nil && s.attempts[key][c] > 0
		switch c {
		case "target_unhealthy":
			seen = seen || tr.Health != nil && tr.Health.State == "unhealthy"
		case "target_ejected":
			seen = tr.Health != nil && tr.Health.State == "ejected"
		}
		if seen {
			codes = append(codes, c)
		}
	}
	addr := tr.Address
	if u, err := url.Parse(tr.URL); err == nil && addr == "" {
		addr = u.Host
	}
	for _, c := range codes {
		txt := codeText[c]
		f := Finding{Code: c, Severity: Problem, Route: rc.Name, Upstream: up.Name, Target: tr.URL,
			Summary: fmt.Sprintf(txt.what, addr), Fix: fmt.Sprintf(txt.fix, addr, up.Name)}
		if c == "upstream_connect_failed" && probe != nil && probe.Code == c && probe.Detail != "connection refused" {
			f.Summary = fmt.Sprintf("target %s is unreachable", addr)
		}
		if c == "upstream_connect_timeout" || c == "upstream_timeout" {
			t := up.Timeouts.Connect
			if c == "upstream_timeout" {
				t = up.Timeouts.Read
			}
			f.Summary += fmt.Sprintf(" (%s)", t.D())
		}
		if probe != nil && probe.Code == c {
			f.Evidence = append(f.Evidence, "direct from here: "+describeStep(tr, probe))
		}
		if s != nil {
			reqs, atts := s.requests[key][c], s.attempts[key][c]
			switch {
			case reqs > 0:
				f.Summary += fmt.Sprintf(": %d of the last %d errors are %s", reqs, s.summary.Errors, logCode(c))
			case atts > 0:
				f.Summary += fmt.Sprintf(": %d %s failed with %s, but retries on other targets answered the clients",
					atts, plural(atts, "attempt", "attempts"), logCode(c))
			}
			if atts > 0 {
				ev := fmt.Sprintf("request log (last %s): %d %s on this target failed with %s",
					fmtDuration(d.o.Since), atts, plural(atts, "attempt", "attempts"), logCode(c))
				if reqs > 0 {
					ev += fmt.Sprintf("; %d %s failed with it in the end", reqs, plural(reqs, "request", "requests"))
				}
				f.Evidence = append(f.Evidence, ev)
				if ex := s.example[key][c]; ex != "" {
					f.Evidence = append(f.Evidence, "e.g. "+ex)
				}
			}
		}
		if h := tr.Health; h != nil && h.State != "healthy" {
			f.Evidence = append(f.Evidence, describeHealth(up, h))
		}
		d.found.add(f)
	}
}

// logCode is how a failure code reads in the request log: the upstream's
// own 5xx answers carry no gateway code.
func logCode(c string) string {
	if c == "upstream_error_status" {
		return "upstream 5xx answers"
	}
	return c
}

// describeStep describes a failed probe step.
func describeStep(tr *TargetReport, st *ProbeStep) string {
	switch st {
	case tr.DNS:
		return "DNS: " + st.Detail
	case tr.Connect:
		return fmt.Sprintf("TCP connect to %s: %s (%s)", tr.Address, st.Detail, ms(st.DurationMS))
	case tr.TLS:
		return fmt.Sprintf("TLS with %s: %s (%s)", tr.Address, st.Detail, ms(st.DurationMS))
	}
	return fmt.Sprintf("%s %s on %s: %s (%s)", st.Method, st.Path, tr.Address, st.Detail, ms(st.DurationMS))
}

// describeHealth describes a target's health state as evidence.
func describeHealth(up *config.Upstream, h *TargetHealth) string {
	s := "gateway health: " + h.State
	switch h.State {
	case "unhealthy":
		if a := up.HealthCheck.Active; a != nil {
			s += fmt.Sprintf(" (active check GET %s: %d failed %s in a row)", a.Path, h.ProbeFailures, plural(h.ProbeFailures, "probe", "probes"))
		}
	case "ejected", "probation":
		s += fmt.Sprintf(" (passive check: %d failed %s in a row)", h.ConsecutiveFailures, plural(h.ConsecutiveFailures, "request", "requests"))
	}
	if h.LastError != "" {
		s += ", last error: " + h.LastError
	}
	return s
}

// allTargetsOut records no_healthy_upstream when every target that takes
// traffic is out, or when the log shows it happened.
func (d *run) allTargetsOut(rc *config.Route, up *config.Upstream, s *logStats) {
	var out, evidence []string
	live, known := 0, 0
	for _, tr := range d.rep.Targets {
		if tr.Weight == 0 {
			continue
		}
		live++
		if tr.Health == nil {
			continue
		}
		known++
		if tr.Health.State == "unhealthy" || tr.Health.State == "ejected" {
			out = append(out, tr.Address)
			evidence = append(evidence, tr.URL+": "+describeHealth(up, tr.Health))
		}
	}
	logged := 0
	if s != nil {
		logged = s.summary.ByCode["no_healthy_upstream"]
	}
	f := Finding{Code: "no_healthy_upstream", Severity: Problem, Route: rc.Name, Upstream: up.Name,
		Fix: fmt.Sprintf("fix the targets (see the findings for each); a target comes back after health_check.active.healthy passing probes or after the passive cooldown (upstream %s)", up.Name)}
	switch {
	case live == 0:
		f.Summary = fmt.Sprintf("upstream %s has no target with a weight above 0, so no request can be served", up.Name)
		f.Fix = fmt.Sprintf("give a target of upstream %s a weight above 0", up.Name)
	case known == live && len(out) == live:
		f.Summary = fmt.Sprintf("every target of upstream %s is out (%s): requests get 503 no_healthy_upstream", up.Name, strings.Join(out, ", "))
		f.Evidence = evidence
	case logged > 0:
		f.Severity = Warning
		f.Summary = fmt.Sprintf("%d recent requests got 503 no_healthy_upstream, although not every target of upstream %s is out now", logged, up.Name)
		f.Fix = fmt.Sprintf("targets of upstream %s go in and out of health: look at the other findings and at flapping health checks", up.Name)
	default:
		return
	}
	if logged > 0 && s != nil {
		f.Evidence = append(f.Evidence, fmt.Sprintf("request log (last %s): %d of the last %d errors are no_healthy_upstream", fmtDuration(d.o.Since), logged, s.summary.Errors))
		if f.Severity == Problem {
			f.Summary += fmt.Sprintf(": %d of the last %d errors are no_healthy_upstream", logged, s.summary.Errors)
		}
	}
	d.found.add(f)
}

// generalCodes are request-level codes with their fix, for the log's
// errors no target finding explains.
var generalCodes = map[string]string{
	"upstream_overloaded":  "every healthy target is at max_connections: add targets or capacity, or raise max_connections",
	"no_healthy_upstream":  "every target was out at the time: see the targets' health and failures",
	"internal_error":       "the gateway failed internally: look at its application log for these request ids",
	"all_providers_failed": "every AI provider target and fallback failed: the request log's attempts name each provider's error",
}

// logOnlyFindings records a finding for each error code in the log that no
// finding explains yet: server-side codes are problems, client-side ones
// information.
func (d *run) logOnlyFindings(rc *config.Route, s *logStats) {
	if s == nil {
		return
	}
	for _, c := range sortedCounts(s.summary.ByCode) {
		n := s.summary.ByCode[c]
		if slices.ContainsFunc(d.found.list, func(f *Finding) bool { return f.Code == c }) || c == "client_closed" {
			continue
		}
		status := 0
		for _, e := range s.entries {
			if e.Code == c {
				status = e.Status
				break
			}
		}
		f := Finding{Code: c, Route: rc.Name, Severity: Problem,
			Summary:  fmt.Sprintf("%d of the last %d errors on route %s are %s", n, s.summary.Errors, rc.Name, c),
			Evidence: []string{fmt.Sprintf("request log (last %s): %d %s with %s (status %d)", fmtDuration(d.o.Since), n, plural(n, "request", "requests"), c, status)}}
		f.Fix = generalCodes[c]
		if f.Fix == "" {
			f.Fix = "see docs/errors.md for " + c + ", and GET /api/v1/logs?code=" + c + " for each request's cause"
		}
		if status < 500 {
			f.Severity = Info
			f.Summary = fmt.Sprintf("%d recent %s on route %s were refused by the gateway with %s (status %d): a matter of the client or the route's plugins",
				n, plural(n, "request", "requests"), rc.Name, c, status)
		}
		for _, e := range s.entries {
			if e.Code == c {
				f.Evidence = append(f.Evidence, fmt.Sprintf("e.g. request %s: %s %s", e.RequestID, e.Method, e.Path))
				break
			}
		}
		d.found.add(f)
	}
}
