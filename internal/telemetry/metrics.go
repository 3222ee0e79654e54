package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicegw/sluice/internal/exchange"
)

// Metrics are the node's Prometheus metrics, named sluice_*. Label
// cardinality is bounded by the config: route and upstream names (from the
// config, not the request), the status code, the gateway's error codes and
// the failure classes. Request ids, paths and consumer keys are never
// labels.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	upstreamLatency *prometheus.HistogramVec
	attempts        *prometheus.CounterVec
	retries         *prometheus.CounterVec
	ai              *aiMetrics
	rateLimit       *prometheus.CounterVec
}

// latencyBuckets span 1 ms to 30 s.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewMetrics registers the gateway's metrics and the Go runtime's.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_requests_total",
		Help: "Requests served, by route, status code and gateway error code (\"\" when the upstream answered).",
	}, []string{"route", "status", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sluice_request_duration_seconds",
		Help:    "Time from the request's arrival to the end of its response, by route.",
		Buckets: latencyBuckets,
	}, []string{"route"})
	m.upstreamLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sluice_upstream_latency_seconds",
		Help:    "Time from sending to an upstream to its response head, for attempts that got one, by upstream.",
		Buckets: latencyBuckets,
	}, []string{"upstream"})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_upstream_attempts_total",
		Help: "Attempts at upstream targets, by upstream and result (\"ok\" or the failure class).",
	}, []string{"upstream", "result"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_upstream_retries_total",
		Help: "Attempts beyond the first of a request, by upstream.",
	}, []string{"upstream"})
	m.ai = newAIMetrics()
	m.rateLimit = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_rate_limit_decisions_total",
		Help: "Rate-limit decisions, by route and decision (allowed, limited, error: the limiter's backend failed).",
	}, []string{"route", "decision"})
	m.reg.MustRegister(m.requests, m.duration, m.upstreamLatency, m.attempts, m.retries,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(m.ai.collectors()...)
	m.reg.MustRegister(m.rateLimit)
	return m
}

// Register adds collectors (health gauges, request log counters…).
func (m *Metrics) Register(cs ...prometheus.Collector) {
	m.reg.MustRegister(cs...)
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// statusLabels are the label values of the status codes, built once.
var statusLabels = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// Observe records a finished request.
func (m *Metrics) Observe(x *exchange.Exchange) {
	if m == nil {
		return
	}
	status := "0"
	if x.Status >= 0 && x.Status < len(statusLabels) {
		status = statusLabels[x.Status]
	}
	m.requests.WithLabelValues(x.Route, status, string(x.Code)).Inc()
	m.duration.WithLabelValues(x.Route).Observe(time.Since(x.Start).Seconds())
	if x.RateLimit != exchange.RateNone {
		m.rateLimit.WithLabelValues(x.Route, rateDecisions[x.RateLimit]).Inc()
	}
	if x.AI.Model != "" {
		m.ai.observe(x)
		return
	}
	if x.Upstream == "" {
		return
	}
	for i, a := range x.Attempts {
		result := string(a.Code)
		if result == "" {
			result = "ok"
			m.upstreamLatency.WithLabelValues(x.Upstream).Observe(a.Duration.Seconds())
		}
		m.attempts.WithLabelValues(x.Upstream, result).Inc()
		if i > 0 {
			m.retries.WithLabelValues(x.Upstream).Inc()
		}
	}
}

// rateDecisions are the decision label values.
var rateDecisions = [...]string{exchange.RateNone: "", exchange.RateAllowed: "allowed", exchange.RateLimited: "limited", exchange.RateError: "error"}
