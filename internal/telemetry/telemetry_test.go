package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

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
