package bedrock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The AWS event-stream framing (application/vnd.amazon.eventstream) that
// ConverseStream answers in. A message is
//
//	total length  uint32   (the whole message, prelude and trailing CRC included)
//	headers length uint32
//	prelude CRC   uint32   (CRC-32 of the 8 bytes above)
//	headers       (name length uint8, name, value type uint8, value)...
//	payload       (total - headers - 16 bytes)
//	message CRC   uint32   (CRC-32 of everything before it)
//
// all big-endian, CRC-32 being IEEE.

const (
	preludeLen = 12
	// minFrameLen is a message with no headers and no payload.
	minFrameLen = preludeLen + 4
	// maxFrameLen and maxHeadersLen are the format's own limits; a
	// message over them is a broken stream, not a large answer.
	maxFrameLen   = 16 << 20
	maxHeadersLen = 128 << 10
)

// The header value types.
const (
	hvTrue = iota
	hvFalse
	hvByte
	hvShort
	hvInt
	hvLong
	hvBytes
	hvString
	hvTimestamp
	hvUUID
)

// errFrame is the class of every framing fault the decoder reports, so a
// caller can tell a corrupt stream from a transport error with errors.Is.
var errFrame = errors.New("eventstream: malformed message")

// frame is one decoded event-stream message. Its slices point into the
// decoder's buffer and are valid until the next call to next.
type frame struct {
	// eventType, messageType and exceptionType are the :event-type,
	// :message-type and :exception-type headers; errorCode and
	// errorMessage are the :error-code and :error-message headers of
	// messages of type "error".
	eventType, messageType, exceptionType []byte
	errorCode, errorMessage               []byte
	payload                               []byte
}

// frameReader decodes event-stream messages from r one at a time, with
// one buffer reused across messages (it grows to the largest message).
type frameReader struct {
	r   io.Reader
	buf []byte
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: r, buf: make([]byte, 0, 1024)}
}

// next reads and verifies the next message. It returns io.EOF when the
// stream ends cleanly between messages, io.ErrUnexpectedEOF when it ends
// inside one, an error wrapping errFrame for a corrupt message (bad
// lengths, CRCs or headers), and the reader's own error otherwise.
func (d *frameReader) next() (frame, error) {
	var f frame
	var prelude [preludeLen]byte
	if _, err := io.ReadFull(d.r, prelude[:]); err != nil {
		return f, err
	}
	total := binary.BigEndian.Uint32(prelude[0:4])
	hlen := binary.BigEndian.Uint32(prelude[4:8])
	if crc32.ChecksumIEEE(prelude[:8]) != binary.BigEndian.Uint32(prelude[8:12]) {
		return f, fmt.Errorf("%w: prelude CRC mismatch", errFrame)
	}
	if total < minFrameLen || total > maxFrameLen || hlen > maxHeadersLen || hlen > total-minFrameLen {
		return f, fmt.Errorf("%w: length %d with headers %d", errFrame, total, hlen)
	}
	if cap(d.buf) < int(total) {
		d.buf = make([]byte, total)
	}
	msg := d.buf[:total]
	copy(msg, prelude[:])
	if _, err := io.ReadFull(d.r, msg[preludeLen:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return f, err
	}
	end := total - 4
	if crc32.ChecksumIEEE(msg[:end]) != binary.BigEndian.Uint32(msg[end:]) {
		return f, fmt.Errorf("%w: message CRC mismatch", errFrame)
	}
	if err := parseHeaders(msg[preludeLen:preludeLen+hlen], &f); err != nil {
		return f, err
	}
	f.payload = msg[preludeLen+hlen : end]
	return f, nil
}

// parseHeaders walks the header block h, keeping the string headers the
// adapter reads and skipping every other header of any value type.
func parseHeaders(h []byte, f *frame) error {
	for len(h) > 0 {
		n := int(h[0])
		if n == 0 || len(h) < 1+n+1 {
			return fmt.Errorf("%w: header name", errFrame)
		}
		name := h[1 : 1+n]
		typ := h[1+n]
		h = h[2+n:]
		var size int
		switch typ {
		case hvTrue, hvFalse:
			size = 0
		case hvByte:
			size = 1
		case hvShort:
			size = 2
		case hvInt:
			size = 4
		case hvLong, hvTimestamp:
			size = 8
		case hvUUID:
			size = 16
		case hvBytes, hvString:
			if len(h) < 2 {
				return fmt.Errorf("%w: header value length", errFrame)
			}
			size = 2 + int(binary.BigEndian.Uint16(h))
		default:
			return fmt.Errorf("%w: header value type %d", errFrame, typ)
		}
		if len(h) < size {
			return fmt.Errorf("%w: header value", errFrame)
		}
		if typ == hvString {
			v := h[2:size]
			switch string(name) { // no allocation: the compiler compares in place
			case ":event-type":
				f.eventType = v
			case ":message-type":
				f.messageType = v
			case ":exception-type":
				f.exceptionType = v
			case ":error-code":
				f.errorCode = v
			case ":error-message":
				f.errorMessage = v
			}
		}
		h = h[size:]
	}
	return nil
}
