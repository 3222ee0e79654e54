package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/testkit"
)

func startStream(t *testing.T, m *testkit.MockBedrock, ctx context.Context, model string) llm.Stream {
	t.Helper()
	s, err := newProvider(t, m).Stream(ctx, &llm.Call{Model: model, Key: testCred.Key(), Request: &llm.Request{Messages: []llm.Message{userText("hi")}, Stream: true}})
	checkAuth(t, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// drain reads s to its end and returns the events and the final error.
func drain(t *testing.T, s llm.Stream) ([]llm.Event, error) {
	t.Helper()
	var evs []llm.Event
	for range 10000 {
		ev, err := s.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	t.Fatal("the stream does not end")
	return nil, nil
}

// eventLines renders events one JSON object a line, for golden files.
func eventLines(t *testing.T, evs []llm.Event) []byte {
	t.Helper()
	var b strings.Builder
	names := map[llm.EventType]string{llm.EventStart: "start", llm.EventText: "text", llm.EventToolStart: "tool_start",
		llm.EventToolArgs: "tool_args", llm.EventFinish: "finish", llm.EventUsage: "usage", llm.EventThinking: "thinking",
		llm.EventThinkingEnd: "thinking_end", llm.EventRedactedThinking: "redacted_thinking"}
	for _, ev := range evs {
		o := map[string]any{"type": names[ev.Type]}
		switch ev.Type {
		case llm.EventStart:
			o["id"], o["model"] = ev.ID, ev.Model
		case llm.EventText, llm.EventThinking, llm.EventThinkingEnd, llm.EventRedactedThinking:
			o["text"] = ev.Text
		case llm.EventToolStart:
			o["index"], o["id"], o["name"] = ev.Index, ev.ID, ev.Name
		case llm.EventToolArgs:
			o["index"], o["text"] = ev.Index, ev.Text
		case llm.EventFinish:
			o["finish"] = ev.Finish
		case llm.EventUsage:
			o["usage"] = ev.Usage
		}
		line, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func TestStreamGolden(t *testing.T) {
	cases := []struct {
		name  string
		reply testkit.BedrockReply
		chunk int
	}{
		{"text", testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "Hello there, how are you?"}}, Usage: testkit.BedrockUsage{Input: 9, Output: 7}}, 5},
		{"parallel_tools", testkit.BedrockReply{
			Content: []testkit.BedrockBlock{
				{Text: "Checking."},
				{ToolUse: &testkit.BedrockToolUse{ID: "tooluse_p", Name: "get_weather", Input: `{"city":"Paris","units":"metric"}`}},
				{ToolUse: &testkit.BedrockToolUse{ID: "tooluse_r", Name: "get_weather", Input: `{"city":"Rome, \"Italia\"","días":["lunes"]}`}},
			},
			StopReason: "tool_use",
			Usage:      testkit.BedrockUsage{Input: 20, Output: 60, CacheRead: 300},
		}, 3},
		{"reasoning_then_tool", reasoningToolReply, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := startMock(t)
			m.Reply(testkit.BedrockReply{Stream: testkit.BedrockStreamEvents(tc.reply, tc.chunk)})
			evs, err := drain(t, startStream(t, m, context.Background(), "us.anthropic.claude-haiku-4-5-20251001-v1:0"))
			if err != io.EOF {
				t.Fatalf("stream ended with %v, want io.EOF", err)
			}
			golden(t, "stream/"+tc.name+".events.jsonl", eventLines(t, evs))

			// Reassemble what the client would see and compare with the
			// scripted answer exactly.
			var text string
			args := map[int]string{}
			var ids []string
			for _, ev := range evs {
				switch ev.Type {
				case llm.EventText:
					text += ev.Text
				case llm.EventToolStart:
					if ev.Index != len(ids) {
						t.Errorf("tool index %d, want %d", ev.Index, len(ids))
					}
					ids = append(ids, ev.ID)
				case llm.EventToolArgs:
					args[ev.Index] += ev.Text
				}
			}
			var wantText string
			var k int
			for _, b := range tc.reply.Content {
				if b.ToolUse == nil {
					wantText += b.Text
					continue
				}
				if args[k] != b.ToolUse.Input || ids[k] != b.ToolUse.ID {
					t.Errorf("tool %d: %s %q, want %s %q", k, ids[k], args[k], b.ToolUse.ID, b.ToolUse.Input)
				}
				k++
			}
			if text != wantText {
				t.Errorf("text %q, want %q", text, wantText)
			}
			if m.Requests()[0].Operation != "converse-stream" {
				t.Errorf("operation %q", m.Requests()[0].Operation)
			}
		})
	}
}

// TestStreamIsNotBuffered holds the rest of the stream back until the
// first events have been read: the adapter must hand them on as they come.
func TestStreamIsNotBuffered(t *testing.T) {
	m := startMock(t)
	events := testkit.BedrockStreamEvents(testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "first second"}}}, 6)
	gate := make(chan struct{})
	events[2].Gate = gate // after messageStart and "first "
	m.Reply(testkit.BedrockReply{Stream: events})
	s := startStream(t, m, context.Background(), "m")
	if ev, err := s.Next(); err != nil || ev.Type != llm.EventStart || ev.ID == "" || ev.Model != "m" {
		t.Fatalf("first event %+v %v", ev, err)
	}
	if ev, err := s.Next(); err != nil || ev.Type != llm.EventText || ev.Text != "first " {
		t.Fatalf("second event %+v %v", ev, err)
	}
	close(gate)
	evs, err := drain(t, s)
	if err != io.EOF || len(evs) != 3 || evs[0].Text != "second" || evs[1].Type != llm.EventFinish || evs[2].Type != llm.EventUsage {
		t.Fatalf("rest %+v %v", evs, err)
	}
}

