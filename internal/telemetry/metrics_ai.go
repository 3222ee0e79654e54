package telemetry

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicegw/sluice/internal/exchange"
)

// aiMetrics are the AI gateway's metric families. Labels are config names
// (model names clients may ask for are recorded only once the route is
// known to offer them, so an unknown name never becomes a label), provider
// names, token types and failure codes.
type aiMetrics struct {
	requests   *prometheus.CounterVec
	tokens     *prometheus.CounterVec
	cost       *prometheus.CounterVec
	firstToken *prometheus.HistogramVec
	errors     *prometheus.CounterVec
}

// firstTokenBuckets span 50 ms to 2 min: model latencies, not proxy ones.
var firstTokenBuckets = []float64{.05, .1, .25, .5, 1, 2, 4, 8, 15, 30, 60, 120}

func newAIMetrics() *aiMetrics {
	return &aiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_ai_requests_total",
			Help: "AI requests by model asked for, provider that answered (\"\" when none did) and gateway error code.",
		}, []string{"model", "provider", "code"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_ai_tokens_total",
			Help: "Tokens used, by model, provider and type (input, output, cached, reasoning); input includes cached, output includes reasoning.",
		}, []string{"model", "provider", "type"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_ai_cost_usd_total",
			Help: "Cost of AI requests in US dollars, from the prices table, by model and provider.",
		}, []string{"model", "provider"}),
		firstToken: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_ai_first_token_seconds",
			Help:    "Time from the request's arrival to the first token (the whole answer when not streamed), by model and provider.",
			Buckets: firstTokenBuckets,
		}, []string{"model", "provider"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_ai_provider_errors_total",
			Help: "Failed provider calls, by provider and failure code (provider_rate_limited, provider_overloaded, ...).",
		}, []string{"provider", "code"}),
	}
}

func (m *aiMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.tokens, m.cost, m.firstToken, m.errors}
}

// observe records one AI request.
func (m *aiMetrics) observe(x *exchange.Exchange) {
	a := &x.AI
	m.requests.WithLabelValues(a.Model, a.Provider, string(x.Code)).Inc()
	for _, at := range x.Attempts {
		if at.Code != "" && at.Code != "client_closed" {
			provider, _, _ := strings.Cut(at.Target, "/")
			m.errors.WithLabelValues(provider, string(at.Code)).Inc()
		}
	}
	if a.Provider == "" {
		return
	}
	m.tokens.WithLabelValues(a.Model, a.Provider, "input").Add(float64(a.InputTokens))
	m.tokens.WithLabelValues(a.Model, a.Provider, "output").Add(float64(a.OutputTokens))
	m.tokens.WithLabelValues(a.Model, a.Provider, "cached").Add(float64(a.CachedTokens))
	m.tokens.WithLabelValues(a.Model, a.Provider, "reasoning").Add(float64(a.ReasoningTokens))
	m.cost.WithLabelValues(a.Model, a.Provider).Add(a.CostUSD)
	if a.FirstToken > 0 {
		m.firstToken.WithLabelValues(a.Model, a.Provider).Observe(a.FirstToken.Seconds())
	}
}
