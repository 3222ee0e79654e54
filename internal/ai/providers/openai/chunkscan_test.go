package openai

import (
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm/llmtest"
	"github.com/sluicegw/sluice/internal/jsonscan/jsonscantest"
)

var chunkSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1731000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hello \"world\" \\ \u00e9\ud83d\ude00\n"},"finish_reason":null}],"obfuscation":"xY3"}`,
	`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`,
	`{"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
	`{"id":"c","choices":[{"index":0,"delta":{"reasoning_content":"hmm"}}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":""}}]}}]}`,
	`{"error":{"message":"boom","type":"server_error"}}`,
	`{"ID":"upper","choices":[{"index":0,"delta":{"Content":"x"}}]}`,
	`{"id":"a","id":"b","choices":null}`,
	` {"id":"c","created":-0,"choices":[{"index":1,"delta":null,"extra":{"a":[1,2,{"b":null}],"c":true}}]} `,
	`{"id":"\u0069d","choices":[{"index":0.5}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{"content":"bad \ud800 surrogate"}}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"a\": [1, \"\u00e9\"]}"}},{"index":null,"function":null}]}}]}`,
	`{"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0},"completion_tokens_details":null}}`,
	`{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[],"refusal":null,"annotations":[]}}],"usage":{"prompt_tokens_details":null,"completion_tokens_details":{"reasoning_tokens":7,"Audio_tokens":1}}}`,
	`{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"text","text":"parts"}]}}]}`,
	`{"id":"c","choices":[{"index":0,"message":null,"delta":{"tool_calls":null}}],"usage":{"prompt_tokens":1.5}}`,
	`{"id":"c","choices":[{"index":0,"message":{"Role":"assistant","content":"x"}}]}`,
}

// TestChunkScanner checks the scanner takes the common chunks and
// answers itself and agrees with encoding/json on them.
func TestChunkScanner(t *testing.T) {
	var p chunkScanner
	for _, i := range []int{0, 1, 2, 3, 4, 5, 12, 13, 14} {
		var c chunk
		if !p.decode([]byte(chunkSeeds[i]), &c) {
			t.Errorf("seed %d: the scanner left a common chunk to encoding/json", i)
		}
	}
	for _, s := range chunkSeeds {
		checkChunk(t, &p, []byte(s))
	}
	// The recorded answers of OpenAI and the servers copying it.
	llmtest.CheckScanner(t, "response", p.decode)
}

// FuzzChunkScanner holds the scanner to encoding/json: whatever it takes,
// encoding/json must decode to the same chunk.
func FuzzChunkScanner(f *testing.F) {
	for _, s := range chunkSeeds {
		f.Add([]byte(s))
	}
	llmtest.AddSeeds(f, "response/*.json")
	var p chunkScanner
	f.Fuzz(func(t *testing.T, b []byte) { checkChunk(t, &p, b) })
}

func checkChunk(t *testing.T, p *chunkScanner, b []byte) {
	t.Helper()
	jsonscantest.Agrees(t, b, p.decode)
}
