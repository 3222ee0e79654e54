package app

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/sluicegw/sluice/internal/telemetry/otlptest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// tracingSection returns a telemetry section exporting to recv.
func tracingSection(recv *otlptest.Receiver, ratio string) string {
	return fmt.Sprintf(`telemetry:
  tracing:
    enabled: true
    endpoint: %q
    sample_ratio: %s
    service_name: edge-gw
    headers: { X-Collector-Token: "t0ken" }
`, recv.URL, ratio)
}

// flushSpans exports what the node's tracer holds.
func (h *harness) flushSpans() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.app.Gateway().Tracer().ForceFlush(ctx); err != nil {
		h.t.Fatalf("flush: %v", err)
	}
}

// port returns the port of a host:port address.
func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var traceParentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$`)

// splitTraceParent returns the trace id, parent id and flags of a
// traceparent value, failing the test when it is malformed.
func splitTraceParent(t *testing.T, v string) (tid, pid, flags string) {
	t.Helper()
	m := traceParentRE.FindStringSubmatch(v)
	if m == nil {
		t.Fatalf("traceparent %q is not a version 00 traceparent", v)
	}
	return m[1], m[2], m[3]
}

// one returns the single span of a kind, failing otherwise.
func one(t *testing.T, spans []otlptest.Span, kind tracepb.Span_SpanKind) otlptest.Span {
	t.Helper()
	got := otlptest.ByKind(spans, kind)
	if len(got) != 1 {
		t.Fatalf("%d spans of kind %v, want 1: %+v", len(got), kind, spans)
	}
	return got[0]
}

func wantAttrs(t *testing.T, s otlptest.Span, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got, ok := s.Attrs[k]; !ok || got != v {
			t.Errorf("span %q: %s = %#v (present %v), want %#v", s.Name, k, got, ok, v)
		}
	}
}

// TestTracingServerAndAttemptSpans follows one proxied request: a server
// span, a client span for the attempt under it, and the upstream sees a
// traceparent whose parent is the attempt span.
func TestTracingServerAndAttemptSpans(t *testing.T) {
	recv := otlptest.Start(t)
	u := testkit.Start(t, testkit.OK)
	h := startGateway(t, tracingSection(recv, "1")+oneTarget("", u.URL))

	resp, _, err := h.do("GET", "/orders/7?q=secret", nil, map[string]string{"User-Agent": "trace-test/1", "X-Request-Id": "req-trace-1"})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	h.flushSpans()
	spans := recv.WaitSpans(t, 2, 5*time.Second)
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2: %+v", len(spans), spans)
	}
	srv := one(t, spans, tracepb.Span_SPAN_KIND_SERVER)
	att := one(t, spans, tracepb.Span_SPAN_KIND_CLIENT)

	if srv.Name != "GET r" {
		t.Errorf("server span name = %q, want %q", srv.Name, "GET r")
	}
	if srv.ParentSpanID != "" {
		t.Errorf("server span has parent %q; the request had no traceparent", srv.ParentSpanID)
	}
	if att.TraceID != srv.TraceID || att.ParentSpanID != srv.SpanID {
		t.Errorf("attempt span %s/%s (parent %s) is not a child of server span %s/%s", att.TraceID, att.SpanID, att.ParentSpanID, srv.TraceID, srv.SpanID)
	}
	wantAttrs(t, srv, map[string]any{
		"http.request.method":       "GET",
		"url.path":                  "/orders/7",
		"url.scheme":                "http",
		"server.address":            "127.0.0.1",
		"client.address":            "127.0.0.1",
		"http.response.status_code": int64(200),
		"sluice.route":              "r",
		"sluice.upstream":           "u",
		"sluice.request_id":         "req-trace-1",
		"sluice.attempts":           int64(1),
		"user_agent.original":       "trace-test/1",
	})
	for _, k := range []string{"sluice.error_code", "error.type", "sluice.consumer"} {
		if v, ok := srv.Attrs[k]; ok {
			t.Errorf("server span has %s = %v on a clean request", k, v)
		}
	}
	if srv.StatusCode != tracepb.Status_STATUS_CODE_UNSET {
		t.Errorf("server span status = %v, want unset", srv.StatusCode)
	}
	wantAttrs(t, att, map[string]any{
		"http.request.method":       "GET",
		"server.address":            "127.0.0.1",
		"server.port":               int64(port(t, u.Addr)),
		"url.full":                  u.URL + "/orders/7",
		"sluice.attempt":            int64(1),
		"sluice.target":             u.URL,
		"http.response.status_code": int64(200),
	})
	if _, ok := att.Attrs["http.request.resend_count"]; ok {
		t.Error("first attempt has http.request.resend_count")
	}
	if srv.Resource["service.name"] != "edge-gw" || srv.Resource["service.version"] != "test" {
		t.Errorf("resource = %v", srv.Resource)
	}
	if !(srv.Start.Before(att.Start) || srv.Start.Equal(att.Start)) || att.End.After(srv.End) {
		t.Errorf("attempt span [%v, %v] is not inside server span [%v, %v]", att.Start, att.End, srv.Start, srv.End)
	}
	if hs := recv.Headers(); len(hs) == 0 || hs[0].Get("X-Collector-Token") != "t0ken" {
		t.Errorf("export request headers = %v, want X-Collector-Token", hs)
	}

	tid, pid, flags := splitTraceParent(t, u.LastRequest().Get("Traceparent"))
	if tid != srv.TraceID || pid != att.SpanID || flags != "01" {
		t.Errorf("upstream got traceparent %s-%s-%s, want trace %s, parent %s (the attempt span), sampled",
			tid, pid, flags, srv.TraceID, att.SpanID)
	}
}

// TestTracingRetriesAndErrors: each attempt is its own client span, with
// its failure, and each carries its own traceparent to the upstream; a
// gateway error marks the server span.
func TestTracingRetriesAndErrors(t *testing.T) {
	t.Run("503 then 200", func(t *testing.T) {
		recv := otlptest.Start(t)
		u := testkit.Start(t, testkit.Sequence(testkit.Status(503), testkit.OK))
		h := startGateway(t, tracingSection(recv, "1")+oneTarget("retries: 2", u.URL))
		if resp, _ := h.get("/x"); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		h.flushSpans()
		spans := recv.WaitSpans(t, 3, 5*time.Second)
		srv := one(t, spans, tracepb.Span_SPAN_KIND_SERVER)
		atts := otlptest.ByKind(spans, tracepb.Span_SPAN_KIND_CLIENT)
		if len(atts) != 2 {
			t.Fatalf("%d attempt spans, want 2", len(atts))
		}
		byNumber := map[int64]otlptest.Span{}
		for _, a := range atts {
			if a.ParentSpanID != srv.SpanID || a.TraceID != srv.TraceID {
				t.Errorf("attempt %s is not a child of the server span", a.SpanID)
			}
			byNumber[a.Attrs["sluice.attempt"].(int64)] = a
		}
		first, second := byNumber[1], byNumber[2]
		wantAttrs(t, first, map[string]any{"http.response.status_code": int64(503), "error.type": "503"})
		if first.StatusCode != tracepb.Status_STATUS_CODE_ERROR {
			t.Errorf("503 attempt status = %v, want error", first.StatusCode)
		}
		wantAttrs(t, second, map[string]any{"http.response.status_code": int64(200), "http.request.resend_count": int64(1)})
		if second.StatusCode == tracepb.Status_STATUS_CODE_ERROR {
			t.Error("the 200 attempt is marked as an error")
		}
		wantAttrs(t, srv, map[string]any{"http.response.status_code": int64(200), "sluice.attempts": int64(2)})
		reqs := u.Requests()
		if len(reqs) != 2 {
			t.Fatalf("upstream saw %d requests, want 2", len(reqs))
		}
		for i, want := range []otlptest.Span{first, second} {
			tid, pid, _ := splitTraceParent(t, reqs[i].Get("Traceparent"))
			if tid != srv.TraceID || pid != want.SpanID {
				t.Errorf("request %d carried parent %s, want attempt span %s", i+1, pid, want.SpanID)
			}
		}
	})

	t.Run("connect refused twice", func(t *testing.T) {
		recv := otlptest.Start(t)
		dead := "http://" + testkit.RefusingAddr(t)
		h := startGateway(t, tracingSection(recv, "1")+oneTarget("retries: 1", dead))
		resp, body := h.get("/x")
		checkProblem(t, resp, body, 502, "upstream_connect_failed")
		h.flushSpans()
		spans := recv.WaitSpans(t, 3, 5*time.Second)
		srv := one(t, spans, tracepb.Span_SPAN_KIND_SERVER)
		wantAttrs(t, srv, map[string]any{
			"sluice.error_code": "upstream_connect_failed", "error.type": "upstream_connect_failed",
			"http.response.status_code": int64(502),
		})
		if srv.StatusCode != tracepb.Status_STATUS_CODE_ERROR || srv.StatusMessage != "upstream_connect_failed" {
			t.Errorf("server span status = %v %q, want error upstream_connect_failed", srv.StatusCode, srv.StatusMessage)
		}
		atts := otlptest.ByKind(spans, tracepb.Span_SPAN_KIND_CLIENT)
		if len(atts) != 2 {
			t.Fatalf("%d attempt spans, want 2", len(atts))
		}
		for _, a := range atts {
			wantAttrs(t, a, map[string]any{"sluice.error_code": "upstream_connect_failed"})
			if a.StatusCode != tracepb.Status_STATUS_CODE_ERROR {
				t.Errorf("attempt %v status = %v, want error", a.Attrs["sluice.attempt"], a.StatusCode)
			}
			if _, ok := a.Attrs["http.response.status_code"]; ok {
				t.Error("a refused attempt has a response status")
			}
		}
	})

	t.Run("no route", func(t *testing.T) {
		recv := otlptest.Start(t)
		u := testkit.Start(t, testkit.OK)
		h := startGateway(t, tracingSection(recv, "1")+strings.Replace(oneTarget("", u.URL), `paths: ["/"]`, `paths: ["/only"]`, 1))
		resp, body := h.get("/elsewhere")
		checkProblem(t, resp, body, 404, "no_route")
		h.flushSpans()
		srv := one(t, recv.WaitSpans(t, 1, 5*time.Second), tracepb.Span_SPAN_KIND_SERVER)
		if srv.Name != "GET" {
			t.Errorf("unrouted span name = %q, want GET", srv.Name)
		}
		wantAttrs(t, srv, map[string]any{"sluice.error_code": "no_route", "http.response.status_code": int64(404)})
		if srv.StatusCode != tracepb.Status_STATUS_CODE_UNSET {
			t.Errorf("a 404 server span has status %v; 4xx leave it unset", srv.StatusCode)
		}
	})
}

// TestTracingPropagation pins what traceparent reaches the upstream and
// which requests are traced, for each kind of incoming traceparent.
func TestTracingPropagation(t *testing.T) {
	const (
		clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		clientSpan  = "00f067aa0ba902b7"
	)
	sampledTP := "00-" + clientTrace + "-" + clientSpan + "-01"
	unsampledTP := "00-" + clientTrace + "-" + clientSpan + "-00"
	cases := []struct {
		name    string
		tracing string // "" disables tracing; else the sample ratio
		sent    string // the client's traceparent, "" for none
		// want: "same" (passed unchanged), "none" (no traceparent),
		// "attempt" (sampled, parent is the attempt span), "unsampled-new"
		// (a new trace id, sampled flag off)
		want      string
		wantSpans int
	}{
		{"off, passes a traceparent unchanged", "", sampledTP, "same", 0},
		{"off, adds none", "", "", "none", 0},
		{"sampled parent is continued at ratio 0", "0", sampledTP, "attempt", 2},
		{"unsampled parent is passed on at ratio 1", "1", unsampledTP, "same", 0},
		{"no parent at ratio 0 gets an unsampled traceparent", "0", "", "unsampled-new", 0},
		{"invalid parent at ratio 0 is replaced", "0", "00-" + strings.ToUpper(clientTrace) + "-" + clientSpan + "-01", "unsampled-new", 0},
		{"no parent at ratio 1 starts a trace", "1", "", "attempt", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recv := otlptest.Start(t)
			u := testkit.Start(t, testkit.OK)
			cfg := oneTarget("", u.URL)
			if tc.tracing != "" {
				cfg = tracingSection(recv, tc.tracing) + cfg
			}
			h := startGateway(t, cfg)
			hdr := map[string]string{"Tracestate": "vendor=abc"}
			if tc.sent != "" {
				hdr["Traceparent"] = tc.sent
			}
			if resp, _, err := h.do("GET", "/p", nil, hdr); err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET: %v %v", resp, err)
			}
			got := u.LastRequest()
			if vals := got.Values("Traceparent"); len(vals) > 1 {
				t.Fatalf("upstream got %d traceparent headers: %q", len(vals), vals)
			}
			// A tracestate belongs to the trace of the traceparent it came
			// with: it is dropped when the gateway starts a new trace.
			wantTS := "vendor=abc"
			if tc.want == "unsampled-new" || (tc.want == "attempt" && tc.sent == "") {
				wantTS = ""
			}
			if ts := got.Get("Tracestate"); ts != wantTS {
				t.Errorf("tracestate upstream = %q, want %q", ts, wantTS)
			}
			tp := got.Get("Traceparent")
			var spans []otlptest.Span
			if tc.tracing != "" {
				h.flushSpans()
				if tc.wantSpans > 0 {
					recv.WaitSpans(t, tc.wantSpans, 5*time.Second)
				}
				time.Sleep(50 * time.Millisecond) // nothing more may arrive
				spans = recv.Spans()
			}
			if len(spans) != tc.wantSpans {
				t.Fatalf("%d spans exported, want %d: %+v", len(spans), tc.wantSpans, spans)
			}
			switch tc.want {
			case "same":
				if tp != tc.sent {
					t.Errorf("upstream traceparent = %q, want %q unchanged", tp, tc.sent)
				}
			case "none":
				if tp != "" {
					t.Errorf("upstream traceparent = %q, want none", tp)
				}
			case "unsampled-new":
				tid, _, flags := splitTraceParent(t, tp)
				if flags != "00" || tid == clientTrace || tid == strings.Repeat("0", 32) {
					t.Errorf("upstream traceparent = %q, want a new trace with the sampled flag off", tp)
				}
			case "attempt":
				srv := one(t, spans, tracepb.Span_SPAN_KIND_SERVER)
				att := one(t, spans, tracepb.Span_SPAN_KIND_CLIENT)
				tid, pid, flags := splitTraceParent(t, tp)
				if tid != srv.TraceID || pid != att.SpanID || flags != "01" {
					t.Errorf("upstream traceparent = %q, want trace %s, parent %s, sampled", tp, srv.TraceID, att.SpanID)
				}
				if tc.sent != "" {
					if srv.TraceID != clientTrace || srv.ParentSpanID != clientSpan {
						t.Errorf("server span %s parent %s, want it to continue %s parent %s", srv.TraceID, srv.ParentSpanID, clientTrace, clientSpan)
					}
					if srv.TraceState != "vendor=abc" {
						t.Errorf("server span tracestate = %q, want the client's", srv.TraceState)
					}
				}
			}
		})
	}
}

// TestTracingReload: the tracer is rebuilt only when the tracing settings
// change, and a retired tracer's spans are flushed.
func TestTracingReload(t *testing.T) {
	recv := otlptest.Start(t)
	u := testkit.Start(t, testkit.OK)
	h := startGateway(t, oneTarget("", u.URL))
	if h.app.Gateway().Tracer() != nil {
		t.Fatal("tracing is on by default")
	}
	reload := func(cfg string) {
		t.Helper()
		h.rewrite(cfg)
		if err := h.app.Reload(); err != nil {
			t.Fatalf("reload: %v", err)
		}
	}
	reload(tracingSection(recv, "1") + oneTarget("", u.URL))
	first := h.app.Gateway().Tracer()
	if first == nil {
		t.Fatal("enabling tracing on reload left it off")
	}
	h.get("/a")
	reload(tracingSection(recv, "1") + oneTarget("retries: 1", u.URL))
	if h.app.Gateway().Tracer() != first {
		t.Error("a reload that left tracing alone rebuilt the tracer")
	}
	reload(tracingSection(recv, "0.5") + oneTarget("retries: 1", u.URL))
	if tr := h.app.Gateway().Tracer(); tr == first || tr == nil {
		t.Error("changing sample_ratio did not rebuild the tracer")
	}
	// The retired tracer flushes its span of /a without being asked.
	spans := recv.WaitSpans(t, 2, 10*time.Second)
	if srv := one(t, spans, tracepb.Span_SPAN_KIND_SERVER); srv.Attrs["url.path"] != "/a" {
		t.Errorf("flushed span is for %v", srv.Attrs["url.path"])
	}
	reload(oneTarget("", u.URL))
	if h.app.Gateway().Tracer() != nil {
		t.Error("disabling tracing on reload left it on")
	}
	// A bad tracing section is rejected whole.
	h.rewrite(tracingSection(recv, "2") + oneTarget("", u.URL))
	if err := h.app.Reload(); err == nil || !strings.Contains(err.Error(), "telemetry.tracing.sample_ratio") {
		t.Errorf("reload with sample_ratio 2: %v", err)
	}
}

// TestTracingShutdownFlushes: spans still buffered are exported when the
// node shuts down.
func TestTracingShutdownFlushes(t *testing.T) {
	recv := otlptest.Start(t)
	u := testkit.Start(t, testkit.OK)
	h := startGateway(t, tracingSection(recv, "1")+oneTarget("", u.URL))
	h.get("/bye")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(recv.Spans()); n != 2 {
		t.Errorf("%d spans exported by the end of Shutdown, want 2", n)
	}
}