func TestStreamBreaks(t *testing.T) {
	full := testkit.BedrockStreamEvents(testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "partial answer"}}}, 4)
	n := len(full) // messageStart, 4 deltas, stop, messageStop, metadata
	corrupt := testkit.EncodeBedrockEvent(full[1])
	corrupt[len(corrupt)-1] ^= 0xff
	cases := []struct {
		name   string
		events []testkit.BedrockEvent
		class  llm.Class
		typ    string
		msg    string
		cut    bool
	}{
		{"throttling", append(clone(full[:3]), testkit.BedrockEvent{Exception: "throttlingException", Payload: "Too many tokens, please wait."}), llm.ClassRateLimit, "throttlingException", "Too many tokens", false},
		{"model stream error", append(clone(full[:3]), testkit.BedrockEvent{Exception: "modelStreamErrorException", Payload: "model failed"}), llm.ClassOverloaded, "modelStreamErrorException", "model failed", false},
		{"internal", append(clone(full[:3]), testkit.BedrockEvent{Exception: "internalServerException", Payload: "oops"}), llm.ClassOverloaded, "internalServerException", "oops", false},
		{"unavailable", append(clone(full[:3]), testkit.BedrockEvent{Exception: "serviceUnavailableException", Payload: "busy"}), llm.ClassOverloaded, "serviceUnavailableException", "busy", false},
		{"timeout", append(clone(full[:3]), testkit.BedrockEvent{Exception: "modelTimeoutException", Payload: "slow"}), llm.ClassTimeout, "modelTimeoutException", "slow", false},
		{"validation context", append(clone(full[:1]), testkit.BedrockEvent{Exception: "validationException", Payload: "Input is too long for requested model."}), llm.ClassContextWindow, "validationException", "too long", false},
		{"validation", append(clone(full[:1]), testkit.BedrockEvent{Exception: "validationException", Payload: "bad field"}), llm.ClassCaller, "validationException", "bad field", false},
		{"cut mid-message", append(clone(full[:3]), testkit.BedrockEvent{Cut: true}), llm.ClassBadResponse, "", "", true},
		{"clean end before messageStop", clone(full[:3]), llm.ClassBadResponse, "", "", true},
		{"clean end before metadata", clone(full[:n-1]), llm.ClassBadResponse, "", "", true},
		{"corrupt CRC", append(clone(full[:1]), testkit.BedrockEvent{Raw: corrupt}), llm.ClassBadResponse, "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := startMock(t)
			m.Reply(testkit.BedrockReply{Stream: tc.events})
			s := startStream(t, m, context.Background(), "m")
			evs, err := drain(t, s)
			var pe *llm.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("after %d events: %v, want a *llm.ProviderError", len(evs), err)
			}
			if pe.Class != tc.class || pe.Type != tc.typ || !strings.Contains(pe.Message, tc.msg) {
				t.Errorf("got %+v, want class %v type %q message ~%q", pe, tc.class, tc.typ, tc.msg)
			}
			if tc.cut && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("a cut stream gave %v, want io.ErrUnexpectedEOF inside", err)
			}
			// Every complete message before the break was delivered.
			if len(tc.events) > 2 && (len(evs) < 2 || evs[0].Type != llm.EventStart || evs[1].Type != llm.EventText) {
				t.Errorf("events before the break %+v", evs)
			}
			if _, again := s.Next(); again != err {
				t.Errorf("the error is not sticky: %v then %v", err, again)
			}
		})
	}
}

