package telemetry

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ProviderCall describes one call from the AI gateway to a provider, in
// the words of the OpenTelemetry GenAI semantic conventions.
type ProviderCall struct {
	// Operation is gen_ai.operation.name: "chat", "embeddings",
	// "text_completion", ...
	Operation string
	// System is the provider family as the conventions name it, sent as
	// gen_ai.provider.name and (for older back ends) gen_ai.system:
	// "openai", "anthropic", "gcp.gemini", "aws.bedrock",
	// "azure.ai.openai", "mistral_ai", "ollama", ...
	System string
	// Provider is the name of the provider entry in sluice's config
	// (sluice.provider); optional.
	Provider string
	// RequestModel is gen_ai.request.model: the provider's model name the
	// call asks for.
	RequestModel string
	// ServerAddress and ServerPort are the provider's host and port;
	// optional.
	ServerAddress string
	ServerPort    int
	// Attempt counts the calls made for this request so far, 1 for the
	// first; optional.
	Attempt int
}

// ProviderResult is what a provider call ended with.
type ProviderResult struct {
	// ResponseModel is gen_ai.response.model; ResponseID is
	// gen_ai.response.id. Both optional.
	ResponseModel, ResponseID string
	// InputTokens and OutputTokens are gen_ai.usage.input_tokens and
	// gen_ai.usage.output_tokens; they are recorded when HasUsage is true.
	InputTokens, OutputTokens int64
	HasUsage                  bool
	// FinishReasons is gen_ai.response.finish_reasons, one per choice.
	FinishReasons []string
	// Status is the provider's HTTP status, 0 when none arrived.
	Status int
	// Code is the gateway's error code for a failed call (its failure
	// class), "" when the call succeeded. It makes the span an error.
	Code string
}

// ProviderSpan is the span of one provider call. The zero ProviderSpan
// (what StartProviderCall returns when the request is not traced) does
// nothing and costs nothing.
type ProviderSpan struct {
	span trace.Span
}

// StartProviderCall starts a client span for one call to an AI provider,
// a child of the gateway request's server span found in ctx. Use it from
// the AI gateway like this:
//
//	span := telemetry.StartProviderCall(r.Context(), telemetry.ProviderCall{
//		Operation: "chat", System: "openai", Provider: p.Name, RequestModel: target.Model,
//	})
//	span.SetTraceParent(upstreamReq.Header) // optional: continue the trace at the provider
//	resp, err := send(...)
//	span.End(telemetry.ProviderResult{ResponseModel: resp.Model, InputTokens: u.In,
//		OutputTokens: u.Out, HasUsage: true, FinishReasons: reasons, Status: resp.Status})
//
// ctx must be the context of the *http.Request the gateway handed to the
// AI handler (or one derived from it): the gateway puts the server span
// there only for sampled requests, so when tracing is off or the request
// is not sampled StartProviderCall does one context lookup and returns
// the zero ProviderSpan, without allocating. End every span it returns,
// once, before the handler returns; a span ended later still exports but
// the server span will not cover it. For a streamed answer, end the span
// when the stream is over, with the usage the stream reported.
func StartProviderCall(ctx context.Context, c ProviderCall) ProviderSpan {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ProviderSpan{}
	}
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs,
		attribute.String("gen_ai.operation.name", c.Operation),
		attribute.String("gen_ai.provider.name", c.System),
		attribute.String("gen_ai.system", c.System),
		attribute.String("gen_ai.request.model", c.RequestModel),
	)
	if c.Provider != "" {
		attrs = append(attrs, attribute.String("sluice.provider", c.Provider))
	}
	if c.ServerAddress != "" {
		attrs = append(attrs, attribute.String("server.address", c.ServerAddress))
		if c.ServerPort > 0 {
			attrs = append(attrs, attribute.Int("server.port", c.ServerPort))
		}
	}
	if c.Attempt > 0 {
		attrs = append(attrs, attrAttempt.Int(c.Attempt))
	}
	name := c.Operation
	if c.RequestModel != "" {
		name += " " + c.RequestModel
	}
	_, span := parent.TracerProvider().Tracer(instrumentation).Start(ctx, name,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ProviderSpan{span: span}
}

// Recording reports whether the span records anything; callers may skip
// work done only for the span (collecting finish reasons, say) when not.
func (s ProviderSpan) Recording() bool { return s.span != nil }

// SetTraceParent sets h's traceparent header to this span, sampled, so
// that a provider that takes part in tracing continues the trace. It does
// nothing on the zero ProviderSpan.
func (s ProviderSpan) SetTraceParent(h http.Header) {
	if s.span == nil {
		return
	}
	sc := s.span.SpanContext()
	var b [traceParentLen]byte
	h["Traceparent"] = []string{string(appendTraceParent(b[:0], sc.TraceID(), sc.SpanID(), true))}
}

// End ends the span with the call's result. It does nothing on the zero
// ProviderSpan.
func (s ProviderSpan) End(r ProviderResult) {
	if s.span == nil {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 8)
	if r.ResponseModel != "" {
		attrs = append(attrs, attribute.String("gen_ai.response.model", r.ResponseModel))
	}
	if r.ResponseID != "" {
		attrs = append(attrs, attribute.String("gen_ai.response.id", r.ResponseID))
	}
	if r.HasUsage {
		attrs = append(attrs,
			attribute.Int64("gen_ai.usage.input_tokens", r.InputTokens),
			attribute.Int64("gen_ai.usage.output_tokens", r.OutputTokens))
	}
	if len(r.FinishReasons) > 0 {
		attrs = append(attrs, attribute.StringSlice("gen_ai.response.finish_reasons", r.FinishReasons))
	}
	if r.Status > 0 {
		attrs = append(attrs, attribute.Int("http.response.status_code", r.Status))
	}
	switch {
	case r.Code != "":
		attrs = append(attrs, attrErrorCode.String(r.Code), attribute.String("error.type", r.Code))
		s.span.SetStatus(codes.Error, r.Code)
	case r.Status >= 400:
		attrs = append(attrs, attribute.String("error.type", strconv.Itoa(r.Status)))
		s.span.SetStatus(codes.Error, "")
	}
	s.span.SetAttributes(attrs...)
	s.span.End()
}
