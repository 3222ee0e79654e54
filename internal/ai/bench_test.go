package ai_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/bench/llmmock"
	"github.com/sluicegw/sluice/internal/gatewaytest"
)

// benchEnv is a gateway (real listeners, access and request logs off, no
// plugins) in front of the fast mock provider, and a keep-alive client.
type benchEnv struct {
	mock    *llmmock.Mock
	mockURL string
	g       *gatewaytest.Gateway
	client  *http.Client
}

func startBench(b *testing.B, mock *llmmock.Mock) *benchEnv {
	b.Helper()
	srv := httptest.NewServer(mock)
	b.Cleanup(srv.Close)
	g := gatewaytest.Start(b, fmt.Sprintf(`
log: { level: warn, access: "off", request_log: { enabled: false } }
upstreams:
  - name: mock
    targets: [{ url: %q }]
routes:
  - name: ai
    match: { paths: ["/v1"] }
    ai: {}
  - name: proxy
    match: { paths: ["/proxy"] }
    upstream: mock
ai:
  providers:
    - { name: oa, type: openai, base_url: %q, api_keys: ["sk-oa-1"] }
    - { name: an, type: anthropic, base_url: %q, api_keys: ["sk-an-1"] }
  models:
    - { name: gpt, targets: [{ provider: oa, model: gpt-4o }] }
    - { name: claude, targets: [{ provider: an, model: claude-sonnet-4-5 }] }
  prices:
    "oa/gpt-4o": { input: 2.5, output: 10 }
    "an/claude-sonnet-4-5": { input: 3, output: 15 }
`, srv.URL, srv.URL+"/v1", srv.URL))
	tr := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	b.Cleanup(tr.CloseIdleConnections)
	return &benchEnv{mock: mock, mockURL: srv.URL, g: g, client: c}
}

// benchCall is one request: where it goes, with what, and how to tell a
// complete answer.
type benchCall struct {
	url  string
	hdr  map[string]string
	body []byte
	end  []byte // a complete answer ends with this (after trimming)
}

