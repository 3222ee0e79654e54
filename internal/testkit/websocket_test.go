package testkit

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

func TestWebSocketAccept(t *testing.T) {
	// The example of RFC 6455 section 1.3.
	if got, want := WebSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Errorf("WebSocketAccept = %q, want %q", got, want)
	}
}

func TestWebSocketEcho(t *testing.T) {
	u := Start(t, WebSocketEcho)
	cfg, err := websocket.NewConfig("ws://"+u.Addr+"/socket", "http://"+u.Addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Protocol = []string{"chat"}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer ws.Close()
	_ = ws.SetDeadline(time.Now().Add(10 * time.Second))

	tests := []struct {
		name  string
		codec websocket.Codec
		msg   any
	}{
		{"text", websocket.Message, "hello"},
		{"binary", websocket.Message, []byte{0, 1, 2, 0xff}},
		{"large text", websocket.Message, string(bytes.Repeat([]byte("z"), 70000))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.codec.Send(ws, tt.msg); err != nil {
				t.Fatal(err)
			}
			switch want := tt.msg.(type) {
			case string:
				var got string
				if err := tt.codec.Receive(ws, &got); err != nil || got != want {
					t.Fatalf("echo of %d-byte text: %d bytes, %v", len(want), len(got), err)
				}
			case []byte:
				var got []byte
				if err := tt.codec.Receive(ws, &got); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("echo = %v, %v; want %v", got, err, want)
				}
			}
		})
	}
	if got := u.LastRequest().Get("Upgrade"); got != "websocket" {
		t.Errorf("recorded Upgrade = %q", got)
	}
}

func TestWebSocketEchoRefusesPlainRequest(t *testing.T) {
	u := Start(t, WebSocketEcho)
	status, _, err := get(t, u.Client(), u.URL+"/socket")
	if err != nil || status != http.StatusBadRequest {
		t.Fatalf("got %d, %v; want 400", status, err)
	}
}

// wsDial performs the handshake by hand and returns the connection.
func wsDial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != WebSocketAccept(key) {
		t.Fatalf("handshake answer %d, accept %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	return c, br
}

// clientFrame encodes one frame as a client sends it, masked unless told.
func clientFrame(b0 byte, payload []byte, masked bool) []byte {
	out := []byte{b0, byte(len(payload))}
	if !masked {
		return append(out, payload...)
	}
	out[1] |= 0x80
	mask := []byte{1, 2, 3, 4}
	out = append(out, mask...)
	for i, p := range payload {
		out = append(out, p^mask[i%4])
	}
	return out
}

func TestWebSocketEchoFrames(t *testing.T) {
	tests := []struct {
		name      string
		send      []byte
		want      []byte // the server's frame, unmasked
		wantClose bool   // the server closes the connection after it
	}{
		{"fragment keeps FIN and opcode", clientFrame(opText, []byte("par"), true), []byte{opText, 3, 'p', 'a', 'r'}, false},
		{"ping gets pong", clientFrame(0x80|opPing, []byte("hb"), true), []byte{0x80 | opPong, 2, 'h', 'b'}, false},
		{"close is echoed", clientFrame(0x80|opClose, []byte{0x03, 0xE8}, true), []byte{0x80 | opClose, 2, 0x03, 0xE8}, true},
		{"unmasked frame is a protocol error", clientFrame(0x80|opText, []byte("x"), false), []byte{0x80 | opClose, 2, 0x03, 0xEA}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := Start(t, WebSocketEcho)
			c, br := wsDial(t, u.Addr)
			if _, err := c.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(tt.want))
			if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("server sent % x, %v; want % x", got, err, tt.want)
			}
			if tt.wantClose {
				if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
					t.Errorf("after close: % x, %v; want a clean EOF", rest, err)
				}
			}
		})
	}
}
