package gemini

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/testkit"
)

func TestChatText(t *testing.T) {
	m := testkit.StartMockGemini(t)
	m.Key = "k1"
	p := newTestProvider(t, m, map[string]string{"X-Team": "blue", "X-Goog-Api-Key": "from-config"})
	m.Enqueue(testkit.GeminiReply{Answer: &testkit.GeminiAnswer{
		ResponseID: "r1", ModelVersion: "gemini-2.5-flash-001", Text: "Hello there.",
		Usage: testkit.GeminiUsage{Prompt: 7, Candidates: 3},
	}})
	resp, err := p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("Hi")}}))
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Response{ID: "r1", Model: "gemini-2.5-flash-001", Text: "Hello there.", FinishReason: llm.FinishStop,
		Usage: llm.Usage{Input: 7, Output: 3}}
	if resp.ID != want.ID || resp.Model != want.Model || resp.Text != want.Text || resp.FinishReason != want.FinishReason ||
		resp.Usage != want.Usage || resp.ToolCalls != nil {
		t.Fatalf("response %+v, want %+v", resp, want)
	}
	r := m.LastRequest()
	if r.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || r.Query != "" {
		t.Errorf("request to %s?%s", r.Path, r.Query)
	}
	if r.Header.Get("X-Goog-Api-Key") != "k1" || r.Header.Get("X-Team") != "blue" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("headers %v", r.Header)
	}
	if !jsonEq(t, body(t, r), `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}`) {
		t.Errorf("body %s", r.Body)
	}
}

func TestSystemPromptAndMultiTurn(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	req := &llm.Request{Messages: []llm.Message{
		textMsg(llm.RoleSystem, "Be brief."),
		userText("What is 2+2?"),
		textMsg(llm.RoleAssistant, "4."),
		textMsg(llm.RoleSystem, "Answer in French."),
		userText("And 3+3?"),
		userText("Please."),
	}}
	if _, err := p.Chat(context.Background(), call(req)); err != nil {
		t.Fatal(err)
	}
	want := `{
		"systemInstruction":{"parts":[{"text":"Be brief."},{"text":"Answer in French."}]},
		"contents":[
			{"role":"user","parts":[{"text":"What is 2+2?"}]},
			{"role":"model","parts":[{"text":"4."}]},
			{"role":"user","parts":[{"text":"And 3+3?"},{"text":"Please."}]}]}`
	if got := body(t, m.LastRequest()); !jsonEq(t, got, want) {
		t.Errorf("body %s", m.LastRequest().Body)
	}
}

func TestImages(t *testing.T) {
	// An image URL in a request is handed to Gemini, never fetched by
	// the gateway: this server counts any fetch.
	var fetched atomic.Int64
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) }))
	defer img.Close()

	png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{
		{Type: llm.PartText, Text: "Compare these."},
		{Type: llm.PartImage, Image: &llm.Image{MediaType: "image/webp", Data: "UklGRg=="}},
		{Type: llm.PartImage, Image: &llm.Image{Data: png}},
		{Type: llm.PartImage, Image: &llm.Image{URL: "data:image/gif;base64,R0lGODlh"}},
		{Type: llm.PartImage, Image: &llm.Image{URL: img.URL + "/cat.PNG?size=large"}},
		{Type: llm.PartImage, Image: &llm.Image{URL: img.URL + "/photo", Detail: "high"}},
	}}}}
	if _, err := p.Chat(context.Background(), call(req)); err != nil {
		t.Fatal(err)
	}
	want := `{"contents":[{"role":"user","parts":[
		{"text":"Compare these."},
		{"inlineData":{"mimeType":"image/webp","data":"UklGRg=="}},
		{"inlineData":{"mimeType":"image/png","data":"` + png + `"}},
		{"inlineData":{"mimeType":"image/gif","data":"R0lGODlh"}},
		{"fileData":{"mimeType":"image/png","fileUri":"` + img.URL + `/cat.PNG?size=large"}},
		{"fileData":{"mimeType":"image/jpeg","fileUri":"` + img.URL + `/photo"}}]}]}`
	if got := body(t, m.LastRequest()); !jsonEq(t, got, want) {
		t.Errorf("body %s", m.LastRequest().Body)
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the adapter fetched an image URL %d times", n)
	}

	for name, im := range map[string]*llm.Image{
		"ftp":            {URL: "ftp://example.com/a.png"},
		"file":           {URL: "file:///etc/passwd"},
		"non-base64 url": {URL: "data:image/png,rawbytes"},
	} {
		t.Run(name, func(t *testing.T) {
			n := len(m.Requests())
			_, err := p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{{Role: llm.RoleUser,
				Content: []llm.Part{{Type: llm.PartImage, Image: im}}}}}))
			providerError(t, err, llm.ClassCaller)
			if len(m.Requests()) != n {
				t.Error("a request was sent")
			}
		})
	}
}

