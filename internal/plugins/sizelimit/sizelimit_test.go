package sizelimit_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/plugin"
	_ "github.com/sluicegw/sluice/internal/plugins/cors"
	"github.com/sluicegw/sluice/internal/plugins/sizelimit"
	"github.com/sluicegw/sluice/internal/testkit"
)

// node starts a gateway with a global limit of 1KiB and a route /big
// whose own config raises it to 64KiB.
func node(t *testing.T) (*gatewaytest.Gateway, *testkit.Upstream) {
	t.Helper()
	u := testkit.Start(t, testkit.Echo)
	g := gatewaytest.Start(t, `upstreams:
  - name: u
    targets: [{ url: "`+u.URL+`" }]
routes:
  - name: small
    match: { paths: ["/small"] }
    upstream: u
  - name: big
    match: { paths: ["/big"] }
    upstream: u
    plugins:
      request-size-limit: { max_bytes: 64KiB }
plugins:
  request-size-limit: { max_bytes: 1024 }
  cors: { origins: ["https://app.example.com"] }
`)
	return g, u
}

// chunkedReader hides a body's length so the client sends it chunked.
type chunkedReader struct{ r io.Reader }

func (c chunkedReader) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestSizeLimitThroughGateway(t *testing.T) {
	cases := []struct {
		name    string
		path    string
		size    int
		chunked bool
		want    int
		limit   int
	}{
		{"declared length under the limit", "/small", 1000, false, 200, 1024},
		{"declared length at the limit", "/small", 1024, false, 200, 1024},
		{"declared length over the limit", "/small", 1025, false, 413, 1024},
		{"chunked under the limit", "/small", 1000, true, 200, 1024},
		{"chunked at the limit", "/small", 1024, true, 200, 1024},
		{"chunked over the limit", "/small", 8 << 10, true, 413, 1024},
		{"route limit overrides global", "/big", 8 << 10, false, 200, 64 << 10},
		{"route limit overrides global, chunked", "/big", 60 << 10, true, 200, 64 << 10},
		{"route limit still enforced", "/big", 64<<10 + 1, false, 413, 64 << 10},
		{"route limit still enforced, chunked", "/big", 65 << 10, true, 413, 64 << 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, u := node(t)
			payload := bytes.Repeat([]byte("x"), tc.size)
			var body io.Reader = bytes.NewReader(payload)
			if tc.chunked {
				body = chunkedReader{body}
			}
			resp, rb := g.Do("POST", tc.path, body, nil)
			if tc.want == 413 {
				p := gatewaytest.CheckProblem(t, resp, rb, 413, "payload_too_large")
				if line := g.LogFor(p.RequestID); line["status"] != 413.0 || line["code"] != "payload_too_large" {
					t.Errorf("access log has status %v code %v, want 413 payload_too_large", line["status"], line["code"])
				}
				if !tc.chunked && u.Hits() != 0 {
					t.Errorf("a declared over-size body reached the upstream (%d hits)", u.Hits())
				}
				if tc.chunked {
					checkTruncated(t, u, tc.size, tc.limit, false)
				}
				return
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, rb)
			}
			got := u.LastRequest()
			if !bytes.Equal(got.Body, payload) || got.Chunked != tc.chunked {
				t.Errorf("upstream got %d bytes (chunked %v), want %d (chunked %v)", len(got.Body), got.Chunked, tc.size, tc.chunked)
			}
		})
	}
}

// checkTruncated waits for the upstream to record the request the gateway
// abandoned and checks that it got no more than limit bytes of the body,
// never the whole body. When the gateway gave up before flushing the
// request head the upstream records nothing; mustSee rules that out.
func checkTruncated(t *testing.T, u *testkit.Upstream, size, limit int, mustSee bool) {
	t.Helper()
	// The gateway closes the upstream connection before it answers the
	// client, so the upstream's record follows within moments.
	deadline := time.Now().Add(500 * time.Millisecond)
	for len(u.Requests()) == 0 {
		if time.Now().After(deadline) {
			if mustSee {
				t.Fatal("the upstream recorded no request")
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := u.LastRequest()
	if len(got.Body) > limit || len(got.Body) >= size {
		t.Errorf("upstream received %d bytes of a %d-byte body over a %d-byte limit", len(got.Body), size, limit)
	}
}

// TestDeclaredOverLimitNoContinue: a client that asks for 100-continue is
// refused before it sends the body.
func TestDeclaredOverLimitNoContinue(t *testing.T) {
	g, u := node(t)
	c, err := net.Dial("tcp", g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || resp.Header.Get("Sluice-Error") != "payload_too_large" {
		t.Errorf("first response %d %q, want 413 payload_too_large", resp.StatusCode, resp.Header.Get("Sluice-Error"))
	}
	if u.Hits() != 0 {
		t.Error("the upstream was contacted")
	}
}

// TestChunkedOverLimitRawTCP sends a chunked body in small chunks over raw
// TCP and checks what the client and the upstream see: a complete 413
// answer that passed the response plugins (CORS here), and a truncated
// request.
func TestChunkedOverLimitRawTCP(t *testing.T) {
	g, u := node(t)
	var b strings.Builder
	b.WriteString("POST /small HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example.com\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
	for i := 0; i < 40; i++ {
		b.WriteString("40\r\n" + strings.Repeat("y", 64) + "\r\n") // 40 × 64 = 2560 bytes
	}
	b.WriteString("0\r\n\r\n")
	head, body, err := testkit.RawRequest(t, g.Addr, b.String())
	if err != nil {
		t.Fatalf("response %q: %v", head, err)
	}
	if !strings.HasPrefix(head, "HTTP/1.1 413") || !strings.Contains(head, "Sluice-Error: payload_too_large") {
		t.Fatalf("head %q body %s", head, body)
	}
	for _, want := range []string{"Access-Control-Allow-Origin: https://app.example.com", "X-Request-Id: ", "Server-Timing: gateway;dur="} {
		if !strings.Contains(head, want) {
			t.Errorf("head lacks %q: %q", want, head)
		}
	}
	if !strings.Contains(string(body), `"code":"payload_too_large"`) {
		t.Errorf("body %s", body)
	}
	checkTruncated(t, u, 2560, 1024, true)
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"missing", map[string]any{}, "max_bytes is required"},
		{"negative", map[string]any{"max_bytes": -1}, "max_bytes"},
		{"bad unit", map[string]any{"max_bytes": "1 parsec"}, "not a size"},
		{"unknown key", map[string]any{"max_bytes": 1, "allowed_payload_size": 1}, "unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sizelimit.New(tc.cfg, plugin.Env{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
