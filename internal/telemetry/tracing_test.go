package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/telemetry/otlptest"
	"github.com/sluicegw/sluice/internal/upstream"
)

func TestParseTraceParent(t *testing.T) {
	const tid, sid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	cases := []struct {
		name    string
		vals    []string
		ok      bool
		sampled bool
	}{
		{"sampled", []string{"00-" + tid + "-" + sid + "-01"}, true, true},
		{"not sampled", []string{"00-" + tid + "-" + sid + "-00"}, true, false},
		{"other flags with sampled bit", []string{"00-" + tid + "-" + sid + "-03"}, true, true},
		{"future version with more fields", []string{"cc-" + tid + "-" + sid + "-01-what-the-future"}, true, true},
		{"future version, exact length", []string{"01-" + tid + "-" + sid + "-01"}, true, true},
		{"version 00 with more fields", []string{"00-" + tid + "-" + sid + "-01-x"}, false, false},
		{"future version, no dash after flags", []string{"01-" + tid + "-" + sid + "-01x"}, false, false},
		{"version ff", []string{"ff-" + tid + "-" + sid + "-01"}, false, false},
		{"upper-case hex", []string{"00-" + strings.ToUpper(tid) + "-" + sid + "-01"}, false, false},
		{"zero trace id", []string{"00-" + strings.Repeat("0", 32) + "-" + sid + "-01"}, false, false},
		{"zero parent id", []string{"00-" + tid + "-" + strings.Repeat("0", 16) + "-01"}, false, false},
		{"short", []string{"00-" + tid + "-" + sid + "-1"}, false, false},
		{"wrong separators", []string{"00_" + tid + "_" + sid + "_01"}, false, false},
		{"two headers", []string{"00-" + tid + "-" + sid + "-01", "00-" + tid + "-" + sid + "-01"}, false, false},
		{"none", nil, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gotT, gotS, sampled, ok := parseTraceParent(tc.vals)
			if ok != tc.ok || sampled != tc.sampled {
				t.Fatalf("ok, sampled = %v, %v; want %v, %v", ok, sampled, tc.ok, tc.sampled)
			}
			if ok && (gotT.String() != tid || gotS.String() != sid) {
				t.Errorf("ids = %s %s", gotT, gotS)
			}
			if ok {
				var b [traceParentLen]byte
				want := "00-" + tid + "-" + sid + "-00"
				if sampled {
					want = want[:len(want)-1] + "1"
				}
				if got := string(appendTraceParent(b[:0], gotT, gotS, sampled)); got != want {
					t.Errorf("formatted %q, want %q", got, want)
				}
			}
		})
	}
}

