package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/ai/llm/llmtest"
)

// One test per translation bug found by the golden files, the SDK checks
// and the fuzz targets, each failing before its fix.

// The SDKs' types require a text block's text and a tool_use block's
// input; empty ones were left out.
func TestBlocksKeepRequiredFields(t *testing.T) {
	got := string(EncodeMessage(&llm.Response{FinishReason: llm.FinishContentFilter}, "msg_1", "m"))
	if !strings.Contains(got, `"content":[{"type":"text","text":""}]`) {
		t.Errorf("empty answer: %s", got)
	}
	got = string(EncodeMessage(&llm.Response{ToolCalls: []llm.ToolCall{{ID: "t", Name: "f"}}}, "msg_1", "m"))
	if !strings.Contains(got, `{"type":"tool_use","id":"t","name":"f","input":{}}`) {
		t.Errorf("tool call without arguments: %s", got)
	}
	var buf bytes.Buffer
	w := NewStreamWriter(&buf, nil, "msg_1", "m")
	_ = w.Event(llm.Event{Type: llm.EventText, Text: "hi"})
	if !strings.Contains(buf.String(), `"content_block":{"type":"text","text":""}`) {
		t.Errorf("stream: %s", buf.String())
	}
}

// Tool arguments "null" went out as "input": null; an empty tool result
// went out as an empty text block, which the API refuses.
func TestToolInputAndEmptyResults(t *testing.T) {
	req := &llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: "go"}}},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "a", Name: "f", Arguments: "null"}, {ID: "b", Name: "f", Arguments: "[1]"}}},
		{Role: llm.RoleTool, ToolCallID: "a", Content: []llm.Part{{Type: llm.PartText, Text: ""}}},
		{Role: llm.RoleTool, ToolCallID: "b", Content: []llm.Part{{Type: llm.PartText, Text: ""}, {Type: llm.PartText, Text: "ok"}}},
	}}
	b, err := encodeRequest(&llm.Call{Model: "m", Request: req}, false)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{
		`"input":{"_raw":"null"}`, `"input":{"_raw":"[1]"}`,
		`{"type":"tool_result","tool_use_id":"a"}`,
		`{"type":"tool_result","tool_use_id":"b","content":[{"type":"text","text":"ok"}]}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("%s\ndoes not hold %s", got, want)
		}
	}
}

func TestToolStrictKept(t *testing.T) {
	req, err := DecodeMessages([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{"type":"object"},"strict":true},{"name":"g","input_schema":{"type":"object"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := encodeRequest(&llm.Call{Model: "m", Request: req}, false)
	if got := string(b); !strings.Contains(got, `"input_schema":{"type":"object"},"strict":true}`) || strings.Count(got, "strict") != 1 {
		t.Errorf("tools: %s", got)
	}
}

// The API refuses thinking when tool_choice forces a tool call; the
// forced call is kept and thinking left off (the effort stays: it is not
// thinking). With tool_choice auto, thinking stays on.
func TestForcedToolCallLeavesThinkingOff(t *testing.T) {
	for _, tc := range []struct{ choice, want string }{
		{`{"type":"any"}`, `"max_tokens":500,`},
		{`{"type":"tool","name":"f"}`, `"max_tokens":500,`},
		{`{"type":"auto"}`, `"max_tokens":2548,`},
	} {
		req, err := DecodeMessages([]byte(`{"model":"m","max_tokens":500,"temperature":0.3,"messages":[{"role":"user","content":"x"}],` +
			`"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":` + tc.choice + `,` +
			`"thinking":{"type":"enabled","budget_tokens":2048},"output_config":{"effort":"high"}}`))
		if err != nil {
			t.Fatal(err)
		}
		b, err := encodeRequest(&llm.Call{Model: "m", Request: req}, false)
		if err != nil {
			t.Fatal(err)
		}
		got := string(b)
		thinks := strings.Contains(got, `"thinking":{"type":"enabled","budget_tokens":2048}`)
		sampled := strings.Contains(got, `"temperature":0.3`)
		if !strings.Contains(got, tc.want) || thinks != (tc.choice == `{"type":"auto"}`) || sampled == thinks || !strings.Contains(got, `"effort":"high"`) {
			t.Errorf("tool_choice %s: %s", tc.choice, got)
		}
	}
}

// Requests the API would refuse are refused up front, in its words; a
// null input is the empty object.
func TestDecodeMessagesToolBlocks(t *testing.T) {
	for body, want := range map[string]string{
		`[{"role":"assistant","content":[{"type":"tool_use","name":"f","input":{}}]}]`:               "needs an id and a name",
		`[{"role":"assistant","content":[{"type":"tool_use","id":"a","input":{}}]}]`:                 "needs an id and a name",
		`[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f","input":[1]}]}]`:     "Input should be an object",
		`[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]`:                         "tool_use_id: Field required",
		`[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f","input":null}]}]`:    "",
		`[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f","input":{"x":1}}]}]`: "",
	} {
		req, err := DecodeMessages([]byte(`{"model":"m","max_tokens":5,"messages":` + body + `}`))
		var ce *CallerError
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", body, err)
		case want == "" && req.Messages[0].ToolCalls[0].Arguments[0] != '{':
			t.Errorf("%s: arguments %q", body, req.Messages[0].ToolCalls[0].Arguments)
		case want != "" && (!errors.As(err, &ce) || !strings.Contains(ce.Message, want)):
			t.Errorf("%s: error %v, want %q", body, err, want)
		}
	}
}

