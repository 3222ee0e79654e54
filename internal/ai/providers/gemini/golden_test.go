package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/genai"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/testkit"
)

// Golden files pin the wire format both ways:
//
//	testdata/request/NAME.json            the body sent for canonical request NAME
//	testdata/response/NAME.json           a generateContent answer (input)
//	testdata/response/NAME.canonical.json what Chat makes of it
//	testdata/stream/NAME.sse              a streamGenerateContent?alt=sse answer (input)
//	testdata/stream/NAME.events.json      the events Stream makes of it, and how it ended
//
// go test ./internal/ai/providers/gemini -run Golden -update rewrites the
// outputs.
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func goldenRequests() map[string]*llm.Request {
	img := &llm.Image{MediaType: "image/png", Data: "iVBORw0KGgo="}
	return map[string]*llm.Request{
		"text": {Messages: []llm.Message{userText("Hello")}},
		"system_multiturn": {Messages: []llm.Message{
			textMsg(llm.RoleSystem, "You are terse."),
			userText("Name a color."),
			textMsg(llm.RoleAssistant, "Blue."),
			userText("Another."),
		}, MaxTokens: 64},
		"images": {Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
			{Type: llm.PartText, Text: "What is in these?"},
			{Type: llm.PartImage, Image: img},
			{Type: llm.PartImage, Image: &llm.Image{URL: "https://example.com/pics/cat.webp"}},
			{Type: llm.PartImage, Image: &llm.Image{URL: "data:image/jpeg;base64,/9j/4AAQ"}},
		}}}},
		"tools_named_choice": {Messages: []llm.Message{userText("Weather in Paris?")},
			Tools: []llm.Tool{
				{Name: "get_weather", Description: "Current weather", Parameters: json.RawMessage(weatherSchema)},
				{Name: "noop", Description: "Does nothing"},
			},
			ToolChoice: &llm.ToolChoice{Mode: llm.ToolNamed, Name: "get_weather"}},
		"tool_results": {Messages: []llm.Message{
			textMsg(llm.RoleSystem, "Use tools."),
			userText("Weather in Paris and Tokyo?"),
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
				{ID: "call_abc_0", Name: "get_weather", Arguments: `{"location":"Paris"}`},
				{ID: "gemini_x7", Name: "get_weather", Arguments: `{"location":"Tokyo"}`},
			}},
			{Role: llm.RoleTool, ToolCallID: "call_abc_0", Content: []llm.Part{{Type: llm.PartText, Text: `{"temp_c":18}`}}},
			{Role: llm.RoleTool, ToolCallID: "gemini_x7", Content: []llm.Part{{Type: llm.PartText, Text: "rainy, 22C"}}},
			textMsg(llm.RoleAssistant, "Paris 18C, Tokyo rainy 22C."),
			userText("Thanks"),
		}, Tools: []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}`)}}},
		"json_schema": {Messages: []llm.Message{userText("A person, please.")},
			ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "person", Strict: true, Schema: json.RawMessage(
				`{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0},"tags":{"type":"array","items":{"type":"string"}},"email":{"type":["string","null"],"format":"email"}},"required":["name","age","tags","email"],"additionalProperties":false}`)}},
		"sampling": {Messages: []llm.Message{userText("Write a haiku.")},
			Temperature: ptr(0.7), TopP: ptr(0.95), TopK: ptr(32), MaxTokens: 100, Stop: []string{"\n\n\n"}, Seed: ptr(int64(1234)),
			ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONObject}},
	}
}

func TestGoldenRequests(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	for name, req := range goldenRequests() {
		t.Run(name, func(t *testing.T) {
			b, err := p.encodeRequest(call(req))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := json.Indent(&out, b, "", "  "); err != nil {
				t.Fatal(err)
			}
			out.WriteByte('\n')
			golden(t, filepath.Join("testdata", "request", name+".json"), out.Bytes())
			// The mock accepts it as the API would.
			if _, err := p.Chat(context.Background(), call(req)); err != nil {
				t.Errorf("the mock rejected it: %v", err)
			}
		})
	}
}

func TestGoldenResponses(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "response", "*.json"))
	srv, p := fileServer(t)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".canonical.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			checkWithSDK(t, raw)
			srv.body = raw
			resp, err := p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := json.MarshalIndent(resp, "", "  ")
			golden(t, strings.TrimSuffix(f, ".json")+".canonical.json", append(out, '\n'))
		})
	}
	if n < 5 {
		t.Fatalf("only %d response files", n)
	}
}

func TestGoldenStreams(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "stream", "*.sse"))
	srv, p := fileServer(t)
	if len(files) < 5 {
		t.Fatalf("only %d stream files", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sse")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n\n") {
				if d, ok := strings.CutPrefix(ev, "data: "); ok {
					checkWithSDK(t, []byte(d))
				}
			}
			srv.body = raw
			evs, end := streamAll(t, p, call(&llm.Request{Messages: []llm.Message{userText("x")}}))
			out := struct {
				Events []map[string]any `json:"events"`
				End    string           `json:"end"`
			}{End: end.Error()}
			for _, ev := range evs {
				out.Events = append(out.Events, eventJSON(ev))
			}
			b, _ := json.MarshalIndent(out, "", "  ")
			golden(t, filepath.Join("testdata", "stream", name+".events.json"), append(b, '\n'))
		})
	}
}

var eventNames = map[llm.EventType]string{
	llm.EventStart: "start", llm.EventText: "text", llm.EventToolStart: "tool_start",
	llm.EventToolArgs: "tool_args", llm.EventFinish: "finish", llm.EventUsage: "usage",
}

func eventJSON(ev llm.Event) map[string]any {
	m := map[string]any{"type": eventNames[ev.Type]}
	if ev.Type == llm.EventToolStart || ev.Type == llm.EventToolArgs {
		m["index"] = ev.Index
	}
	for k, v := range map[string]string{"text": ev.Text, "id": ev.ID, "name": ev.Name, "model": ev.Model, "finish": string(ev.Finish)} {
		if v != "" {
			m[k] = v
		}
	}
	if ev.Type == llm.EventUsage {
		m["usage"] = ev.Usage
	}
	return m
}

// goldenServer answers every request with body: a recorded answer served
// through a real socket.
type goldenServer struct{ body []byte }

func fileServer(t *testing.T) (*goldenServer, *Provider) {
	gs := &goldenServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.HasSuffix(r.URL.Path, ":streamGenerateContent") {
			w.Header().Set("Content-Type", "text/event-stream")
		} else {
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		}
		_, _ = w.Write(gs.body)
	}))
	t.Cleanup(srv.Close)
	p, err := New(configFor(srv.URL), llm.Options{Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return gs, p
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// checkWithSDK decodes a recorded answer with the official SDK's type;
// every non-zero value must survive the SDK's round trip, so the file
// has no misspelled field. Error objects are checked as genai.APIError.
func checkWithSDK(t *testing.T, raw []byte) {
	t.Helper()
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	var target any = &genai.GenerateContentResponse{}
	// The SDK's Gemini API converter renames this one field of the wire
	// format to the name its (Vertex-shaped) type uses.
	raw = bytes.ReplaceAll(raw, []byte(`"citationSources"`), []byte(`"citations"`))
	if e, ok := probe["error"]; ok {
		raw, target = e, &genai.APIError{}
	}
	if err := json.Unmarshal(raw, target); err != nil {
		t.Fatalf("genai cannot decode %s: %v", raw, err)
	}
	back, _ := json.Marshal(target)
	var want, got any
	_ = json.Unmarshal(raw, &want)
	_ = json.Unmarshal(back, &got)
	if d := lost("", want, got); d != "" {
		t.Errorf("not in genai's types: %s", d)
	}
}

func lost(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if d := lost(path+"."+k, w[k], g[k]); d != "" {
				return d
			}
		}
	case []any:
		g, _ := got.([]any)
		if len(g) != len(w) {
			return fmt.Sprintf("%s: %d elements, got %d", path, len(w), len(g))
		}
		for i := range w {
			if d := lost(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
	case float64:
		if w != 0 && w != got {
			return fmt.Sprintf("%s: %v, got %v", path, w, got)
		}
	case string:
		if w != "" && w != got {
			return fmt.Sprintf("%s: %q, got %v", path, w, got)
		}
	case bool:
		if w && got != true {
			return fmt.Sprintf("%s: true, got %v", path, got)
		}
	}
	return ""
}