func newTestTracer(t *testing.T, recv *otlptest.Receiver, ratio float64) *Tracer {
	t.Helper()
	tr, err := NewTracer(TracerOptions{URL: recv.URL + "/v1/traces", SampleRatio: ratio, ServiceName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	return tr
}

// TestUnsampledCostsNothing: following a request that is not sampled, and
// asking for a provider span under it, allocates nothing.
func TestUnsampledCostsNothing(t *testing.T) {
	recv := otlptest.Start(t)
	tr := newTestTracer(t, recv, 0)
	r := httptest.NewRequest("GET", "/x", nil)
	x := &exchange.Exchange{Method: "GET"}
	x.Reset()
	var rt RequestTrace
	allocs := testing.AllocsPerRun(200, func() {
		r2 := rt.Begin(tr, r, time.Now())
		tp := rt.StartAttempt(x, 0, nil, "/x")
		if len(tp) != traceParentLen || r2 != r {
			panic("unsampled request without a traceparent got none")
		}
		rt.EndAttempt(nil)
		StartProviderCall(r2.Context(), ProviderCall{Operation: "chat", System: "openai", RequestModel: "gpt-4o"}).End(ProviderResult{HasUsage: true})
		rt.End(x, netip.Addr{})
	})
	if allocs != 0 {
		t.Errorf("an unsampled request allocates %v times", allocs)
	}
	var nilTracer *Tracer
	if err := nilTracer.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestProviderCallSpan: the AI gateway's provider span is a child of the
// request's server span, with the GenAI attributes.
func TestProviderCallSpan(t *testing.T) {
	recv := otlptest.Start(t)
	tr := newTestTracer(t, recv, 1)
	r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	var rt RequestTrace
	r = rt.Begin(tr, r, time.Now())
	if !rt.Sampled() {
		t.Fatal("ratio 1 did not sample")
	}
	span := StartProviderCall(r.Context(), ProviderCall{
		Operation: "chat", System: "openai", Provider: "oai-main", RequestModel: "gpt-4o",
		ServerAddress: "api.openai.com", ServerPort: 443, Attempt: 1,
	})
	if !span.Recording() {
		t.Fatal("provider span under a sampled request does not record")
	}
	h := http.Header{}
	span.SetTraceParent(h)
	span.End(ProviderResult{ResponseModel: "gpt-4o-2024-08-06", ResponseID: "chatcmpl-1", InputTokens: 12, OutputTokens: 34,
		HasUsage: true, FinishReasons: []string{"stop"}, Status: 200})
	failed := StartProviderCall(r.Context(), ProviderCall{Operation: "chat", System: "anthropic", RequestModel: "claude-sonnet-4-5", Attempt: 2})
	failed.End(ProviderResult{Status: 429, Code: "rate_limited"})
	rt.End(&exchange.Exchange{Method: "POST", Route: "ai", Status: 200, ID: "rid"}, netip.Addr{})
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := recv.WaitSpans(t, 3, 5*time.Second)
	srv := otlptest.ByKind(spans, tracepb.Span_SPAN_KIND_SERVER)
	calls := otlptest.ByKind(spans, tracepb.Span_SPAN_KIND_CLIENT)
	if len(srv) != 1 || len(calls) != 2 {
		t.Fatalf("spans: %+v", spans)
	}
	ok := calls[0]
	if ok.Name != "chat gpt-4o" || ok.ParentSpanID != srv[0].SpanID || ok.TraceID != srv[0].TraceID {
		t.Errorf("provider span %q parent %s, want \"chat gpt-4o\" under %s", ok.Name, ok.ParentSpanID, srv[0].SpanID)
	}
	want := map[string]any{
		"gen_ai.operation.name":      "chat",
		"gen_ai.provider.name":       "openai",
		"gen_ai.system":              "openai",
		"gen_ai.request.model":       "gpt-4o",
		"gen_ai.response.model":      "gpt-4o-2024-08-06",
		"gen_ai.response.id":         "chatcmpl-1",
		"gen_ai.usage.input_tokens":  int64(12),
		"gen_ai.usage.output_tokens": int64(34),
		"sluice.provider":            "oai-main",
		"server.address":             "api.openai.com",
		"server.port":                int64(443),
		"http.response.status_code":  int64(200),
	}
	for k, v := range want {
		if ok.Attrs[k] != v {
			t.Errorf("%s = %#v, want %#v", k, ok.Attrs[k], v)
		}
	}
	if fr, _ := ok.Attrs["gen_ai.response.finish_reasons"].([]any); !slices.Equal(fr, []any{"stop"}) {
		t.Errorf("finish reasons = %#v", ok.Attrs["gen_ai.response.finish_reasons"])
	}
	if got := h.Get("Traceparent"); got != "00-"+ok.TraceID+"-"+ok.SpanID+"-01" {
		t.Errorf("SetTraceParent = %q, want the provider span", got)
	}
	bad := calls[1]
	if bad.StatusCode != tracepb.Status_STATUS_CODE_ERROR || bad.Attrs["sluice.error_code"] != "rate_limited" || bad.Attrs["sluice.attempt"] != int64(2) {
		t.Errorf("failed call span: %+v", bad)
	}
	if _, ok := bad.Attrs["gen_ai.usage.input_tokens"]; ok {
		t.Error("usage recorded without HasUsage")
	}
	if srv[0].Name != "POST ai" {
		t.Errorf("server span name %q", srv[0].Name)
	}
}

// TestSampleRatio: the ratio draws about the configured share of root
// requests (generous bounds: 2000 draws at 0.25).
func TestSampleRatio(t *testing.T) {
	recv := otlptest.Start(t)
	for _, tc := range []struct {
		ratio  float64
		lo, hi int
	}{{0, 0, 0}, {1, 2000, 2000}, {0.25, 350, 650}} {
		tr := newTestTracer(t, recv, tc.ratio)
		n := 0
		for range 2000 {
			if tr.sampleRoot() {
				n++
			}
		}
		if n < tc.lo || n > tc.hi {
			t.Errorf("ratio %v sampled %d of 2000, want %d..%d", tc.ratio, n, tc.lo, tc.hi)
		}
	}
	if _, err := NewTracer(TracerOptions{URL: "ftp://x", ServiceName: "s"}); err == nil {
		t.Error("NewTracer took an ftp endpoint")
	}
}

// BenchmarkRequestTrace measures what tracing adds to one request with one
// attempt, outside the network path: not sampled with no traceparent (a
// new unsampled one is made), not sampled by the client's traceparent,
// and sampled (server and attempt spans, exported to a receiver in this
// process).
func BenchmarkRequestTrace(b *testing.B) {
	recv := otlptest.Start(b)
	mk := func(ratio float64) *Tracer {
		tr, err := NewTracer(TracerOptions{URL: recv.URL + "/v1/traces", SampleRatio: ratio, ServiceName: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { tr.Shutdown(context.Background()) })
		return tr
	}
	up := &upstream.Target{Name: "http://127.0.0.1:9", TLS: false}
	up.URL, _ = url.Parse(up.Name)
	for _, tc := range []struct {
		name   string
		tracer *Tracer
		tp     string
	}{
		{"unsampled-root", mk(0), ""},
		{"unsampled-parent", mk(1), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"},
		{"sampled", mk(1), ""},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/x", nil)
			if tc.tp != "" {
				r.Header.Set("Traceparent", tc.tp)
			}
			x := &exchange.Exchange{}
			var rt RequestTrace
			b.ReportAllocs()
			for b.Loop() {
				x.Reset()
				x.Method, x.Route, x.Upstream, x.Status = "GET", "r", "u", 200
				rt.Begin(tc.tracer, r, time.Now())
				rt.StartAttempt(x, 0, up, "/x")
				x.AddAttempt(exchange.Attempt{Target: up.Name, Status: 200})
				rt.EndAttempt(&x.Attempts[0])
				rt.End(x, netip.Addr{})
			}
		})
	}
}