// weatherSchema uses keywords Gemini rejects; the adapter must rewrite it.
const weatherSchema = `{
	"$schema": "http://json-schema.org/draft-07/schema#",
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"city": {"type": "string", "description": "City name", "examples": ["Paris"]},
		"unit": {"type": ["string", "null"], "enum": ["c", "f"], "default": "c"},
		"days": {"type": "integer", "minimum": 1, "maximum": 10, "exclusiveMaximum": 11},
		"place": {"$ref": "#/$defs/place"}
	},
	"required": ["city", "ghost"],
	"$defs": {"place": {"type": "object", "properties": {"lat": {"type": "number", "format": "double"}, "kind": {"const": "geo"}}}}
}`

func TestToolsRoundTrip(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	tools := []llm.Tool{
		{Name: "get_weather", Description: "Weather for a city", Parameters: json.RawMessage(weatherSchema)},
		{Name: "get_time", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)},
	}
	conv := []llm.Message{userText("Weather and time in Paris?")}

	// Turn 1: the model calls both tools at once.
	m.Enqueue(testkit.GeminiReply{Answer: &testkit.GeminiAnswer{ResponseID: "resp-A1", Calls: []testkit.GeminiCall{
		{Name: "get_weather", Args: map[string]any{"city": "Paris"}, Signature: "c2lnLXdlYXRoZXI="},
		{ID: "fc-9", Name: "get_time", Args: map[string]any{}},
	}, Usage: testkit.GeminiUsage{Prompt: 50, Candidates: 10}}})
	resp, err := p.Chat(context.Background(), call(&llm.Request{Messages: conv, Tools: tools,
		ToolChoice: &llm.ToolChoice{Mode: llm.ToolAuto}}))
	if err != nil {
		t.Fatal(err)
	}
	wantCalls := []llm.ToolCall{
		{ID: "call_respA1_0", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{ID: "gemini_fc-9", Name: "get_time", Arguments: `{}`},
	}
	if resp.FinishReason != llm.FinishToolCalls || !jsonEq(t, resp.ToolCalls, mustJSON(wantCalls)) || resp.Text != "" {
		t.Fatalf("response %+v", resp)
	}
	wantTools := `{"functionDeclarations":[
		{"name":"get_weather","description":"Weather for a city","parameters":{"type":"OBJECT","properties":{
			"city":{"type":"STRING","description":"City name"},
			"unit":{"type":"STRING","nullable":true,"enum":["c","f"]},
			"days":{"type":"INTEGER","minimum":1,"maximum":10},
			"place":{"type":"OBJECT","properties":{"lat":{"type":"NUMBER","format":"double"},"kind":{"type":"STRING","enum":["geo"]}}}},
			"required":["city"]}},
		{"name":"get_time"}]}`
	b1 := body(t, m.LastRequest())
	if !jsonEq(t, b1["tools"].([]any)[0], wantTools) || !jsonEq(t, b1["toolConfig"], `{"functionCallingConfig":{"mode":"AUTO"}}`) {
		t.Errorf("tools %s", m.LastRequest().Body)
	}

	// Turn 2: the results go back; Gemini needs the function names, the
	// thought signature and its own call id.
	conv = append(conv,
		llm.Message{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartText, Text: "Checking."}}, ToolCalls: resp.ToolCalls},
		llm.Message{Role: llm.RoleTool, ToolCallID: "call_respA1_0", Content: []llm.Part{{Type: llm.PartText, Text: `{"temp":21}`}}},
		llm.Message{Role: llm.RoleTool, ToolCallID: "gemini_fc-9", Content: []llm.Part{{Type: llm.PartText, Text: "12:00"}}},
		userText("Thanks!"),
	)
	if _, err := p.Chat(context.Background(), call(&llm.Request{Messages: conv, Tools: tools})); err != nil {
		t.Fatal(err)
	}
	want := `[
		{"role":"user","parts":[{"text":"Weather and time in Paris?"}]},
		{"role":"model","parts":[{"text":"Checking."},
			{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2lnLXdlYXRoZXI="},
			{"functionCall":{"id":"fc-9","name":"get_time","args":{}}}]},
		{"role":"user","parts":[
			{"functionResponse":{"name":"get_weather","response":{"temp":21}}},
			{"functionResponse":{"id":"fc-9","name":"get_time","response":{"result":"12:00"}}}]},
		{"role":"user","parts":[{"text":"Thanks!"}]}]`
	if got := body(t, m.LastRequest())["contents"]; !jsonEq(t, got, want) {
		t.Errorf("contents %s", m.LastRequest().Body)
	}
}

