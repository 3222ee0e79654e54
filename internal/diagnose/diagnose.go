// Package diagnose is the 502 doctor behind `sluice diagnose` (CONTRACT §7).
//
// Given a URL the gateway serves, or a route name, it walks the path a
// person would when a request fails: which route matches and why (or which
// routes nearly do), the route's upstream and each target's DNS, TCP, TLS
// and HTTP answer reached directly from here, the targets' health as the
// gateway sees it, the route's recent request log grouped by error code,
// the upstream's timeouts against the latency actually observed, and the
// retry settings against the request's method. It ends with findings, each
// with a severity, a fix in plain words and the evidence behind it.
//
// It talks to a running gateway only through its admin API: the merged
// config (GET /api/v1/config), compiled with the gateway's own router, the
// health of the upstream (GET /api/v1/upstreams/{name}/health) and the
// request log (GET /api/v1/logs). It never changes anything.
package diagnose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/config"
)

// Severity says how much a finding matters.
type Severity string

// The severities, from the most severe.
const (
	// Problem is something that fails requests now, or will fail the
	// request diagnosed. Any problem makes `sluice diagnose` exit 1.
	Problem Severity = "problem"
	// Warning is a risk: a setting that is likely wrong or fragile but is
	// not failing requests now.
	Warning Severity = "warning"
	// Info is a fact worth knowing, such as how retries treat the method.
	Info Severity = "info"
)