func readEvents(t *testing.T, body string) ([]llm.Event, error) {
	t.Helper()
	s := newStream(context.Background(), io.NopCloser(strings.NewReader(body)))
	return llmtest.Drain(s, 1000)
}

const msgStart = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":3}}}\n\n"

// A tool_use block that streams no input_json_delta (a call without
// arguments) reached OpenAI clients with arguments "", which is not JSON.
func TestStreamToolWithoutArguments(t *testing.T) {
	evs, err := readEvents(t, msgStart+
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\n\n"+
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"+
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":5}}\n\n"+
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	if err != io.EOF {
		t.Fatal(err)
	}
	if w := llmtest.WantOf(evs); len(w.Tools) != 1 || w.Tools[0].Arguments != "{}" {
		t.Errorf("tools %+v", w.Tools)
	}
}

// Content before message_start, a second message_start, and content after
// the stop reason broke the event order the gateway relies on.
func TestStreamEventOrder(t *testing.T) {
	block := "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\"}}\n\n"
	if _, err := readEvents(t, block+msgStart); err == nil || !strings.Contains(err.Error(), "before message_start") {
		t.Errorf("content first: %v", err)
	}
	if _, err := readEvents(t, msgStart+msgStart); err == nil || !strings.Contains(err.Error(), "second message_start") {
		t.Errorf("two starts: %v", err)
	}
	evs, _ := readEvents(t, msgStart+"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n"+
		block+"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":2}}\n\n")
	finishes := 0
	for _, ev := range evs {
		switch ev.Type {
		case llm.EventFinish:
			finishes++
		case llm.EventToolStart:
			t.Error("a tool call after the stop reason")
		}
	}
	if finishes != 1 {
		t.Errorf("%d finishes", finishes)
	}
}

// Parallel calls whose arguments interleave (as some OpenAI-style servers
// send them) got deltas after their block's stop. The SDK must rebuild
// both calls from the rendered stream.
func TestStreamWriterInterleavedToolArgs(t *testing.T) {
	evs := []llm.Event{
		{Type: llm.EventStart, ID: "x"},
		{Type: llm.EventText, Text: "Both:"},
		{Type: llm.EventToolStart, Index: 0, ID: "a", Name: "f"},
		{Type: llm.EventToolStart, Index: 1, ID: "b", Name: "g"},
		{Type: llm.EventToolArgs, Index: 0, Text: `{"q":`},
		{Type: llm.EventToolArgs, Index: 1, Text: `{"r":2}`},
		{Type: llm.EventToolArgs, Index: 0, Text: `1}`},
		{Type: llm.EventText, Text: " done"},
		{Type: llm.EventFinish, Finish: llm.FinishToolCalls},
	}
	var buf bytes.Buffer
	w := NewStreamWriter(&buf, nil, "msg_1", "m")
	for _, ev := range evs {
		if err := w.Event(ev); err != nil {
			t.Fatal(err)
		}
	}
	_ = w.Done()
	stopped := map[float64]bool{}
	names, datas := llmtest.SSEData(buf.Bytes())
	for i, d := range datas {
		var e struct {
			Index *float64 `json:"index"`
		}
		_ = json.Unmarshal(d, &e)
		switch names[i] {
		case "content_block_stop":
			stopped[*e.Index] = true
		case "content_block_delta":
			if stopped[*e.Index] {
				t.Errorf("a delta for block %v after its stop", *e.Index)
			}
		}
	}
	msg, err := llmtest.ReadEvents(t, "interleaved", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	llmtest.WantOf(evs).CheckAnthropic(t, "interleaved", msg)
	if len(stopped) != 4 {
		t.Errorf("%d blocks stopped, want 4", len(stopped))
	}
}