func (c benchCall) do(client *http.Client, buf *bytes.Buffer) error {
	req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(c.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.HasSuffix(bytes.TrimSpace(buf.Bytes()), c.end) {
		return fmt.Errorf("status %d, answer %.300q", resp.StatusCode, buf.String())
	}
	return nil
}

const (
	benchSystem = "You are a terse assistant."
	benchUser   = "Say something short about gateways."
)

// openAIBody is an OpenAI Chat Completions request.
func openAIBody(model string, stream bool) []byte {
	s := ""
	if stream {
		s = `,"stream":true,"stream_options":{"include_usage":true}`
	}
	return fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"system","content":%q},{"role":"user","content":%q}],"max_tokens":64,"temperature":0.2%s}`,
		model, benchSystem, benchUser, s)
}

// anthropicBody is the Anthropic Messages request a client would send the
// provider directly for the same conversation.
func anthropicBody(model string, stream bool) []byte {
	s := ""
	if stream {
		s = `,"stream":true`
	}
	return fmt.Appendf(nil, `{"model":%q,"max_tokens":64,"temperature":0.2,"system":%q,"messages":[{"role":"user","content":%q}]%s}`,
		model, benchSystem, benchUser, s)
}

// benchPairs are the measured (client format → provider) pairs: the call
// through the gateway and the equivalent call straight to the mock.
func benchPairs(e *benchEnv, stream bool) []struct {
	name            string
	gateway, direct benchCall
} {
	oaEnd, anEnd := []byte(`"usage":{"prompt_tokens":12,"completion_tokens":20,"total_tokens":32}}`), []byte(`"output_tokens":20}}`)
	gwEnd := []byte(`}`)
	if stream {
		oaEnd, anEnd, gwEnd = []byte("data: [DONE]"), []byte(`data: {"type":"message_stop"}`), []byte("data: [DONE]")
	}
	anHdr := map[string]string{"x-api-key": "sk-an-1", "anthropic-version": "2023-06-01"}
	oaHdr := map[string]string{"Authorization": "Bearer sk-oa-1"}
	gw := e.g.URL + "/v1/chat/completions"
	return []struct {
		name            string
		gateway, direct benchCall
	}{
		// The floor: the same OpenAI request through a plain proxy route
		// (no AI), the cost of the extra hop alone.
		{"proxy-only",
			benchCall{url: e.g.URL + "/proxy/v1/chat/completions", hdr: oaHdr, body: openAIBody("gpt-4o", stream), end: oaEnd},
			benchCall{url: e.mockURL + "/proxy/v1/chat/completions", hdr: oaHdr, body: openAIBody("gpt-4o", stream), end: oaEnd}},
		{"openai-openai",
			benchCall{url: gw, body: openAIBody("gpt", stream), end: gwEnd},
			benchCall{url: e.mockURL + "/v1/chat/completions", hdr: oaHdr, body: openAIBody("gpt-4o", stream), end: oaEnd}},
		{"openai-anthropic",
			benchCall{url: gw, body: openAIBody("claude", stream), end: gwEnd},
			benchCall{url: e.mockURL + "/v1/messages", hdr: anHdr, body: anthropicBody("claude-sonnet-4-5", stream), end: anEnd}},
	}
}

// sample makes n sequential calls and returns their latencies and the
// heap allocations (count and bytes) per call.
func sample(b *testing.B, client *http.Client, c benchCall, n int) (lat []time.Duration, allocs, bytesPer float64) {
	b.Helper()
	var buf bytes.Buffer
	lat = make([]time.Duration, n)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := range n {
		start := time.Now()
		if err := c.do(client, &buf); err != nil {
			b.Fatalf("%s: %v", c.url, err)
		}
		lat[i] = time.Since(start)
	}
	runtime.ReadMemStats(&m1)
	slices.Sort(lat)
	return lat, float64(m1.Mallocs-m0.Mallocs) / float64(n), float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n)
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// BenchmarkAIGateway measures what the gateway adds to a chat request:
// each sub-benchmark makes b.N sequential calls straight to the mock
// provider and b.N through the gateway, in alternating blocks of 100 (the
// gateway's are what ns/op counts, client and mock included). Custom metrics:
// p50-µs/p99-µs through the gateway, direct-p50-µs/direct-p99-µs, the
// overhead (gateway minus direct, per percentile) and gw-allocs/op /
// gw-B/op, the allocations of the gateway path minus those of the direct
// path (the gateway's own share, both of its connections included).
//
//	go test -run '^$' -bench AIGateway -benchtime 2000x ./internal/ai/
func BenchmarkAIGateway(b *testing.B) {
	e := startBench(b, llmmock.New(llmmock.Config{Chunks: 20, FlushEach: true}))
	for _, stream := range []bool{false, true} {
		mode := "unary"
		if stream {
			mode = "stream"
		}
		for _, p := range benchPairs(e, stream) {
			b.Run(p.name+"/"+mode, func(b *testing.B) {
				// Warm both paths (connections, pools).
				sample(b, e.client, p.direct, 50)
				sample(b, e.client, p.gateway, 50)
				// Blocks of direct and gateway calls alternate, so that a
				// drift of the machine (frequency, other load) weighs on
				// both alike; only the gateway's calls are timed.
				b.ResetTimer()
				var direct, gw []time.Duration
				var dAllocs, dBytes, gAllocs, gBytes float64
				for left := b.N; left > 0; {
					n := min(left, 100)
					left -= n
					b.StopTimer()
					lat, allocs, bytes := sample(b, e.client, p.direct, n)
					direct, dAllocs, dBytes = append(direct, lat...), dAllocs+allocs*float64(n), dBytes+bytes*float64(n)
					b.StartTimer()
					lat, allocs, bytes = sample(b, e.client, p.gateway, n)
					gw, gAllocs, gBytes = append(gw, lat...), gAllocs+allocs*float64(n), gBytes+bytes*float64(n)
				}
				b.StopTimer()
				slices.Sort(direct)
				slices.Sort(gw)
				dAllocs, dBytes, gAllocs, gBytes = dAllocs/float64(b.N), dBytes/float64(b.N), gAllocs/float64(b.N), gBytes/float64(b.N)
				b.ReportMetric(us(pct(gw, 0.50)), "p50-µs")
				b.ReportMetric(us(pct(gw, 0.99)), "p99-µs")
				b.ReportMetric(us(pct(direct, 0.50)), "direct-p50-µs")
				b.ReportMetric(us(pct(direct, 0.99)), "direct-p99-µs")
				b.ReportMetric(us(pct(gw, 0.50)-pct(direct, 0.50)), "overhead-p50-µs")
				b.ReportMetric(us(pct(gw, 0.99)-pct(direct, 0.99)), "overhead-p99-µs")
				b.ReportMetric(gAllocs-dAllocs, "gw-allocs/op")
				b.ReportMetric(gBytes-dBytes, "gw-B/op")
			})
		}
	}
}

// BenchmarkAIOpenStreams measures the memory an open stream costs: N
// streams are held open mid-answer (the mock holds each after its first
// events, the clients have read the first chunk), first straight to the
// mock, then through the gateway; heap and stack in use after a GC, per
// stream. gw-KB/stream is the gateway's share (through-gateway minus
// direct; split into gw-heap-KB and gw-stack-KB); total-KB/stream counts
// client, gateway and mock. AIBENCH_HEAP_PROFILE=file writes the heap
// profile of the streams held through the gateway, AIBENCH_GOROUTINES=file
// their goroutines' stacks.
//
//	go test -run '^$' -bench AIOpenStreams -benchtime 1x ./internal/ai/
func BenchmarkAIOpenStreams(b *testing.B) {
	const n = 1000
	if os.Getenv("AIBENCH_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 1 // every allocation, for an exact account
	}
	mock := llmmock.New(llmmock.Config{Chunks: 20, FlushEach: true})
	mock.Hold(3) // role/message_start and one or two text events
	e := startBench(b, mock)
	b.Cleanup(mock.Release)
	for _, p := range benchPairs(e, true) {
		b.Run(p.name, func(b *testing.B) {
			holdStreams(b, e, p.gateway, n) // warm: pools, stacks, connections
			kb := func(a, b uint64) float64 { return (float64(a) - float64(b)) / n / 1024 }
			for range b.N {
				base := inUse()
				direct := holdStreams(b, e, p.direct, n)
				gw := holdStreams(b, e, p.gateway, n)
				b.ReportMetric(kb(gw.heap+gw.stack, direct.heap+direct.stack), "gw-KB/stream")
				b.ReportMetric(kb(gw.heap, direct.heap), "gw-heap-KB/stream")
				b.ReportMetric(kb(gw.stack, direct.stack), "gw-stack-KB/stream")
				b.ReportMetric(kb(gw.heap+gw.stack, base.heap+base.stack), "total-KB/stream")
				b.ReportMetric(kb(direct.heap+direct.stack, base.heap+base.stack), "direct-KB/stream")
				b.ReportMetric(float64(gw.goroutines-direct.goroutines)/n, "gw-goroutines/stream")
			}
		})
	}
}

// usage is the memory in use after a GC: live heap objects and goroutine
// stacks, in bytes.
type usage struct {
	heap, stack uint64
	goroutines  int
}

func inUse() usage {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return usage{heap: m.HeapAlloc, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

// holdStreams opens n streams of c at once, waits until the mock holds
// every one of them and every client has its first chunk, measures the
// memory in use, then lets them finish.
func holdStreams(b *testing.B, e *benchEnv, c benchCall, n int) usage {
	b.Helper()
	tr := &http.Transport{DisableKeepAlives: true, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	release := make(chan struct{})
	errs := make(chan error, n)
	got := make(chan struct{}, n)
	for range n {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range c.hdr {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			first := make([]byte, 1)
			if _, err := io.ReadFull(resp.Body, first); err != nil || resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("status %d, err %v", resp.StatusCode, err)
				return
			}
			got <- struct{}{}
			<-release
			_, err = io.Copy(io.Discard, resp.Body)
			errs <- err
		}()
	}
	deadline := time.After(60 * time.Second)
	for range n {
		select {
		case <-got:
		case err := <-errs:
			b.Fatalf("opening streams: %v", err)
		case <-deadline:
			b.Fatal("the streams did not open within 60s")
		}
	}
	for e.mock.Held.Load() < int64(n) {
		time.Sleep(10 * time.Millisecond)
	}
	mem := inUse()
	if strings.HasPrefix(c.url, e.g.URL) {
		if path := os.Getenv("AIBENCH_HEAP_PROFILE"); path != "" {
			writeProfile(b, "heap", 0, path)
		}
		if path := os.Getenv("AIBENCH_GOROUTINES"); path != "" {
			writeProfile(b, "goroutine", 2, path)
		}
	}

	// Let the held streams finish: hand the mock a fresh hold for the
	// next round only after every one of these has ended.
	close(release)
	e.mock.Release()
	for range n {
		if err := <-errs; err != nil && !strings.Contains(err.Error(), "EOF") {
			b.Fatalf("finishing streams: %v", err)
		}
	}
	return mem
}

// writeProfile writes a profile of the held streams to path: the live
// heap (AIBENCH_HEAP_PROFILE: where their memory goes) or the goroutines'
// stacks (AIBENCH_GOROUTINES, as text: where each waits).
func writeProfile(b *testing.B, name string, debug int, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup(name).WriteTo(f, debug); err != nil {
		b.Fatal(err)
	}
}
