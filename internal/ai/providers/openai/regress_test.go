package openai

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
	"github.com/sluicegw/sluice/internal/config"
)

// One test per translation bug found by the golden files and the fuzz
// targets, each failing before its fix.

func flavor(t *testing.T, f Flavor) *Provider {
	t.Helper()
	p, err := New(config.Provider{Name: string(f), Type: string(f), BaseURL: "http://127.0.0.1:1/v1"}, llm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func encodeFor(t *testing.T, f Flavor, body string) map[string]any {
	t.Helper()
	req, err := DecodeChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(flavor(t, f).encodeChat(&llm.Call{Model: "m", Request: req}, false), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// Mistral refuses fields it does not know with a 422: the top-level user
// and a name on anything but a tool message.
func TestMistralSendsNoUserOrName(t *testing.T) {
	m := encodeFor(t, FlavorMistral, `{"model":"x","user":"u1","messages":[{"role":"system","name":"s","content":"a"},{"role":"user","name":"alice","content":"b"},
		{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","name":"f","tool_call_id":"c","content":"r"}]}`)
	if _, ok := m["user"]; ok {
		t.Error("user sent to Mistral")
	}
	msgs := m["messages"].([]any)
	for i, want := range []bool{false, false, false, true} {
		_, has := msgs[i].(map[string]any)["name"]
		if has != want {
			t.Errorf("message %d: name sent %v, want %v", i, has, want)
		}
	}
	if m := encodeFor(t, FlavorOpenAI, `{"model":"x","user":"u1","messages":[{"role":"user","name":"alice","content":"b"}]}`); m["user"] != "u1" || !strings.Contains(jsonOf(m), `"name":"alice"`) {
		t.Errorf("OpenAI lost user or name: %s", jsonOf(m))
	}
}

func TestAzureSendsNoModel(t *testing.T) {
	if m := encodeFor(t, FlavorAzure, `{"model":"x","messages":[{"role":"user","content":"hi"}]}`); m["model"] != nil {
		t.Errorf("model %q sent to Azure", m["model"])
	}
}

func TestToolStrictKept(t *testing.T) {
	body := `{"model":"x","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"},"strict":true}},{"type":"function","function":{"name":"g"}}]}`
	tools := encodeFor(t, FlavorOpenAI, body)["tools"].([]any)
	if got := jsonOf(tools); !strings.Contains(got, `"strict":true`) || strings.Count(got, "strict") != 1 {
		t.Errorf("tools %s", got)
	}
}

// Several text parts were joined into one string without a separator.
func TestSeveralTextPartsStayParts(t *testing.T) {
	m := encodeFor(t, FlavorOpenAI, `{"model":"x","messages":[{"role":"user","content":[{"type":"text","text":"One."},{"type":"text","text":""},{"type":"text","text":"Two."}]}]}`)
	if got, want := jsonOf(m["messages"]), `[{"content":[{"text":"One.","type":"text"},{"text":"Two.","type":"text"}],"role":"user"}]`; got != want {
		t.Errorf("messages %s, want %s", got, want)
	}
}

// Tool messages take text only: images of tool results (from Anthropic
// clients) follow the run of tool messages in a user message.
func TestToolResultImagesFollowInUserMessage(t *testing.T) {
	img := &llm.Image{MediaType: "image/png", Data: "AA=="}
	req := &llm.Request{Messages: []llm.Message{
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "a", Name: "f"}, {ID: "b", Name: "f"}}},
		{Role: llm.RoleTool, ToolCallID: "a", Content: []llm.Part{{Type: llm.PartText, Text: "shot"}, {Type: llm.PartImage, Image: img}}},
		{Role: llm.RoleTool, ToolCallID: "b", Content: []llm.Part{{Type: llm.PartImage, Image: img}}},
		{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: "next"}}},
	}}
	var m struct{ Messages []map[string]any }
	_ = json.Unmarshal(flavor(t, FlavorOpenAI).encodeChat(&llm.Call{Model: "m", Request: req}, false), &m)
	var roles []string
	for _, msg := range m.Messages {
		roles = append(roles, msg["role"].(string))
		if msg["role"] == "tool" && strings.Contains(jsonOf(msg), "image_url") {
			t.Errorf("an image in a tool message: %s", jsonOf(msg))
		}
	}
	if got := strings.Join(roles, ","); got != "assistant,tool,tool,user,user" {
		t.Fatalf("roles %s", got)
	}
	if got := jsonOf(m.Messages[3]["content"]); strings.Count(got, `"type":"image_url"`) != 2 {
		t.Errorf("the images' user message holds %s", got)
	}
}

