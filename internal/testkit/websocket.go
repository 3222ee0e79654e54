package testkit

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// wsGUID is the key suffix of RFC 6455 section 1.3.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxFramePayload bounds one WebSocket frame the echo server accepts.
const maxFramePayload = 16 << 20

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// errWSProtocol marks a frame that breaks RFC 6455; the echo server answers
// it with close code 1002.
var errWSProtocol = errors.New("testkit: websocket protocol error")

// WebSocketAccept returns the Sec-WebSocket-Accept value for a client's
// Sec-WebSocket-Key.
func WebSocketAccept(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func serveWebSocket(x *exchange) bool {
	r := x.req
	key := r.Get("Sec-WebSocket-Key")
	if r.Method != http.MethodGet || key == "" ||
		!hasToken(r.Values("Connection"), "upgrade") ||
		!hasToken(r.Values("Upgrade"), "websocket") ||
		r.Get("Sec-WebSocket-Version") != "13" {
		x.keepAlive = false
		return x.respond(http.StatusBadRequest, nil, []byte("not a WebSocket upgrade\n"))
	}
	bw := x.s.bw
	fmt.Fprintf(bw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", WebSocketAccept(key))
	if offered := r.Get("Sec-WebSocket-Protocol"); offered != "" {
		first, _, _ := strings.Cut(offered, ",")
		fmt.Fprintf(bw, "Sec-WebSocket-Protocol: %s\r\n", strings.TrimSpace(first))
	}
	_, _ = bw.WriteString("\r\n")
	if bw.Flush() != nil {
		return false
	}
	for {
		f, err := readFrame(x.s.br)
		if err != nil {
			if errors.Is(err, errWSProtocol) {
				writeFrame(bw, true, opClose, []byte{0x03, 0xEA}) // 1002
				x.s.closeClean()
			}
			return false
		}
		switch f.opcode {
		case opContinuation, opText, opBinary:
			writeFrame(bw, f.fin, f.opcode, f.payload)
		case opPing:
			writeFrame(bw, true, opPong, f.payload)
		case opPong:
			continue
		case opClose:
			writeFrame(bw, true, opClose, f.payload)
			x.s.closeClean()
			return false
		default:
			writeFrame(bw, true, opClose, []byte{0x03, 0xEA})
			x.s.closeClean()
			return false
		}
		if bw.Flush() != nil {
			return false
		}
	}
}

type wsFrame struct {
	fin     bool
	opcode  byte
	payload []byte
}

// readFrame reads one client frame, which must be masked, and unmasks it.
func readFrame(br *bufio.Reader) (wsFrame, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return wsFrame{}, err
	}
	f := wsFrame{fin: hdr[0]&0x80 != 0, opcode: hdr[0] & 0x0F}
	if hdr[0]&0x70 != 0 || hdr[1]&0x80 == 0 {
		return f, fmt.Errorf("%w: reserved bits set or frame not masked", errWSProtocol)
	}
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if f.opcode >= opClose && (n > 125 || !f.fin) {
		return f, fmt.Errorf("%w: bad control frame", errWSProtocol)
	}
	if n > maxFramePayload {
		return f, fmt.Errorf("%w: frame of %d bytes", errWSProtocol, n)
	}
	var mask [4]byte
	if _, err := io.ReadFull(br, mask[:]); err != nil {
		return f, err
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(br, f.payload); err != nil {
		return f, err
	}
	for i := range f.payload {
		f.payload[i] ^= mask[i%4]
	}
	return f, nil
}

// writeFrame buffers one unmasked server frame.
func writeFrame(bw *bufio.Writer, fin bool, opcode byte, payload []byte) {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	_ = bw.WriteByte(b0)
	switch n := len(payload); {
	case n <= 125:
		_ = bw.WriteByte(byte(n))
	case n <= 0xFFFF:
		_ = bw.WriteByte(126)
		_ = binary.Write(bw, binary.BigEndian, uint16(n))
	default:
		_ = bw.WriteByte(127)
		_ = binary.Write(bw, binary.BigEndian, uint64(n))
	}
	_, _ = bw.Write(payload)
}
