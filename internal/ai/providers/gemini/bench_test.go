package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

func BenchmarkEncodeRequest(b *testing.B) {
	p := fuzzProvider(b)
	c := call(goldenRequests()["tools_named_choice"])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.encodeRequest(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeResponse(b *testing.B) {
	p := fuzzProvider(b)
	raw, err := os.ReadFile(filepath.Join("testdata", "response", "parallel_calls.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var w wireResponse
		if err := json.Unmarshal(raw, &w); err != nil {
			b.Fatal(err)
		}
		if _, err := p.decodeResponse("m", &w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStream decodes a recorded 3-chunk text stream; the metric
// events/op says how many events one pass yields.
func BenchmarkStream(b *testing.B) {
	p := fuzzProvider(b)
	raw, err := os.ReadFile(filepath.Join("testdata", "stream", "text.sse"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	n := 0
	for b.Loop() {
		s := p.newStream(context.Background(), "m", io.NopCloser(bytes.NewReader(raw)))
		for {
			if _, err := s.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "events/op")
}

// TestStreamMemory measures what an open stream holds once it is past its
// first event (the adapter's share; the HTTP connection's buffers are the
// transport's). The bound is generous: the gateway's budget per open
// stream is 20 KB in all.
func TestStreamMemory(t *testing.T) {
	p := fuzzProvider(t)
	raw, err := os.ReadFile(filepath.Join("testdata", "stream", "tools.sse"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	streams := make([]llm.Stream, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range streams {
		s := p.newStream(context.Background(), "m", io.NopCloser(bytes.NewReader(raw)))
		if _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
		streams[i] = s
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes held per open stream", per)
	if per > 16<<10 {
		t.Errorf("%d bytes per open stream", per)
	}
	runtime.KeepAlive(streams)
}

func BenchmarkEncodeTextRequest(b *testing.B) {
	p := fuzzProvider(b)
	c := call(goldenRequests()["system_multiturn"])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.encodeRequest(c); err != nil {
			b.Fatal(err)
		}
	}
}