// OpenAI always sends refusal (null when the model did not refuse).
func TestEncodeChatRefusal(t *testing.T) {
	for _, tt := range []struct {
		resp llm.Response
		want string
	}{
		{llm.Response{Text: "hi"}, `"content":"hi","refusal":null`},
		{llm.Response{Refusal: "no"}, `"content":null,"refusal":"no"`},
	} {
		if got := string(EncodeChat(&tt.resp, "id", "m", 1)); !strings.Contains(got, tt.want) {
			t.Errorf("%s does not hold %s", got, tt.want)
		}
	}
}

// The chunk head quoted the id with Go's syntax (\x01), which is not JSON.
func TestStreamWriterQuotesAsJSON(t *testing.T) {
	var buf bytes.Buffer
	w := NewStreamWriter(&buf, nil, "id\x01\xff", "m\x02", 1, false)
	_ = w.Event(llm.Event{Type: llm.EventStart})
	_ = w.Event(llm.Event{Type: llm.EventFinish, Finish: llm.FinishStop})
	_, datas := llmtest.SSEData(buf.Bytes())
	for _, d := range datas {
		if !json.Valid(d) {
			t.Errorf("not JSON: %s", d)
		}
	}
}

func readStream(t *testing.T, body string) []map[string]any {
	t.Helper()
	s := newStream(context.Background(), io.NopCloser(strings.NewReader(body)))
	evs, err := llmtest.Drain(s, 1000)
	if err != io.EOF {
		t.Fatalf("end %v", err)
	}
	var out []map[string]any
	for _, ev := range evs {
		out = append(out, llmtest.EventJSON(ev))
	}
	return out
}

// A server that leaves out the index of tool-call deltas: each fragment
// started a new call.
func TestStreamToolDeltasWithoutIndex(t *testing.T) {
	evs := readStream(t, `data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{\"q\":"}}]}}]}

data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"1}"}}]}}]}

data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]}}]}

data: {"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: [DONE]

`)
	want := `[{"id":"x","type":"start"},{"id":"a","index":0,"name":"f","type":"tool_start"},{"index":0,"text":"{\"q\":","type":"tool_args"},{"index":0,"text":"1}","type":"tool_args"},{"id":"b","index":1,"name":"g","type":"tool_start"},{"index":1,"text":"{}","type":"tool_args"},{"finish":"tool_calls","type":"finish"}]`
	if got := jsonOf(evs); got != want {
		t.Errorf("events\n%s\nwant\n%s", got, want)
	}
}

// A call streamed without arguments reached clients with arguments "",
// which is not JSON; content after the finish broke the event order.
func TestStreamToolWithoutArguments(t *testing.T) {
	evs := readStream(t, `data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":""}}]}}]}

data: {"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: {"id":"x","choices":[{"index":0,"delta":{"content":"late"},"finish_reason":"stop"}]}

data: [DONE]

`)
	want := `[{"id":"x","type":"start"},{"id":"a","index":0,"name":"f","type":"tool_start"},{"index":0,"text":"{}","type":"tool_args"},{"finish":"tool_calls","type":"finish"}]`
	if got := jsonOf(evs); got != want {
		t.Errorf("events\n%s\nwant\n%s", got, want)
	}
}

// TestAnswerWithError: some compatible servers report a failure with
// status 200 and an error body; it is a classified error, not an answer
// without choices.
func TestAnswerWithError(t *testing.T) {
	body := []byte(`{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}`)
	p := fileProvider(t, &body)
	_, err := p.Chat(context.Background(), anyCall)
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || pe.Class != llm.ClassRateLimit || pe.Message != "Rate limit reached for requests" {
		t.Fatalf("got %v (%#v)", err, pe)
	}
	body = []byte(`{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]`) // cut short
	if _, err := p.Chat(context.Background(), anyCall); !errors.As(err, &pe) || pe.Class != llm.ClassBadResponse {
		t.Fatalf("a cut answer: %v", err)
	}
}
