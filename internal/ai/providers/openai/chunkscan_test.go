package openai

import (
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm/llmtest"
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
	seeds := make([]string, 0, len(chunkSeeds))
	for _, i := range []int{0, 1, 2, 3, 4, 5, 12, 13, 14} { // the common ones first
		seeds = append(seeds, chunkSeeds[i])
	}
	llmtest.CheckSeeds(t, append(seeds, chunkSeeds...), 9, p.decode)
	// The recorded answers of OpenAI and the servers copying it.
	llmtest.CheckScanner(t, "response", p.decode)
}

// FuzzChunkScanner holds the scanner to encoding/json: whatever it takes,
// encoding/json must decode to the same chunk.
func FuzzChunkScanner(f *testing.F) {
	var p chunkScanner
	llmtest.FuzzScanner(f, chunkSeeds, "response/*.json", p.decode)
}
