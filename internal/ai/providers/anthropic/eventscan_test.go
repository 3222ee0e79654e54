package anthropic

import (
	"testing"

	"github.com/sluicegw/sluice/internal/jsonscan"
	"github.com/sluicegw/sluice/internal/jsonscan/jsonscantest"
)

var eventSeeds = []string{
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello \"there\" \u00e9\ud83d\ude00\n"}}`,
	`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"27*453"}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCg=="}}`,
	`{"type":"content_block_stop","index":0}`,
	`{"type": "ping"}`,
	`{"type":"message_stop"}`,
	`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}`,
	`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","usage":{"input_tokens":1}}}`,
	`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
	`{"Type":"x","INDEX":2}`,
	`{"type":"content_block_delta","index":1.0,"delta":{"type":"text_delta","text":"x"},"extra":[{"a":null}]}`,
}

// TestEventScanner checks the scanner takes the per-token events itself
// and agrees with encoding/json.
func TestEventScanner(t *testing.T) {
	var p jsonscan.Scanner
	for i := range 7 {
		var e streamEvent
		if !scanEvent(&p, []byte(eventSeeds[i]), &e) {
			t.Errorf("seed %d: the scanner left a per-token event to encoding/json", i)
		}
	}
	for _, s := range eventSeeds {
		checkEvent(t, &p, []byte(s))
	}
}

// FuzzEventScanner holds the scanner to encoding/json: whatever it takes,
// encoding/json must decode to the same event.
func FuzzEventScanner(f *testing.F) {
	for _, s := range eventSeeds {
		f.Add([]byte(s))
	}
	var p jsonscan.Scanner
	f.Fuzz(func(t *testing.T, b []byte) { checkEvent(t, &p, b) })
}

func checkEvent(t *testing.T, p *jsonscan.Scanner, b []byte) {
	t.Helper()
	jsonscantest.Agrees(t, b, func(b []byte, e *streamEvent) bool { return scanEvent(p, b, e) })
}