// rank orders severities: problems first.
func (s Severity) rank() int {
	switch s {
	case Problem:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// Finding is one conclusion of a diagnosis. Its JSON field names are
// stable (docs/diagnose.md).
type Finding struct {
	// Code identifies the kind of finding: a CONTRACT §3 error code when
	// the finding explains that error (upstream_connect_failed,
	// no_healthy_upstream, no_route…), else a diagnose code such as
	// read_timeout_below_latency or retries_single_target.
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	// Route, Upstream and Target (a target URL as configured) say what the
	// finding is about; each is empty when it does not apply.
	Route    string `json:"route,omitempty"`
	Upstream string `json:"upstream,omitempty"`
	Target   string `json:"target,omitempty"`
	// Summary is one sentence saying what is wrong.
	Summary string `json:"summary"`
	// Fix says what to do about it.
	Fix string `json:"fix"`
	// Evidence lists the observations the finding rests on.
	Evidence []string `json:"evidence"`
}

// Options configure Run.
type Options struct {
	// AdminURL is the admin listener's base URL, e.g.
	// "http://127.0.0.1:8081". A missing scheme means http; a trailing
	// "/api/v1" is accepted.
	AdminURL string
	// Token is sent as "Authorization: Bearer TOKEN"; "" sends none.
	Token string
	// Target is what to diagnose: a URL ("http://host/path"), a path
	// ("/orders/1", matched with no host) or a route name.
	Target string
	// Method is the request's method; default GET.
	Method string
	// Header holds the request's headers for route matching; "Host"
	// overrides the URL's host.
	Header http.Header
	// Since is how far back the request log is read; default 15 minutes.
	Since time.Duration
	// LogLimit is the most request log entries read; default 1000.
	LogLimit int
	// ProbeTimeout bounds each direct HTTP request to a target (after the
	// connect, which the upstream's connect timeout bounds); default 10s.
	ProbeTimeout time.Duration
	// Progress receives one line per step as it runs; nil discards them.
	Progress io.Writer
	// Client is used for the admin API; nil uses a client with a 10s
	// timeout.
	Client *http.Client
}

// Report is the outcome of a diagnosis. Its JSON field names are stable
// (docs/diagnose.md).
type Report struct {
	// Input is the URL, path or route name diagnosed.
	Input  string `json:"input"`
	Method string `json:"method"`
	// Host and Path are the request's host and canonical path; empty when
	// a route was named.
	Host string `json:"host,omitempty"`
	Path string `json:"path,omitempty"`
	// Route is the route that serves the request; nil when none does.
	Route *RouteReport `json:"route"`
	// Targets are the upstream's targets and what was found reaching each.
	Targets []TargetReport `json:"targets"`
	// Log summarises the route's recent request log; nil when it was not
	// read.
	Log *LogSummary `json:"log"`
	// Findings are sorted: problems first, then warnings, then info.
	Findings []Finding `json:"findings"`
	// Problems and Warnings count the findings of those severities.
	Problems int `json:"problems"`
	Warnings int `json:"warnings"`
}

// ExitCode is what `sluice diagnose` exits with for the report: 1 when a
// problem was found, else 0.
func (r *Report) ExitCode() int {
	if r.Problems > 0 {
		return 1
	}
	return 0
}

// ErrCannotRun wraps every error that stops a diagnosis before it can
// conclude: the admin API unreachable or refusing the credentials, a bad
// argument, a config that cannot be read. `sluice diagnose` exits 2 on it.
var ErrCannotRun = errors.New("diagnose cannot run")

// cannotRun returns an error that wraps ErrCannotRun with a message.
func cannotRun(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCannotRun, fmt.Sprintf(format, args...))
}

// Run diagnoses o.Target against the gateway at o.AdminURL. It returns an
// error wrapping ErrCannotRun when it cannot conclude; otherwise the
// report, whose findings may well be problems.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	o.Method = strings.ToUpper(o.Method)
	if !isToken(o.Method) {
		return nil, cannotRun("--method %q is not an HTTP method", o.Method)
	}
	if o.Since <= 0 {
		o.Since = 15 * time.Minute
	}
	if o.LogLimit <= 0 {
		o.LogLimit = 1000
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 10 * time.Second
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if strings.TrimSpace(o.Target) == "" {
		return nil, cannotRun("give a URL the gateway serves, a path, or a route name")
	}
	api, err := newAdminClient(o.AdminURL, o.Token, o.Client)
	if err != nil {
		return nil, err
	}
	d := &run{o: o, api: api, rep: &Report{Input: o.Target, Method: o.Method, Targets: []TargetReport{}}, found: newFindings()}
	if err := d.diagnose(ctx); err != nil {
		return nil, err
	}
	d.rep.Findings = d.found.sorted()
	for _, f := range d.rep.Findings {
		switch f.Severity {
		case Problem:
			d.rep.Problems++
		case Warning:
			d.rep.Warnings++
		}
	}
	return d.rep, nil
}

// run is one diagnosis in progress.
type run struct {
	o     Options
	api   *adminClient
	rep   *Report
	found *findings
}

// progress writes one progress line.
func (d *run) progress(format string, args ...any) {
	fmt.Fprintf(d.o.Progress, format+"\n", args...)
}

// diagnose runs the six steps.
func (d *run) diagnose(ctx context.Context) error {
	d.progress("diagnose: reading the config from %s", d.api.base)
	cfg, err := d.api.config(ctx)
	if err != nil {
		return err
	}
	rt, err := d.matchStep(cfg)
	if err != nil {
		return err
	}
	if rt == nil {
		return nil // no route: the near misses are the findings
	}
	up := upstreamOf(cfg, rt.Upstream)
	if up != nil {
		d.probeStep(ctx, rt, up)
		d.healthStep(ctx, up)
	} else {
		d.progress("[2/6] targets: route %s is served by the AI gateway; no upstream targets to probe", rt.Name)
		d.progress("[3/6] health: not applicable to an AI route")
	}
	stats := d.logStep(ctx, rt, cfg)
	if up != nil {
		d.targetFindings(rt, up, stats)
		d.timeoutStep(rt, up, stats)
		d.retryStep(rt, up, stats)
	} else {
		d.logOnlyFindings(rt, stats)
		d.progress("[5/6] timeouts: not applicable to an AI route")
		d.progress("[6/6] retries: not applicable to an AI route")
	}
	return nil
}

// upstreamOf returns the upstream named name, or nil.
func upstreamOf(cfg *config.Config, name string) *config.Upstream {
	if name == "" {
		return nil
	}
	for i := range cfg.Upstreams {
		if cfg.Upstreams[i].Name == name {
			return &cfg.Upstreams[i]
		}
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110), as a method is.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
