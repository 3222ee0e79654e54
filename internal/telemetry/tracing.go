package telemetry

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing in sluice
//
// A *Tracer exports spans over OTLP/HTTP. The gateway holds at most one
// (nil when tracing is off) and gives every request a RequestTrace, which
// makes the request's server span and one client span per upstream
// attempt, and says what traceparent to send upstream.
//
// Sampling is decided once per request, before any span exists: a request
// whose valid traceparent says "sampled" is traced, one whose traceparent
// says "not sampled" is not, and any other is traced with the configured
// ratio (parent-based, trace-id-ratio sampling). A request that is not
// traced costs no span and no allocation: its traceparent, or a new one
// with the sampled flag off when it came without one, is passed upstream
// so that the services behind the gateway make the same decision.
//
// Other parts of the gateway add spans under a traced request with
// StartProviderCall (AI provider calls); see trace_genai.go.

// instrumentation is the instrumentation scope name of sluice's spans.
const instrumentation = "github.com/sluicegw/sluice"

// TracerOptions configure a Tracer.
type TracerOptions struct {
	// URL is where spans are posted (the OTLP/HTTP traces endpoint, used
	// as is), http:// or https://.
	URL string
	// Headers are sent with every export request.
	Headers map[string]string
	// SampleRatio is the share of requests without a sampled or unsampled
	// parent that are traced, 0..1.
	SampleRatio float64
	// ServiceName and ServiceVersion are the service.name and
	// service.version resource attributes.
	ServiceName, ServiceVersion string
}

// Tracer makes and exports spans. A nil *Tracer is tracing turned off:
// every method is a no-op on it. A Tracer is safe for concurrent use.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	// bound is the sampling threshold: a root request is traced when a
	// random 63-bit number is below it.
	bound uint64
}

// NewTracer returns a Tracer exporting to o.URL. Nothing is dialled until
// the first spans are exported; export failures are reported through the
// OpenTelemetry global error handler and never reach requests.
func NewTracer(o TracerOptions) (*Tracer, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("tracing: the endpoint must be an http:// or https:// URL")
	}
	if !(o.SampleRatio >= 0 && o.SampleRatio <= 1) {
		return nil, errors.New("tracing: the sample ratio must be between 0 and 1")
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(o.URL)}
	if len(o.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(o.Headers))
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, err
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", o.ServiceName)}
	if o.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", o.ServiceVersion))
	}
	// The Tracer samples before asking the SDK for a span, so the SDK
	// records every span it is asked for.
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
	)
	t := &Tracer{provider: tp, tracer: tp.Tracer(instrumentation)}
	switch {
	case o.SampleRatio >= 1:
		t.bound = math.MaxUint64
	default:
		t.bound = uint64(o.SampleRatio * (1 << 63))
	}
	return t, nil
}

// sampleRoot draws the sampling decision for a request without a parent.
func (t *Tracer) sampleRoot() bool {
	return t.bound == math.MaxUint64 || rand.Uint64()>>1 < t.bound
}

// ForceFlush exports every span ended so far, waiting until ctx ends.
func (t *Tracer) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.ForceFlush(ctx)
}

// Shutdown exports the spans still buffered and stops the exporter,
// waiting until ctx ends. Spans ended after Shutdown are dropped.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}
