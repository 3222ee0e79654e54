package openai

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// The pieces of a unary OpenAI->OpenAI request through the gateway, on
// the body bench/ai.sh sends and a recorded answer.
var benchBody = []byte(`{"model":"gpt","messages":[{"role":"system","content":"You are a terse assistant."},{"role":"user","content":"Say something short about gateways."}],"max_tokens":64,"temperature":0.2}`)

func BenchmarkDecodeChat(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeChat(benchBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	req, err := DecodeChat(benchBody)
	if err != nil {
		b.Fatal(err)
	}
	p := fuzzFlavors(b)[0]
	c := &llm.Call{Model: "gpt-4o", Key: "k", Request: req}
	b.ReportAllocs()
	for b.Loop() {
		p.encodeChat(c, false)
	}
}

// BenchmarkDecodeAnswer decodes recorded answers with the scanner
// (scan) and with encoding/json alone (json), for comparison.
func BenchmarkDecodeAnswer(b *testing.B) {
	for _, name := range []string{"text", "tool_calls"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "response", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/scan", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var (
					cs chunkScanner
					c  chunk
				)
				if err := cs.decodeOr(raw, &c); err != nil {
					b.Fatal(err)
				}
				if _, err := decodeChatResponse(&c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var c chunk
				if err := json.Unmarshal(raw, &c); err != nil {
					b.Fatal(err)
				}
				if _, err := decodeChatResponse(&c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodeAnswer(b *testing.B) {
	resp := &llm.Response{ID: "x", Model: "gpt-4o", Text: "Gateways route, guard and explain.", FinishReason: llm.FinishStop,
		Usage: llm.Usage{Input: 25, Output: 9}}
	b.ReportAllocs()
	for b.Loop() {
		EncodeChat(resp, "chatcmpl-gw1", "gpt", 1700000000)
	}
}
