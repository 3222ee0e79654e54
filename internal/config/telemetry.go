package config

import (
	"net/url"
	"strings"
)

// Telemetry configures what the gateway reports about itself beyond its
// logs and the Prometheus metrics.
type Telemetry struct {
	Tracing Tracing `yaml:"tracing" json:"tracing"`
}

// Tracing configures OpenTelemetry tracing: a server span for every
// gateway request and a client span for every upstream attempt, exported
// over OTLP/HTTP (protobuf) to a collector.
type Tracing struct {
	// Enabled turns tracing on. Default false: no span is made and an
	// incoming traceparent passes to upstreams unchanged.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Endpoint is the collector's OTLP/HTTP receiver, http:// or https://.
	// A URL with no path (or "/") sends to /v1/traces on it; a URL with a
	// path sends to that path as it is. Default "http://127.0.0.1:4318".
	Endpoint string `yaml:"endpoint" json:"endpoint"`
	// SampleRatio is the share of requests without a sampled parent that
	// are traced, 0..1. A request whose traceparent says "sampled" is
	// always traced, one that says "not sampled" never is (parent-based
	// sampling). Default 0.01.
	SampleRatio float64 `yaml:"sample_ratio" json:"sample_ratio"`
	// ServiceName is the service.name resource attribute. Default "sluice".
	ServiceName string `yaml:"service_name" json:"service_name"`
	// Headers are sent with every export request (say, the collector's
	// credentials). The values are secrets.
	Headers map[string]string `yaml:"headers" json:"headers"`
}

// defaultTelemetry is the built-in telemetry configuration.
func defaultTelemetry() Telemetry {
	return Telemetry{Tracing: Tracing{
		Endpoint:    "http://127.0.0.1:4318",
		SampleRatio: 0.01,
		ServiceName: "sluice",
	}}
}

// TracesURL returns the URL spans are posted to: Endpoint with /v1/traces
// when Endpoint has no path. It assumes a valid config.
func (t *Tracing) TracesURL() string {
	u, err := url.Parse(t.Endpoint)
	if err != nil {
		return t.Endpoint
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String()
}

func (v *validator) telemetry() {
	t := &v.c.Telemetry.Tracing
	const p = "telemetry.tracing"
	if u, err := url.Parse(t.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		// The URL may carry credentials: never echo it.
		v.addf(p+".endpoint", "must be a URL like http://127.0.0.1:4318 or https://collector.example.com/v1/traces, with no credentials, query or fragment")
	}
	if !(t.SampleRatio >= 0 && t.SampleRatio <= 1) {
		v.addf(p+".sample_ratio", "must be between 0 and 1, got %g", t.SampleRatio)
	}
	if strings.TrimSpace(t.ServiceName) == "" {
		v.addf(p+".service_name", "must not be empty")
	}
	for _, h := range sortedKeys(t.Headers) {
		hp := joinKey(p+".headers", h)
		if !isToken(h) {
			v.addf(hp, "%s is not a valid header name", quoteShort(h))
		} else if strings.ContainsAny(t.Headers[h], "\r\n\x00") {
			// The value is a secret: say what is wrong, not what it is.
			v.addf(hp, "the value must not contain line breaks or NUL bytes")
		}
	}
}
