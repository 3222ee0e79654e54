package app

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/sluicegw/sluice/internal/testkit"
)

// TestChunkedStreamNotBuffered: chunks reach the client as the upstream
// sends them, not at the end.
func TestChunkedStreamNotBuffered(t *testing.T) {
	u := testkit.Start(t, testkit.Drip(4, 300*time.Millisecond))
	h := startGateway(t, oneTarget("", u.URL))
	start := time.Now()
	resp, err := h.client.Get(h.url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	first := time.Since(start)
	if n == 0 {
		t.Fatalf("first read: %v", err)
	}
	if first > 800*time.Millisecond {
		t.Errorf("first chunk after %v; the stream was buffered (whole stream takes >= 1.2s)", first)
	}
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("rest: %v", err)
	}
	if total := time.Since(start); total < 900*time.Millisecond {
		t.Errorf("stream finished after %v, faster than the upstream sent it", total)
	}
	_ = rest
}

// TestSSEEventsArriveOneByOne reads server-sent events through the gateway
// and checks each arrives separately in time.
func TestSSEEventsArriveOneByOne(t *testing.T) {
	events := []string{"data: one\n\n", "data: two\n\n", "data: three\n\n"}
	u := testkit.Start(t, testkit.SSE(events, 300*time.Millisecond))
	h := startGateway(t, oneTarget("", u.URL))
	resp, err := h.client.Get(h.url + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type = %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	var at []time.Time
	for len(at) < len(events) {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d events: %v", len(at), err)
		}
		if strings.HasPrefix(line, "data:") {
			at = append(at, time.Now())
		}
	}
	if gap := at[2].Sub(at[0]); gap < 300*time.Millisecond {
		t.Errorf("events arrived together (first to last %v): the stream was buffered", gap)
	}
}

// TestWebSocketProxied: an upgrade passes through and frames echo back.
func TestWebSocketProxied(t *testing.T) {
	u := testkit.Start(t, testkit.WebSocketEcho)
	h := startGateway(t, oneTarget("", u.URL))
	origin := "http://localhost/"
	wsURL := "ws://" + h.app.ProxyAddr() + "/ws"
	ws, err := websocket.Dial(wsURL, "", origin)
	if err != nil {
		t.Fatalf("dial through gateway: %v", err)
	}
	defer ws.Close()
	for _, msg := range []string{"hello", strings.Repeat("z", 70000)} {
		if err := websocket.Message.Send(ws, msg); err != nil {
			t.Fatal(err)
		}
		var got string
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := websocket.Message.Receive(ws, &got); err != nil {
			t.Fatal(err)
		}
		if got != msg {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
		}
	}
}

// TestClientDisconnectCancelsUpstream: when the client goes away while
// the upstream is slow, the gateway stops waiting and logs client_closed.
func TestClientDisconnectLogged(t *testing.T) {
	u := testkit.Start(t, testkit.Hang)
	h := startGateway(t, oneTarget("timeouts: { read: 30s }", u.URL))
	req, _ := http.NewRequest("GET", h.url+"/hang", nil)
	req.Header.Set("X-Request-Id", "disconnect-1")
	client := &http.Client{Timeout: 300 * time.Millisecond}
	if _, err := client.Do(req); err == nil {
		t.Fatal("expected a client timeout")
	}
	line := h.logFor("disconnect-1")
	if line["code"] != "client_closed" {
		t.Errorf("code = %v", line["code"])
	}
}

// TestShutdownClosesWebSockets: a WebSocket outlives the HTTP drain, so
// shutdown closes it last instead of leaving it open.
func TestShutdownClosesWebSockets(t *testing.T) {
	u := testkit.Start(t, testkit.WebSocketEcho)
	h := startGateway(t, oneTarget("", u.URL))
	ws, err := websocket.Dial("ws://"+h.app.ProxyAddr()+"/ws", "", "http://localhost/")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := websocket.Message.Send(ws, "before"); err != nil {
		t.Fatal(err)
	}
	var got string
	websocket.Message.Receive(ws, &got)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	h.app.Shutdown(ctx)
	ws.SetReadDeadline(time.Now().Add(3 * time.Second))
	if err := websocket.Message.Receive(ws, &got); err == nil {
		t.Fatal("the WebSocket is still open after shutdown")
	} else if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
		t.Fatal("the WebSocket was left open (read timed out) after shutdown")
	}
}
