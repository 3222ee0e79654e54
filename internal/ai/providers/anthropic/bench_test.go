package anthropic

import (
	"strings"
	"testing"
)

// BenchmarkDecodeMessages decodes a Claude Code-like request: a system
// prompt and blocks with cache_control, thinking, tool use and results,
// and tools.
func BenchmarkDecodeMessages(b *testing.B) {
	// The second seed, without its server tool (which the gateway refuses).
	body := []byte(strings.Replace(requestSeeds[1], `,{"type":"web_search_20250305","name":"web_search","strict":true}`, "", 1))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeMessages(body); err != nil {
			b.Fatal(err)
		}
	}
}
