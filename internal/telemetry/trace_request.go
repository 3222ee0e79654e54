package telemetry

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/upstream"
)

// Attribute keys beyond the OpenTelemetry semantic conventions.
const (
	attrRequestID = attribute.Key("sluice.request_id")
	attrRoute     = attribute.Key("sluice.route")
	attrUpstream  = attribute.Key("sluice.upstream")
	attrConsumer  = attribute.Key("sluice.consumer")
	attrErrorCode = attribute.Key("sluice.error_code")
	attrAttempts  = attribute.Key("sluice.attempts")
	attrAttempt   = attribute.Key("sluice.attempt")
	attrTarget    = attribute.Key("sluice.target")
	attrReused    = attribute.Key("sluice.connection_reused")
)

// RequestTrace is one gateway request's part in tracing: its server span,
// the client span of the running upstream attempt, and the traceparent to
// send upstream. The gateway keeps one in its pooled per-request state,
// calls Begin when a request arrives while tracing is on and End when the
// request is over. The zero RequestTrace is inactive. It is owned by the
// goroutine serving the request.
//
// *RequestTrace implements proxy.AttemptTracer.
type RequestTrace struct {
	t       *Tracer         // non-nil from Begin to End
	span    trace.Span      // the server span; nil when the request is not sampled
	ctx     context.Context // carries span, the parent of child spans
	attempt trace.Span      // the running attempt's span
	tls     bool
	agent   string

	tp    [traceParentLen]byte
	tpSet bool // tp replaces the client's traceparent upstream
}

// Active reports whether the request is being followed (between Begin and
// End), sampled or not.
func (rt *RequestTrace) Active() bool { return rt.t != nil }

// Sampled reports whether the request has a server span.
func (rt *RequestTrace) Sampled() bool { return rt.span != nil }

// Begin decides whether the request is sampled (see the package notes on
// tracing) and, when it is, starts its server span at start. It returns
// the request to serve: r itself, or when sampled a shallow copy whose
// context carries the server span (for StartProviderCall). When the
// request has no valid traceparent, Begin removes its tracestate header.
// It allocates nothing when the request is not sampled.
func (rt *RequestTrace) Begin(t *Tracer, r *http.Request, start time.Time) *http.Request {
	rt.t = t
	tid, sid, sampled, ok := parseTraceParent(r.Header["Traceparent"])
	if !ok {
		// A new trace starts here: a tracestate that came without a valid
		// traceparent describes no trace of ours (Trace Context §3.3).
		delete(r.Header, "Tracestate")
	}
	switch {
	case ok && !sampled:
		return r // the client's traceparent passes through
	case !ok && !t.sampleRoot():
		// Not sampled here: downstream services learn so from a new
		// traceparent with the sampled flag off.
		rand64(tid[:8])
		rand64(tid[8:])
		rand64(sid[:])
		appendTraceParent(rt.tp[:0], tid, sid, false)
		rt.tpSet = true
		return r
	}
	ctx := r.Context()
	if ok {
		ts, _ := trace.ParseTraceState(strings.Join(r.Header["Tracestate"], ","))
		ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true}))
	}
	rt.ctx, rt.span = t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start))
	rt.tls = r.TLS != nil
	rt.agent = r.Header.Get("User-Agent")
	return r.WithContext(rt.ctx)
}