func clone(evs []testkit.BedrockEvent) []testkit.BedrockEvent {
	return append([]testkit.BedrockEvent(nil), evs...)
}

func TestStreamCancel(t *testing.T) {
	never := make(chan struct{})
	stalled := func() []testkit.BedrockEvent {
		evs := testkit.BedrockStreamEvents(testkit.BedrockReply{Content: []testkit.BedrockBlock{{Text: "abcdefgh"}}}, 4)
		evs[2].Gate = never
		return evs
	}

	t.Run("context", func(t *testing.T) {
		m := startMock(t)
		m.Reply(testkit.BedrockReply{Stream: stalled()})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s := startStream(t, m, ctx, "m")
		s.Next()
		s.Next()
		time.AfterFunc(20*time.Millisecond, cancel)
		start := time.Now()
		_, err := s.Next()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("cancel took %v", d)
		}
	})

	t.Run("close", func(t *testing.T) {
		m := startMock(t)
		m.Reply(testkit.BedrockReply{Stream: stalled()})
		s := startStream(t, m, context.Background(), "m")
		s.Next()
		s.Next()
		time.AfterFunc(20*time.Millisecond, func() { s.Close() })
		done := make(chan error, 1)
		go func() { _, err := s.Next(); done <- err }()
		select {
		case err := <-done:
			if err == nil || err == io.EOF {
				t.Fatalf("Next after Close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not unblock Next")
		}
	})

	t.Run("deadline before the head", func(t *testing.T) {
		m := startMock(t)
		m.Reply(testkit.BedrockReply{Delay: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := newProvider(t, m).Stream(ctx, &llm.Call{Model: "m", Key: testCred.Key(), Request: &llm.Request{Messages: []llm.Message{userText("hi")}}})
		var pe *llm.ProviderError
		if !errors.As(err, &pe) || pe.Class != llm.ClassTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want a timeout", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the deadline took %v to act", d)
		}
	})
}

func TestStreamHTTPError(t *testing.T) {
	m := startMock(t)
	m.Reply(testkit.BedrockReply{Status: 429, ErrorType: "ThrottlingException", Message: "Rate exceeded", Header: map[string][]string{"Retry-After": {"2"}}})
	_, err := newProvider(t, m).Stream(context.Background(), &llm.Call{Model: "m", Key: testCred.Key(), Request: &llm.Request{Messages: []llm.Message{userText("hi")}}})
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || pe.Class != llm.ClassRateLimit || pe.RetryAfter != 2*time.Second || pe.Status != 429 {
		t.Fatalf("got %v", err)
	}
}
