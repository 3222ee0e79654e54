package bedrock

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/sluicegw/sluice/internal/testkit"
)

// sdkFrame encodes a message with the AWS SDK's encoder, every header
// value type included, so the decoder is checked against another
// implementation of the format.
func sdkFrame(t testing.TB, eventType string, payload []byte) []byte {
	t.Helper()
	var msg eventstream.Message
	msg.Headers.Set(":message-type", eventstream.StringValue("event"))
	msg.Headers.Set("x-bool-true", eventstream.BoolValue(true))
	msg.Headers.Set("x-bool-false", eventstream.BoolValue(false))
	msg.Headers.Set("x-byte", eventstream.Int8Value(-3))
	msg.Headers.Set("x-short", eventstream.Int16Value(1234))
	msg.Headers.Set("x-int", eventstream.Int32Value(-99999))
	msg.Headers.Set("x-long", eventstream.Int64Value(1<<40))
	msg.Headers.Set("x-bytes", eventstream.BytesValue([]byte{0, 1, 2, 0xff}))
	msg.Headers.Set("x-time", eventstream.TimestampValue(time.Unix(1700000000, 0)))
	msg.Headers.Set("x-uuid", eventstream.UUIDValue{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	msg.Headers.Set(":event-type", eventstream.StringValue(eventType))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload = payload
	var b bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&b, msg); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFrameReaderDecodesSDKFrames(t *testing.T) {
	var stream []byte
	stream = append(stream, sdkFrame(t, "messageStart", []byte(`{"role":"assistant"}`))...)
	stream = append(stream, sdkFrame(t, "metadata", nil)...)
	big := bytes.Repeat([]byte("x"), 70000) // grows the buffer
	stream = append(stream, sdkFrame(t, "contentBlockDelta", big)...)
	stream = append(stream, testkit.EncodeBedrockEvent(testkit.BedrockEvent{Exception: "throttlingException", Payload: "slow"})...)

	fr := newFrameReader(iotestOneByte(stream))
	want := []struct{ typ, msgType, payload string }{
		{"messageStart", "event", `{"role":"assistant"}`},
		{"metadata", "event", ""},
		{"contentBlockDelta", "event", string(big)},
		{"", "exception", `{"message":"slow"}`},
	}
	for i, w := range want {
		f, err := fr.next()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(f.eventType) != w.typ || string(f.messageType) != w.msgType || string(f.payload) != w.payload {
			t.Errorf("message %d: %q %q %.40q", i, f.eventType, f.messageType, f.payload)
		}
		if i == 3 && string(f.exceptionType) != "throttlingException" {
			t.Errorf("exception type %q", f.exceptionType)
		}
	}
	if _, err := fr.next(); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
}

// iotestOneByte returns a reader that yields one byte a Read, the worst
// case of a stream arriving in small pieces.
func iotestOneByte(b []byte) io.Reader { return &oneByte{b} }

type oneByte struct{ b []byte }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = o.b[0]
	o.b = o.b[1:]
	return 1, nil
}

func TestFrameReaderRejects(t *testing.T) {
	good := sdkFrame(t, "messageStop", []byte(`{"stopReason":"end_turn"}`))
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	setPrelude := func(b []byte, total, hlen uint32) []byte {
		binary.BigEndian.PutUint32(b[0:], total)
		binary.BigEndian.PutUint32(b[4:], hlen)
		binary.BigEndian.PutUint32(b[8:], crc32IEEE(b[:8]))
		return b
	}
	cases := []struct {
		name  string
		input []byte
		want  error
	}{
		{"prelude CRC", mutate(func(b []byte) []byte { b[9] ^= 1; return b }), errFrame},
		{"message CRC", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), errFrame},
		{"payload bit flip", mutate(func(b []byte) []byte { b[len(b)-6] ^= 0x20; return b }), errFrame},
		{"total below minimum", mutate(func(b []byte) []byte { return setPrelude(b, 15, 0) }), errFrame},
		{"headers beyond total", mutate(func(b []byte) []byte { return setPrelude(b, uint32(len(b)), uint32(len(b))) }), errFrame},
		{"total over the limit", mutate(func(b []byte) []byte { return setPrelude(b, maxFrameLen+1, 0) }), errFrame},
		{"truncated message", good[:len(good)-3], io.ErrUnexpectedEOF},
		{"truncated prelude", good[:5], io.ErrUnexpectedEOF},
		{"empty", nil, io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newFrameReader(bytes.NewReader(tc.input)).next()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseHeadersRejects(t *testing.T) {
	cases := map[string][]byte{
		"zero-length name":     {0},
		"name past the end":    {5, 'a', 'b'},
		"unknown value type":   {1, 'a', 42},
		"string past the end":  {1, 'a', hvString, 0, 10, 'x'},
		"missing length":       {1, 'a', hvBytes, 0},
		"fixed value past end": {1, 'a', hvLong, 1, 2, 3},
	}
	for name, h := range cases {
		var f frame
		if err := parseHeaders(h, &f); !errors.Is(err, errFrame) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// emptyFrame is the smallest message: no headers, no payload.
func emptyFrame() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint32(b, 16)
	binary.BigEndian.PutUint32(b[8:], crc32.ChecksumIEEE(b[:8]))
	binary.BigEndian.PutUint32(b[12:], crc32.ChecksumIEEE(b[:12]))
	return b
}

// FuzzFrameReader feeds arbitrary bytes to the decoder. It must never
// panic, and whatever message it accepts, the AWS SDK's decoder must read
// the same way (a differential check of the two implementations).
func FuzzFrameReader(f *testing.F) {
	f.Add(sdkFrame(f, "contentBlockDelta", []byte(`{"contentBlockIndex":0,"delta":{"text":"hi"}}`)))
	f.Add(testkit.EncodeBedrockEvent(testkit.BedrockEvent{Exception: "validationException", Payload: "bad"}))
	f.Add(append(sdkFrame(f, "messageStart", nil), sdkFrame(f, "messageStop", []byte(`{}`))...))
	f.Add(emptyFrame())
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := newFrameReader(bytes.NewReader(data))
		sdk := bytes.NewReader(data)
		for range 64 {
			fm, err := fr.next()
			if err != nil {
				return
			}
			msg, serr := eventstream.NewDecoder().Decode(sdk, nil)
			if serr != nil {
				t.Fatalf("accepted a message the SDK rejects: %v", serr)
			}
			if !bytes.Equal(msg.Payload, fm.payload) {
				t.Fatalf("payload %q, SDK %q", fm.payload, msg.Payload)
			}
			if v, ok := msg.Headers.Get(":event-type").(eventstream.StringValue); ok && string(v) != string(fm.eventType) {
				t.Fatalf(":event-type %q, SDK %q", fm.eventType, v)
			}
		}
	})
}

// FuzzFrameHeaders wraps arbitrary header and payload bytes in a message
// with valid lengths and CRCs, so the fuzzer reaches the header parser.
func FuzzFrameHeaders(f *testing.F) {
	good := sdkFrame(f, "contentBlockStop", []byte(`{"contentBlockIndex":1}`))
	hlen := binary.BigEndian.Uint32(good[4:])
	f.Add(good[12:12+hlen], good[12+hlen:len(good)-4])
	f.Add([]byte{1, 'a', hvString, 0, 1, 'b'}, []byte{})
	f.Fuzz(func(t *testing.T, headers, payload []byte) {
		if len(headers) > maxHeadersLen {
			return
		}
		total := 16 + len(headers) + len(payload)
		b := make([]byte, 12, total)
		binary.BigEndian.PutUint32(b, uint32(total))
		binary.BigEndian.PutUint32(b[4:], uint32(len(headers)))
		binary.BigEndian.PutUint32(b[8:], crc32.ChecksumIEEE(b[:8]))
		b = append(append(b, headers...), payload...)
		b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
		fm, err := newFrameReader(bytes.NewReader(b)).next()
		if err != nil {
			if !errors.Is(err, errFrame) {
				t.Fatalf("a complete message gave %v", err)
			}
			return
		}
		if !bytes.Equal(fm.payload, payload) {
			t.Fatalf("payload %q, want %q", fm.payload, payload)
		}
		msg, serr := eventstream.NewDecoder().Decode(bytes.NewReader(b), nil)
		if serr != nil {
			t.Fatalf("accepted headers the SDK rejects: %v", serr)
		}
		if v, ok := msg.Headers.Get(":event-type").(eventstream.StringValue); ok && string(v) != string(fm.eventType) {
			t.Fatalf(":event-type %q, SDK %q", fm.eventType, v)
		}
	})
}