func TestToolResults(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	// Calls made by another provider: no signature known, no Gemini ids.
	asst := llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
		{ID: "toolu_1", Name: "a", Arguments: `{"x":1}`},
		{ID: "toolu_2", Name: "b", Arguments: ``},
		{ID: "toolu_3", Name: "c", Arguments: `{"q":"z"}`},
	}}
	conv := []llm.Message{userText("go"), asst,
		{Role: llm.RoleTool, ToolCallID: "toolu_1", Content: []llm.Part{{Type: llm.PartText, Text: `[1,2]`}}},
		{Role: llm.RoleTool, ToolCallID: "toolu_2", IsError: true, Content: []llm.Part{{Type: llm.PartText, Text: "boom"}}},
		{Role: llm.RoleTool, ToolCallID: "toolu_3", Content: []llm.Part{{Type: llm.PartText, Text: "see image"},
			{Type: llm.PartImage, Image: &llm.Image{MediaType: "image/png", Data: "AAAA"}}}},
	}
	if _, err := p.Chat(context.Background(), call(&llm.Request{Messages: conv})); err != nil {
		t.Fatal(err)
	}
	want := `[
		{"role":"user","parts":[{"text":"go"}]},
		{"role":"model","parts":[
			{"functionCall":{"name":"a","args":{"x":1}},"thoughtSignature":"skip_thought_signature_validator"},
			{"functionCall":{"name":"b","args":{}}},
			{"functionCall":{"name":"c","args":{"q":"z"}}}]},
		{"role":"user","parts":[
			{"functionResponse":{"name":"a","response":{"result":[1,2]}}},
			{"functionResponse":{"name":"b","response":{"error":"boom"}}},
			{"functionResponse":{"name":"c","response":{"result":"see image"}}},
			{"inlineData":{"mimeType":"image/png","data":"AAAA"}}]}]`
	if got := body(t, m.LastRequest())["contents"]; !jsonEq(t, got, want) {
		t.Errorf("contents %s", m.LastRequest().Body)
	}

	// A result for a call nobody made is the caller's fault.
	n := len(m.Requests())
	_, err := p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("go"),
		{Role: llm.RoleTool, ToolCallID: "nope", Content: []llm.Part{{Type: llm.PartText, Text: "x"}}}}}))
	providerError(t, err, llm.ClassCaller)
	if len(m.Requests()) != n {
		t.Error("a request was sent")
	}
}

