package anthropic

import (
	"encoding/json"

	"github.com/sluicegw/sluice/internal/jsonscan"
)

// decodeEvent decodes one stream event into e. The events of every token
// (content_block_delta) and the small ones (content_block_stop, ping,
// message_stop) are read by jsonscan; the others, once a stream
// (message_start, content_block_start, message_delta, error), by
// encoding/json. FuzzEventScanner holds the two to the same answers.
func (s *stream) decodeEvent(data []byte, e *streamEvent) error {
	if scanEvent(&s.scan, data, e) {
		return nil
	}
	*e = streamEvent{}
	return json.Unmarshal(data, e)
}

// eventKeys are the keys of the event types (see jsonscan.Scanner.Unknown).
var eventKeys = []string{"type", "message", "index", "content_block", "delta", "usage", "error",
	"text", "partial_json", "thinking", "signature", "stop_reason", "stop_sequence"}

// scanEvent reads e from data, or reports false for what it leaves to
// encoding/json.
func scanEvent(p *jsonscan.Scanner, data []byte, e *streamEvent) bool {
	*e = streamEvent{}
	p.Reset(data)
	ok := p.Object(func(key []byte) bool {
		switch string(key) {
		case "type":
			return p.String(&e.Type)
		case "index":
			var n int64
			if !p.Int64(&n) || int64(int(n)) != n {
				return false
			}
			e.Index = int(n)
			return true
		case "delta":
			if p.Null() {
				return true
			}
			d := new(streamDelta)
			e.Delta = d
			return scanDelta(p, d)
		case "message", "content_block", "usage", "error":
			return p.Null() // more is left to encoding/json
		}
		return p.Unknown(key, eventKeys)
	})
	return ok && p.End()
}

func scanDelta(p *jsonscan.Scanner, d *streamDelta) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "type":
			return p.String(&d.Type)
		case "text":
			return p.String(&d.Text)
		case "partial_json":
			return p.String(&d.PartialJSON)
		case "thinking":
			return p.String(&d.Thinking)
		case "signature":
			return p.String(&d.Signature)
		case "stop_reason":
			return p.OptString(&d.StopReason)
		case "stop_sequence":
			return p.OptString(&d.StopSequence)
		}
		return p.Unknown(key, eventKeys)
	})
}
