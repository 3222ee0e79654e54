package anthropic

import (
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm/llmtest"
	"github.com/sluicegw/sluice/internal/jsonscan"
)

// requestSeeds are requests beside those in testdata/inbound: the scanner
// takes the first ones and leaves the rest to encoding/json.
var requestSeeds = []string{
	`{"model":"claude","max_tokens":64,"temperature":0.2,"system":"You are terse.","messages":[{"role":"user","content":"Say something short."}]}`,
	`{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,"system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],` +
		`"messages":[{"role":"user","content":[{"type":"text","text":"fix it","cache_control":{"type":"ephemeral","ttl":"1h"}}]},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"Look first.","signature":"EqQB"},{"type":"redacted_thinking","data":"EmwK"},{"type":"tool_use","id":"toolu_1","name":"Read","input":{"path":"a.go"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"package a"}],"is_error":false},{"type":"tool_result","tool_use_id":"toolu_2","content":"boom","is_error":true}]}],` +
		`"tools":[{"name":"Read","description":"Read a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]},"cache_control":{"type":"ephemeral"}},{"type":"web_search_20250305","name":"web_search","strict":true}],` +
		`"tool_choice":{"type":"auto","disable_parallel_tool_use":null},"thinking":{"type":"enabled","budget_tokens":10000},"metadata":{"user_id":"u-1"}}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]}],` +
		`"stop_sequences":["\n\nHuman:"],"top_p":0.9,"top_k":40,"output_config":{"effort":"high","format":{"type":"json_schema","schema":{"type":"object"}}},"tool_choice":{"type":"tool","name":"f"}}`,
	`{"model":"m","max_tokens":1,"system":[],"messages":[{"role":"user","content":[]}],"tools":[],"stop_sequences":[],"thinking":{"type":"adaptive","display":"summarized"},"output_config":{"format":null},"metadata":null}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":null}]}`,
	`{"model":"m","max_tokens":1,"messages":[],"stop_sequences":["a",null]}`,
	`{"model":"m","max_tokens":1.5,"messages":[]}`,
	`{"model":"m","max_tokens":1,"messages":[],"temperature":"hot"}`,
	`{"Model":"m","max_tokens":1,"messages":[]}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":null}]}],"container":{"id":"c"}}`,
}

// scanRequestDoc reads a whole document as a request.
func scanRequestDoc(b []byte, in *messagesRequest) bool {
	var p jsonscan.Scanner
	p.Reset(b)
	return scanRequest(&p, in) && p.End()
}

// TestRequestScanner checks the scanner takes the usual requests (the
// first seeds and the recorded ones) itself, and agrees with encoding/json
// on every request and golden output.
func TestRequestScanner(t *testing.T) {
	llmtest.CheckSeeds(t, requestSeeds, 4, scanRequestDoc)
	llmtest.CheckScanner(t, "inbound", scanRequestDoc)
}

// FuzzRequestScanner holds the request scanner to encoding/json.
func FuzzRequestScanner(f *testing.F) {
	llmtest.FuzzScanner(f, requestSeeds, "inbound/*.json", scanRequestDoc)
}