// rand64 fills b (8 bytes) with random bytes, never all zero.
func rand64(b []byte) {
	v := rand.Uint64() | 1
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

// StartAttempt starts the client span of attempt n (0 for the first) of x
// to target t, for the upstream path path, and returns the traceparent
// value to send with it: for a sampled request one whose parent is the
// attempt span. It returns nil when the client's traceparent is to be
// passed on unchanged. The slice is valid until the next call.
func (rt *RequestTrace) StartAttempt(x *exchange.Exchange, n int, t *upstream.Target, path string) []byte {
	if rt.span == nil {
		if rt.tpSet {
			return rt.tp[:]
		}
		return nil
	}
	host, port := hostPort(t.URL.Host, t.TLS)
	attrs := [...]attribute.KeyValue{
		attribute.String("http.request.method", x.Method),
		attribute.String("server.address", host),
		attribute.Int("server.port", port),
		attribute.String("url.full", t.Name+path),
		attrUpstream.String(x.Upstream),
		attrTarget.String(t.Name),
		attrAttempt.Int(n + 1),
		attribute.Int("http.request.resend_count", n),
	}
	a := attrs[:]
	if n == 0 {
		a = a[:len(a)-1]
	}
	_, rt.attempt = rt.t.tracer.Start(rt.ctx, x.Method+" "+x.Upstream, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(a...))
	sc := rt.attempt.SpanContext()
	appendTraceParent(rt.tp[:0], sc.TraceID(), sc.SpanID(), true)
	return rt.tp[:]
}

// EndAttempt ends the running attempt's span with what the attempt record
// a says (nil: nothing was recorded).
func (rt *RequestTrace) EndAttempt(a *exchange.Attempt) {
	s := rt.attempt
	if s == nil {
		return
	}
	rt.attempt = nil
	if a != nil {
		if a.Status > 0 {
			s.SetAttributes(attribute.Int("http.response.status_code", a.Status))
		}
		s.SetAttributes(attrReused.Bool(a.Reused))
		switch {
		case a.Code != "":
			s.SetAttributes(attrErrorCode.String(string(a.Code)), attribute.String("error.type", string(a.Code)))
			s.SetStatus(codes.Error, string(a.Code))
		case a.Status >= 400:
			s.SetAttributes(attribute.String("error.type", strconv.Itoa(a.Status)))
			s.SetStatus(codes.Error, "")
		}
	}
	s.End()
}

// End ends the server span with what x says about the request, and makes
// rt inactive. peer is the TCP peer's address.
//
// The span's status is Error when the response is a 5xx or the upstream
// failed after the response head; a gateway error with a 4xx status (say
// no_route, unauthorized or rate_limited) carries error.type and
// sluice.error_code but, as the HTTP semantic conventions ask of server
// spans, leaves the status unset.
func (rt *RequestTrace) End(x *exchange.Exchange, peer netip.Addr) {
	if s := rt.span; s != nil {
		if rt.attempt != nil { // an attempt that panicked or was never ended
			rt.attempt.End()
		}
		if x.Route != "" {
			s.SetName(x.Method + " " + x.Route)
		}
		host, port := hostPort(x.Host, rt.tls)
		scheme := "http"
		if rt.tls {
			scheme = "https"
		}
		attrs := make([]attribute.KeyValue, 0, 18)
		attrs = append(attrs,
			attribute.String("http.request.method", x.Method),
			attribute.String("url.scheme", scheme),
			attrRequestID.String(x.ID),
			attrAttempts.Int(len(x.Attempts)),
		)
		if x.Path != "" {
			attrs = append(attrs, attribute.String("url.path", x.Path))
		}
		if host != "" {
			attrs = append(attrs, attribute.String("server.address", host), attribute.Int("server.port", port))
		}
		if x.ClientIP.IsValid() {
			attrs = append(attrs, attribute.String("client.address", x.ClientIP.String()))
		}
		if peer.IsValid() {
			attrs = append(attrs, attribute.String("network.peer.address", peer.String()))
		}
		if rt.agent != "" {
			attrs = append(attrs, attribute.String("user_agent.original", rt.agent))
		}
		if x.Status > 0 {
			attrs = append(attrs, attribute.Int("http.response.status_code", x.Status))
		}
		if x.Route != "" {
			attrs = append(attrs, attrRoute.String(x.Route))
		}
		if x.Upstream != "" {
			attrs = append(attrs, attrUpstream.String(x.Upstream))
		}
		if x.Consumer != "" {
			attrs = append(attrs, attrConsumer.String(x.Consumer))
		}
		if x.Code != "" {
			attrs = append(attrs, attrErrorCode.String(string(x.Code)), attribute.String("error.type", string(x.Code)))
		} else if x.Status >= 500 {
			attrs = append(attrs, attribute.String("error.type", strconv.Itoa(x.Status)))
		}
		s.SetAttributes(attrs...)
		if x.Status >= 500 || (x.Code != "" && x.Status < 400) {
			s.SetStatus(codes.Error, string(x.Code))
		}
		s.End()
	}
	*rt = RequestTrace{}
}

// hostPort splits a host[:port] into the host and the port, the port
// defaulting from the scheme.
func hostPort(hp string, tls bool) (string, int) {
	host, port := hp, 0
	if h, p, err := net.SplitHostPort(hp); err == nil {
		host = h
		port, _ = strconv.Atoi(p)
	}
	if port == 0 {
		port = 80
		if tls {
			port = 443
		}
	}
	return host, port
}
