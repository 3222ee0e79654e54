package bedrock

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/testkit"
)

// BenchmarkStreamDecode measures translating a recorded ConverseStream
// (text and two tool calls, 3-byte deltas) into canonical events.
func BenchmarkStreamDecode(b *testing.B) {
	benchStreamDecode(b, testkit.BedrockReply{
		Content: []testkit.BedrockBlock{
			{Text: "Let me look that up for you, one moment please."},
			{ToolUse: &testkit.BedrockToolUse{ID: "t1", Name: "get_weather", Input: `{"city":"Paris","units":"metric"}`}},
			{ToolUse: &testkit.BedrockToolUse{ID: "t2", Name: "get_weather", Input: `{"city":"Rome","units":"metric"}`}},
		},
		StopReason: "tool_use",
		Usage:      testkit.BedrockUsage{Input: 10, Output: 20},
	})
}

// BenchmarkStreamDecodeReasoning is BenchmarkStreamDecode for an answer
// that thinks (signed, then redacted) before its text and tool call.
func BenchmarkStreamDecodeReasoning(b *testing.B) {
	benchStreamDecode(b, reasoningToolReply)
}

func benchStreamDecode(b *testing.B, reply testkit.BedrockReply) {
	var wire []byte
	events := testkit.BedrockStreamEvents(reply, 3)
	for _, e := range events {
		wire = append(wire, testkit.EncodeBedrockEvent(e)...)
	}
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		s := newStream(context.Background(), io.NopCloser(bytes.NewReader(wire)), "id", "m")
		for {
			if _, err := s.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
	b.ReportMetric(float64(len(events)), "frames/op")
}

// BenchmarkEncodeRequest measures translating a canonical request with
// history, tools and tool results into a Converse body.
func BenchmarkEncodeRequest(b *testing.B) {
	req := chatCases[4].req // tool_results_round_trip
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeRequest(&req, "us.anthropic.claude-sonnet-4-5"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChat measures a whole Converse call through the mock, signing
// included.
func BenchmarkChat(b *testing.B) {
	m := testkit.StartMockBedrock(b, testkit.MockBedrockConfig{Credentials: []testkit.BedrockCredential{testCred}})
	p, err := New(configFor(m), llm.Options{Client: m.Client()})
	if err != nil {
		b.Fatal(err)
	}
	call := &llm.Call{Model: "m", Key: testCred.Key(), Request: &llm.Request{Messages: []llm.Message{userText("hi")}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Chat(context.Background(), call); err != nil {
			b.Fatal(err)
		}
	}
}
