package anthropic

import (
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm/llmtest"
	"github.com/sluicegw/sluice/internal/jsonscan"
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
	`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}`,
	`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
	`{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":null,"output_tokens":89,"cache_read_input_tokens":3,"server_tool_use":null}}`,
	`{"type":"content_block_start","index":0,"content_block":{"type":"image","source":{"type":"url","url":"u"}}}`,
	`{"type":"message_start","message":null,"usage":{"output_tokens_details":{"thinking_tokens":4,"x":1}}}`,
}

// messageSeeds are answers beside those recorded in testdata/response.
var messageSeeds = []string{
	`{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"t","name":"f","input":{"a":[1,"\u00e9",null]}},{"type":"redacted_thinking","data":"EmwK"}],"stop_reason":"tool_use","stop_sequence":null,"usage":null}`,
	`{"id":"msg_1","content":[{"type":"tool_use","input":null},{"type":"text","text":"x","citations":null}],"usage":{"input_tokens":1,"cache_creation":{"ephemeral_5m_input_tokens":0},"service_tier":"standard"}}`,
	`{"id":"msg_1","content":null,"usage":{"output_tokens_details":null}}`,
	`{"content":[{"type":"tool_result","tool_use_id":"t","content":"r"}]}`,
	`{"content":[{"Type":"text"}]}`,
	`{"content":[{"type":"tool_use","input": {"b" : 2} }]}`,
}

// scanEventDoc and scanMessageDoc read a whole document as an event or an
// answer.
func scanEventDoc(b []byte, e *streamEvent) bool {
	var p jsonscan.Scanner
	return scanEvent(&p, b, e)
}

func scanMessageDoc(b []byte, m *messageResponse) bool {
	var p jsonscan.Scanner
	p.Reset(b)
	return scanMessage(&p, m) && p.End()
}

// TestEventScanner checks the scanner takes the per-token events itself
// and agrees with encoding/json.
func TestEventScanner(t *testing.T) {
	llmtest.CheckSeeds(t, eventSeeds, 7, scanEventDoc)
}

// FuzzEventScanner holds the scanner to encoding/json: whatever it takes,
// encoding/json must decode to the same event.
func FuzzEventScanner(f *testing.F) {
	llmtest.FuzzScanner(f, eventSeeds, "", scanEventDoc)
}

// TestMessageScanner checks the scanner takes the recorded answers itself
// and agrees with encoding/json on them.
func TestMessageScanner(t *testing.T) {
	llmtest.CheckScanner(t, "response", scanMessageDoc)
	llmtest.CheckSeeds(t, messageSeeds, 0, scanMessageDoc)
}

// FuzzMessageScanner holds the answer scanner to encoding/json.
func FuzzMessageScanner(f *testing.F) {
	llmtest.FuzzScanner(f, messageSeeds, "response/*.json", scanMessageDoc)
}