func TestToolChoice(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	tools := []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"object","properties":{"a":{"type":"string"}}}`)}}
	for _, tc := range []struct {
		choice llm.ToolChoice
		want   string
	}{
		{llm.ToolChoice{Mode: llm.ToolAuto}, `{"functionCallingConfig":{"mode":"AUTO"}}`},
		{llm.ToolChoice{Mode: llm.ToolNone}, `{"functionCallingConfig":{"mode":"NONE"}}`},
		{llm.ToolChoice{Mode: llm.ToolRequired}, `{"functionCallingConfig":{"mode":"ANY"}}`},
		{llm.ToolChoice{Mode: llm.ToolNamed, Name: "f"}, `{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}`},
	} {
		t.Run(string(tc.choice.Mode), func(t *testing.T) {
			_, err := p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}, Tools: tools, ToolChoice: &tc.choice}))
			if err != nil {
				t.Fatal(err)
			}
			if got := body(t, m.LastRequest())["toolConfig"]; !jsonEq(t, got, tc.want) {
				t.Errorf("toolConfig %s", m.LastRequest().Body)
			}
		})
	}
}

func TestGenerationConfig(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	for _, tc := range []struct {
		name string
		req  llm.Request
		want string
	}{
		{"sampling", llm.Request{Temperature: ptr(0.2), TopP: ptr(0.9), TopK: ptr(40), MaxTokens: 256,
			Stop: []string{"END", "\n\n"}, Seed: ptr(int64(7)), User: "u-1", ParallelToolCalls: ptr(false)},
			`{"temperature":0.2,"topP":0.9,"topK":40,"maxOutputTokens":256,"stopSequences":["END","\n\n"],"seed":7}`},
		{"zero temperature", llm.Request{Temperature: ptr(0.0)}, `{"temperature":0}`},
		{"64-bit seed", llm.Request{Seed: ptr(int64(1<<40 + 5))}, `{"seed":5}`},
		{"json object", llm.Request{ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONObject}},
			`{"responseMimeType":"application/json"}`},
		{"json schema", llm.Request{ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "r", Strict: true,
			Schema: json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{"name":{"type":"string"},"age":{"type":["integer","null"]}},"required":["name","age"]}`)}},
			`{"responseMimeType":"application/json","responseSchema":{"type":"OBJECT","properties":{"name":{"type":"STRING"},"age":{"type":"INTEGER","nullable":true}},"required":["name","age"],"propertyOrdering":["name","age"]}}`},
		{"text format", llm.Request{ResponseFormat: &llm.ResponseFormat{Type: llm.FormatText}}, `null`},
		{"nothing", llm.Request{}, `null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req
			r.Messages = []llm.Message{userText("x")}
			if _, err := p.Chat(context.Background(), call(&r)); err != nil {
				t.Fatal(err)
			}
			if got := body(t, m.LastRequest())["generationConfig"]; !jsonEq(t, got, tc.want) {
				t.Errorf("generationConfig %s", m.LastRequest().Body)
			}
		})
	}
}

func TestUsageAndThoughts(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	a := &testkit.GeminiAnswer{Text: "42", Thought: "Let me think about it.",
		Usage: testkit.GeminiUsage{Prompt: 100, Candidates: 2, Cached: 60, Thoughts: 30, ToolUse: 4}}
	want := llm.Usage{Input: 104, CachedInput: 60, Output: 32, Reasoning: 30}
	m.Enqueue(testkit.GeminiReply{Answer: a})
	resp, err := p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "42" || resp.Usage != want {
		t.Errorf("response %+v", resp)
	}
	m.Enqueue(testkit.GeminiReply{Answer: a})
	evs, err := streamAll(t, p, call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	if err.Error() != "EOF" {
		t.Fatal(err)
	}
	var text string
	var last llm.Usage
	for _, ev := range evs {
		switch ev.Type {
		case llm.EventText:
			text += ev.Text
		case llm.EventUsage:
			last = ev.Usage
		}
	}
	if text != "42" || last != want {
		t.Errorf("stream text %q usage %+v", text, last)
	}
}

func TestFinishReasons(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	for _, tc := range []struct {
		reason string
		block  string
		want   llm.FinishReason
		class  llm.Class
	}{
		{reason: "STOP", want: llm.FinishStop},
		{reason: "MAX_TOKENS", want: llm.FinishLength},
		{reason: "SAFETY", want: llm.FinishContentFilter},
		{reason: "RECITATION", want: llm.FinishContentFilter},
		{reason: "BLOCKLIST", want: llm.FinishContentFilter},
		{reason: "PROHIBITED_CONTENT", want: llm.FinishContentFilter},
		{reason: "SPII", want: llm.FinishContentFilter},
		{reason: "OTHER", want: llm.FinishStop},
		{reason: "SOMETHING_NEW", want: llm.FinishStop},
		{block: "PROHIBITED_CONTENT", want: llm.FinishContentFilter},
		{reason: "MALFORMED_FUNCTION_CALL", class: llm.ClassBadResponse},
	} {
		t.Run(tc.reason+tc.block, func(t *testing.T) {
			a := &testkit.GeminiAnswer{Text: "partial", FinishReason: tc.reason, BlockReason: tc.block}
			if tc.reason == "MALFORMED_FUNCTION_CALL" {
				a.Text = ""
			}
			m.Enqueue(testkit.GeminiReply{Answer: a}, testkit.GeminiReply{Answer: a})
			resp, err := p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
			evs, serr := streamAll(t, p, call(&llm.Request{Messages: []llm.Message{userText("x")}}))
			if tc.class != 0 {
				pe := providerError(t, err, tc.class)
				if pe.Type != tc.reason {
					t.Errorf("type %q", pe.Type)
				}
				providerError(t, serr, tc.class)
				return
			}
			if err != nil || resp.FinishReason != tc.want {
				t.Fatalf("chat: %+v, %v", resp, err)
			}
			var fin []llm.FinishReason
			for _, ev := range evs {
				if ev.Type == llm.EventFinish {
					fin = append(fin, ev.Finish)
				}
			}
			if serr.Error() != "EOF" || len(fin) != 1 || fin[0] != tc.want {
				t.Fatalf("stream finish %v, end %v", fin, serr)
			}
		})
	}
}

func TestEmbed(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	resp, err := p.Embed(context.Background(), &llm.EmbedCall{Model: "gemini-embedding-001", Key: "k1",
		Request: &llm.EmbeddingsRequest{Input: []string{"alpha", "beta", "gamma"}, Dimensions: 6}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Vectors) != 3 || len(resp.Vectors[0]) != 6 || resp.Model != "gemini-embedding-001" {
		t.Fatalf("response %+v", resp)
	}
	r := m.LastRequest()
	want := `{"requests":[
		{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"alpha"}]},"outputDimensionality":6},
		{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"beta"}]},"outputDimensionality":6},
		{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"gamma"}]},"outputDimensionality":6}]}`
	if r.Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" || r.Header.Get("X-Goog-Api-Key") != "k1" || !jsonEq(t, body(t, r), want) {
		t.Errorf("request %s %s", r.Path, r.Body)
	}
	// Same text, same vector; the order is kept.
	again, err := p.Embed(context.Background(), &llm.EmbedCall{Model: "gemini-embedding-001",
		Request: &llm.EmbeddingsRequest{Input: []string{"gamma"}, Dimensions: 6}})
	if err != nil || !jsonEq(t, again.Vectors[0], mustJSON(resp.Vectors[2])) {
		t.Errorf("vectors differ: %v %v", again, err)
	}

	m.Enqueue(testkit.GeminiReply{Error: &testkit.GeminiError{Code: 429, Status: "RESOURCE_EXHAUSTED", Message: "quota", RetryDelay: "2s"}})
	_, err = p.Embed(context.Background(), &llm.EmbedCall{Model: "gemini-embedding-001", Request: &llm.EmbeddingsRequest{Input: []string{"a"}}})
	if pe := providerError(t, err, llm.ClassRateLimit); pe.RetryAfter.Seconds() != 2 {
		t.Errorf("retry after %v", pe.RetryAfter)
	}
	m.Enqueue(testkit.GeminiReply{RawBody: `{"embeddings":[]}`})
	_, err = p.Embed(context.Background(), &llm.EmbedCall{Model: "gemini-embedding-001", Request: &llm.EmbeddingsRequest{Input: []string{"a"}}})
	providerError(t, err, llm.ClassBadResponse)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestReasoningBudget checks how each way of asking for reasoning becomes
// generationConfig.thinkingConfig, through the mock that validates the
// request as the API does.
func TestReasoningBudget(t *testing.T) {
	m := testkit.StartMockGemini(t)
	m.Key = "k1"
	p := newTestProvider(t, m, nil)
	for _, tc := range []struct {
		r    *llm.Reasoning
		want string
	}{
		{&llm.Reasoning{Mode: llm.ReasonBudget, Budget: 3000}, `{"thinkingConfig":{"thinkingBudget":3000}}`},
		{&llm.Reasoning{Mode: llm.ReasonEffort, Effort: "high"}, `{"thinkingConfig":{"thinkingBudget":24576}}`},
		{&llm.Reasoning{Mode: llm.ReasonEffort, Effort: "none"}, `{"thinkingConfig":{"thinkingBudget":0}}`},
		{&llm.Reasoning{Mode: llm.ReasonAdaptive}, `{"thinkingConfig":{"thinkingBudget":-1}}`},
	} {
		m.Enqueue(testkit.GeminiReply{Answer: &testkit.GeminiAnswer{Text: "ok"}})
		if _, err := p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("Hi")}, Reasoning: tc.r})); err != nil {
			t.Fatal(err)
		}
		got := body(t, m.LastRequest())["generationConfig"]
		if !jsonEq(t, got, tc.want) {
			t.Errorf("%+v: generationConfig %v, want %s", *tc.r, got, tc.want)
		}
	}
}
