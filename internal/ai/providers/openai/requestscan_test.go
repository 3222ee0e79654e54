package openai

import (
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm/llmtest"
	"github.com/sluicegw/sluice/internal/jsonscan"
)

// requestSeeds are requests beside those in testdata/inbound: the scanner
// takes the first ones and leaves the rest to encoding/json.
var requestSeeds = []string{
	`{"model":"gpt","messages":[{"role":"system","content":"You are a terse assistant."},{"role":"user","content":"Say something short."}],"max_tokens":64,"temperature":0.2}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true},"stop":"\n\n","seed":-3,"n":1,"top_p":1e-1}`,
	`{"model":"m","messages":[],"stop":["a","b"],"parallel_tool_calls":false,"tool_choice":"required","tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"q":{"type":"string"}}},"strict":true}}]}`,
	`{"model":"m","messages":null,"stop":null,"tools":null,"tool_choice":null,"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"},"strict":null}},"reasoning_effort":"low","user":"u","random_seed":7,"max_completion_tokens":9}`,
	`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}],"stop":[]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"parts"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA","detail":"low"}}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[]},{"role":"user","content":[{"type":"image_url","image_url":null,"refusal":"r"}]}]}`,
	`{"model":"m","messages":[],"tool_choice":{"type":"function","function":{"name":"f"}}}`,
	`{"model":"m","messages":[],"tool_choice":{"type":"function","function":{"name":""}}}`,
	`{"model":"m","messages":[],"tool_choice":{"type":"function","function":null}}`,
	`{"model":"m","messages":[],"stop":["a",null]}`,
	`{"model":"m","messages":[],"max_tokens":1.5}`,
	`{"model":"m","messages":[],"temperature":1e400}`,
	`{"Model":"m","messages":[]}`,
	`{"model":"m","messages":[],"stream":"yes"}`,
	`{"model":"m","messages":[],"metadata":{"k":[1,{"a":null}]},"logprobs":false}`,
}

// scanRequestDoc reads a whole document as a request.
func scanRequestDoc(b []byte, in *chatRequest) bool {
	var p jsonscan.Scanner
	p.Reset(b)
	return scanRequest(&p, in) && p.End()
}

// TestRequestScanner checks the scanner takes the usual requests (the
// first seeds and the recorded ones) itself, and agrees with encoding/json
// on every request and golden output.
func TestRequestScanner(t *testing.T) {
	llmtest.CheckSeeds(t, requestSeeds, 8, scanRequestDoc)
	llmtest.CheckScanner(t, "inbound", scanRequestDoc)
}

// FuzzRequestScanner holds the request scanner to encoding/json.
func FuzzRequestScanner(f *testing.F) {
	llmtest.FuzzScanner(f, requestSeeds, "inbound/*.json", scanRequestDoc)
}
