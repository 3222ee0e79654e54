package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/telemetry"
	"github.com/sluicegw/sluice/internal/upstream"
)

// setupMetrics creates the node's metrics and the console's recent stats
// and hooks them up: the gateway observes every request; collectors read
// target health and the request log's counters when scraped.
func (a *App) setupMetrics() {
	a.metrics = telemetry.NewMetrics()
	a.stats = telemetry.NewStats()
	a.gw.SetMetrics(&observers{metrics: a.metrics, stats: a.stats})
	a.metrics.Register(&targetCollector{a: a}, &requestLogCollector{a: a})
	a.adminMux.metrics = a.metrics.Handler()
}

// observers passes each finished request to the metrics and the stats.
type observers struct {
	metrics *telemetry.Metrics
	stats   *telemetry.Stats
}

func (o *observers) Observe(x *exchange.Exchange) {
	o.metrics.Observe(x)
	o.stats.Observe(x)
}

var (
	targetHealthyDesc = prometheus.NewDesc("sluice_upstream_target_healthy",
		"1 when the target may take traffic (active and passive health), else 0.", []string{"upstream", "target"}, nil)
	targetInflightDesc = prometheus.NewDesc("sluice_upstream_target_inflight",
		"Requests in flight to the target.", []string{"upstream", "target"}, nil)
	reqlogDesc = prometheus.NewDesc("sluice_request_log_entries_total",
		"Request log entries by outcome: written, dropped (the writer fell behind), failed (the database refused a batch), sampled (successes over the per-second cap).", []string{"outcome"}, nil)
)

// targetCollector reports the targets of the current snapshot.
type targetCollector struct{ a *App }

func (c *targetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- targetHealthyDesc
	ch <- targetInflightDesc
}

func (c *targetCollector) Collect(ch chan<- prometheus.Metric) {
	for name, u := range c.a.gw.Snapshot().Upstreams {
		for _, t := range u.Targets() {
			st := t.Status()
			healthy := 0.0
			if st.State == upstream.StateHealthy {
				healthy = 1
			}
			ch <- prometheus.MustNewConstMetric(targetHealthyDesc, prometheus.GaugeValue, healthy, name, st.URL)
			ch <- prometheus.MustNewConstMetric(targetInflightDesc, prometheus.GaugeValue, float64(st.Active), name, st.URL)
		}
	}
}

// requestLogCollector reports the request log writer's counters.
type requestLogCollector struct{ a *App }

func (c *requestLogCollector) Describe(ch chan<- *prometheus.Desc) { ch <- reqlogDesc }

func (c *requestLogCollector) Collect(ch chan<- prometheus.Metric) {
	w := c.a.reqlog
	if w == nil {
		return
	}
	written, dropped, failed := w.Stats()
	for outcome, v := range map[string]uint64{"written": written, "dropped": dropped, "failed": failed, "sampled": w.Sampled()} {
		ch <- prometheus.MustNewConstMetric(reqlogDesc, prometheus.CounterValue, float64(v), outcome)
	}
}
