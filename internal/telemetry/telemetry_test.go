package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/store"
)

func TestBufferedWriterFlushesByTime(t *testing.T) {
	var out lockedBuf
	w := NewBufferedWriter(&out, 4096, 50*time.Millisecond)
	defer w.Close()
	w.Write([]byte("line\n"))
	if out.String() != "" {
		t.Fatal("wrote through before the interval")
	}
	deadline := time.Now().Add(2 * time.Second)
	for out.String() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if out.String() != "line\n" {
		t.Fatalf("after the interval: %q", out.String())
	}
}

func TestBufferedWriterCloseFlushes(t *testing.T) {
	var out lockedBuf
	w := NewBufferedWriter(&out, 4096, time.Hour)
	w.Write([]byte("a\n"))
	w.Close()
	w.Close() // idempotent
	if out.String() != "a\n" {
		t.Fatalf("got %q", out.String())
	}
}

func TestAccessLogLine(t *testing.T) {
	var out bytes.Buffer
	al := NewAccessLog(&out)
	var x exchange.Exchange
	x.Reset()
	x.ID, x.Start, x.Method, x.Host, x.Path = "id-1", time.Now(), "GET", "api", "/p"
	x.ClientIP = netip.MustParseAddr("192.0.2.1")
	x.Route, x.Upstream, x.Status, x.Code = "r", "u", 502, gwerr.UpstreamReset
	x.Cause = errors.New("EOF")
	x.AddAttempt(exchange.Attempt{Target: "http://a:1", Code: gwerr.UpstreamReset, Error: "read: \"reset\"\n", Duration: 1500 * time.Microsecond})
	x.AddAttempt(exchange.Attempt{Target: "http://b:1", Status: 200, Reused: true})
	al.Log(&x)
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	for k, v := range map[string]any{"request_id": "id-1", "route": "r", "upstream": "u", "status": 502.0, "code": "upstream_reset", "client_ip": "192.0.2.1", "error": "EOF"} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	atts := m["attempts"].([]any)
	a0, a1 := atts[0].(map[string]any), atts[1].(map[string]any)
	if a0["code"] != "upstream_reset" || a0["error"] != "read: \"reset\"\n" || a0["duration_ms"] != 1.5 {
		t.Errorf("attempt 0 = %v", a0)
	}
	if a1["status"] != 200.0 || a1["reused"] != true {
		t.Errorf("attempt 1 = %v", a1)
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Error("not one line")
	}
	if m["level"] != "INFO" || m["msg"] != "request" || m["time"] == nil {
		t.Errorf("slog-shaped prefix missing: %v", m)
	}
	if NewAccessLog(nil).Enabled() {
		t.Error("nil writer must disable the log")
	}
}

func BenchmarkAccessLogLine(b *testing.B) {
	var x exchange.Exchange
	x.Reset()
	x.ID, x.Start, x.Method, x.Host, x.Path = "0123456789abcdef0123456789abcdef", time.Now(), "GET", "api.example.com", "/orders/42"
	x.ClientIP = netip.MustParseAddr("192.0.2.1")
	x.Route, x.Upstream, x.Status = "orders", "orders", 200
	x.AddAttempt(exchange.Attempt{Target: "http://10.0.0.5:9001", Status: 200, Duration: 1500 * time.Microsecond, Reused: true})
	al := NewAccessLog(io.Discard)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		al.Log(&x)
	}
}

type memSink struct {
	mu      sync.Mutex
	entries []store.RequestLogEntry
	fail    bool
}

func (m *memSink) InsertRequestLogs(_ context.Context, es []store.RequestLogEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("database down")
	}
	m.entries = append(m.entries, es...)
	return nil
}

func (m *memSink) PruneRequestLogs(context.Context, time.Time, int) (int64, error) { return 0, nil }

func (m *memSink) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// TestRequestLogWriterBatchesDropsAndCloses: entries are written in
// batches; a full queue drops and counts instead of blocking; Close writes
// what is queued; Record after Close is safe.
func TestRequestLogWriterBatchesDropsAndCloses(t *testing.T) {
	sink := &memSink{}
	w := NewRequestLogWriter(sink, RequestLogOptions{QueueSize: 10, BatchSize: 4, FlushInterval: time.Hour})
	var x exchange.Exchange
	x.Reset()
	x.ID, x.Start = "r", time.Now()
	x.AddAttempt(exchange.Attempt{Target: "http://t", Code: gwerr.UpstreamReset, Duration: time.Millisecond})
	for i := 0; i < 8; i++ {
		w.Record(&x)
	}
	deadline := time.Now().Add(2 * time.Second)
	for sink.count() < 8 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if sink.count() != 8 {
		t.Fatalf("two full batches not written: %d", sink.count())
	}
	if got := sink.entries[0].Attempts; len(got) != 1 || got[0].Code != "upstream_reset" || got[0].DurationMS != 1 {
		t.Errorf("attempts = %+v", got)
	}
	sink.mu.Lock() // stall the writer: the queue fills, then drops
	for i := 0; i < 100; i++ {
		w.Record(&x)
	}
	sink.mu.Unlock()
	if _, dropped, _ := w.Stats(); dropped == 0 {
		t.Error("a full queue dropped nothing")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	written, dropped, _ := w.Stats()
	if int(written) != sink.count() || written+dropped != 108 {
		t.Errorf("written %d dropped %d (sink %d); every entry must be written or counted", written, dropped, sink.count())
	}
	w.Record(&x) // after Close: no panic
}

// TestRequestLogSamplesSuccessesNotFailures: past the success budget,
// successes are sampled out; failures are always recorded.
func TestRequestLogSamplesSuccessesNotFailures(t *testing.T) {
	sink := &memSink{}
	w := NewRequestLogWriter(sink, RequestLogOptions{SuccessPerSecond: 5, FlushInterval: 10 * time.Millisecond})
	var ok, bad exchange.Exchange
	ok.Reset()
	ok.Status, ok.Start = 200, time.Now()
	bad.Reset()
	bad.Status, bad.Code, bad.Start = 502, gwerr.UpstreamReset, time.Now()
	for i := 0; i < 50; i++ {
		w.Record(&ok)
		w.Record(&bad)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	w.Close(ctx)
	var oks, bads int
	for _, e := range sink.entries {
		if e.Status == 200 {
			oks++
		} else {
			bads++
		}
	}
	// The 50 successes span at most two one-second windows.
	if bads != 50 || oks < 5 || oks > 10 || int(w.Sampled()) != 50-oks {
		t.Fatalf("recorded %d successes and %d failures, sampled %d", oks, bads, w.Sampled())
	}
}

// lockedBuf is a goroutine-safe buffer for captured logs.
type lockedBuf = testkit.SyncBuffer
