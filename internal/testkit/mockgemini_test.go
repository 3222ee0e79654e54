package testkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"
)

// The mock's replies are checked with the official Go SDK
// (google.golang.org/genai) as the client: the SDK must decode them, and
// every field the mock sends must survive a round trip through the SDK's
// types (so no field is misspelled or of the wrong JSON type).

func geminiSDKClient(t *testing.T, m *MockGemini, key string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey:      key,
		Backend:     genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: m.URL, APIVersion: "v1beta"},
		HTTPClient:  &http.Client{Timeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var sdkAnswers = map[string]*GeminiAnswer{
	"text": {Text: "The quick brown fox jumps over the lazy dog.", Usage: GeminiUsage{Prompt: 12, Candidates: 10}},
	"thinking": {Text: "42", Thought: "Let me think.", ResponseID: "resp-1", ModelVersion: "gemini-2.5-pro",
		Usage: GeminiUsage{Prompt: 100, Candidates: 1, Cached: 64, Thoughts: 30, ToolUse: 5}},
	"parallel calls": {Calls: []GeminiCall{
		{Name: "get_weather", Args: map[string]any{"city": "Paris"}, Signature: "c2lnbmF0dXJlLTE="},
		{ID: "fc-2", Name: "get_time", Args: map[string]any{"tz": "CET", "n": 2.5}},
	}, Usage: GeminiUsage{Prompt: 40, Candidates: 12}},
	"max tokens": {Text: "truncat", FinishReason: "MAX_TOKENS", Usage: GeminiUsage{Prompt: 5, Candidates: 2}},
	"blocked":    {BlockReason: "SAFETY", Usage: GeminiUsage{Prompt: 9}},
}

func TestMockGeminiRepliesDecodeWithSDK(t *testing.T) {
	m := StartMockGemini(t)
	m.Key = "test-key"
	c := geminiSDKClient(t, m, "test-key")
	ctx := context.Background()
	for name, a := range sdkAnswers {
		t.Run(name+"/whole", func(t *testing.T) {
			m.Enqueue(GeminiReply{Answer: a})
			resp, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("hi"), nil)
			if err != nil {
				t.Fatal(err)
			}
			checkSDKResponse(t, a, []*genai.GenerateContentResponse{resp})
			raw := mustCall(t, m, "gemini-2.5-flash", false, a)
			checkRoundTrip(t, raw[0])
		})
		t.Run(name+"/stream", func(t *testing.T) {
			m.Enqueue(GeminiReply{Answer: a})
			var chunks []*genai.GenerateContentResponse
			for resp, err := range c.Models.GenerateContentStream(ctx, "gemini-2.5-flash", genai.Text("hi"), nil) {
				if err != nil {
					t.Fatal(err)
				}
				chunks = append(chunks, resp)
			}
			checkSDKResponse(t, a, chunks)
			if r := m.LastRequest(); r.Query != "alt=sse" || r.Header.Get("X-Goog-Api-Key") != "test-key" {
				t.Errorf("SDK request %q key %q", r.Query, r.Header.Get("X-Goog-Api-Key"))
			}
			for _, raw := range mustCall(t, m, "gemini-2.5-flash", true, a) {
				checkRoundTrip(t, raw)
			}
		})
	}
}

// checkSDKResponse compares what the SDK decoded with the scripted answer.
func checkSDKResponse(t *testing.T, a *GeminiAnswer, chunks []*genai.GenerateContentResponse) {
	t.Helper()
	var text, thought string
	var calls []*genai.FunctionCall
	var finish genai.FinishReason
	var last *genai.GenerateContentResponse
	for _, r := range chunks {
		last = r
		if a.BlockReason != "" {
			if r.PromptFeedback == nil || string(r.PromptFeedback.BlockReason) != a.BlockReason || len(r.Candidates) != 0 {
				t.Fatalf("blocked answer decoded as %+v", r)
			}
			continue
		}
		if len(r.Candidates) != 1 {
			t.Fatalf("%d candidates", len(r.Candidates))
		}
		cand := r.Candidates[0]
		if cand.FinishReason != "" {
			finish = cand.FinishReason
		}
		if cand.Content == nil {
			continue
		}
		if cand.Content.Role != "model" {
			t.Errorf("role %q", cand.Content.Role)
		}
		for _, p := range cand.Content.Parts {
			switch {
			case p.Thought:
				thought += p.Text
			case p.FunctionCall != nil:
				calls = append(calls, p.FunctionCall)
			default:
				text += p.Text
			}
		}
	}
	if a.BlockReason == "" {
		want := a.FinishReason
		if want == "" {
			want = "STOP"
		}
		if text != a.Text || thought != a.Thought || string(finish) != want {
			t.Errorf("decoded text %q thought %q finish %q", text, thought, finish)
		}
		if len(calls) != len(a.Calls) {
			t.Fatalf("decoded %d calls, want %d", len(calls), len(a.Calls))
		}
		for i, c := range calls {
			if c.Name != a.Calls[i].Name || c.ID != a.Calls[i].ID || !reflect.DeepEqual(c.Args, a.Calls[i].Args) {
				t.Errorf("call %d decoded as %+v", i, c)
			}
		}
	}
	u := last.UsageMetadata
	if u == nil || int(u.PromptTokenCount) != a.Usage.Prompt || int(u.CandidatesTokenCount) != a.Usage.Candidates ||
		int(u.CachedContentTokenCount) != a.Usage.Cached || int(u.ThoughtsTokenCount) != a.Usage.Thoughts ||
		int(u.ToolUsePromptTokenCount) != a.Usage.ToolUse ||
		int(u.TotalTokenCount) != a.Usage.Prompt+a.Usage.Candidates+a.Usage.Thoughts+a.Usage.ToolUse {
		t.Errorf("usage decoded as %+v", u)
	}
}

// mustCall fetches the mock's raw reply (whole body, or each SSE data
// payload) for answer a.
func mustCall(t *testing.T, m *MockGemini, model string, stream bool, a *GeminiAnswer) [][]byte {
	t.Helper()
	m.Enqueue(GeminiReply{Answer: a})
	method, q := ":generateContent", ""
	if stream {
		method, q = ":streamGenerateContent", "?alt=sse"
	}
	req, _ := http.NewRequest(http.MethodPost, m.URL+"/v1beta/models/"+model+method+q,
		strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`))
	req.Header.Set("X-Goog-Api-Key", m.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if !stream {
		return [][]byte{body}
	}
	var out [][]byte
	for _, ev := range strings.Split(string(body), "\r\n\r\n") {
		if d, ok := strings.CutPrefix(ev, "data: "); ok {
			out = append(out, []byte(d))
		}
	}
	return out
}

// checkRoundTrip decodes raw with the SDK type and re-encodes it: every
// non-zero value of raw must come back unchanged.
func checkRoundTrip(t *testing.T, raw []byte) {
	t.Helper()
	var r genai.GenerateContentResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("SDK type does not decode %s: %v", raw, err)
	}
	back, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	_ = json.Unmarshal(raw, &want)
	_ = json.Unmarshal(back, &got)
	if diff := subsetDiff("", want, got); diff != "" {
		t.Errorf("field lost or changed through genai.GenerateContentResponse: %s\nraw: %s", diff, raw)
	}
}

// subsetDiff returns where want has a non-zero value that got lacks.
func subsetDiff(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		for k, v := range w {
			if d := subsetDiff(path+"."+k, v, g[k]); d != "" {
				return d
			}
		}
	case []any:
		g, _ := got.([]any)
		if len(g) != len(w) {
			return fmt.Sprintf("%s: %d elements, got %d", path, len(w), len(g))
		}
		for i := range w {
			if d := subsetDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
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

func TestMockGeminiErrorsDecodeWithSDK(t *testing.T) {
	m := StartMockGemini(t)
	c := geminiSDKClient(t, m, "k")
	ctx := context.Background()
	m.Enqueue(GeminiReply{Header: map[string]string{"Retry-After": "3"},
		Error: &GeminiError{Code: 429, Status: "RESOURCE_EXHAUSTED", Message: "Resource has been exhausted", RetryDelay: "17s"}})
	_, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("hi"), nil)
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 429 || apiErr.Status != "RESOURCE_EXHAUSTED" || len(apiErr.Details) != 1 ||
		apiErr.Details[0]["retryDelay"] != "17s" {
		t.Fatalf("SDK saw %#v", err)
	}

	m.Key = "right"
	_, err = c.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("hi"), nil)
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || apiErr.Details[0]["reason"] != "API_KEY_INVALID" {
		t.Fatalf("wrong key: SDK saw %#v", err)
	}
	m.Key = ""

	// An error object inside the stream is an error for the SDK too.
	m.Enqueue(GeminiReply{Answer: &GeminiAnswer{Text: "partial answer here"},
		StreamError: &GeminiError{Code: 503, Status: "UNAVAILABLE", Message: "The model is overloaded."}})
	var got error
	n := 0
	for _, err := range c.Models.GenerateContentStream(ctx, "gemini-2.5-flash", genai.Text("hi"), nil) {
		if err != nil {
			got = err
			break
		}
		n++
	}
	if !errors.As(got, &apiErr) || apiErr.Code != 503 || n == 0 {
		t.Fatalf("in-stream error: SDK saw %d chunks then %#v", n, got)
	}
}

func TestMockGeminiEmbeddingsWithSDK(t *testing.T) {
	m := StartMockGemini(t)
	c := geminiSDKClient(t, m, "k")
	dims := int32(5)
	resp, err := c.Models.EmbedContent(context.Background(), "gemini-embedding-001",
		[]*genai.Content{genai.NewContentFromText("a", "user"), genai.NewContentFromText("b", "user")},
		&genai.EmbedContentConfig{OutputDimensionality: &dims})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 2 || len(resp.Embeddings[0].Values) != 5 ||
		reflect.DeepEqual(resp.Embeddings[0].Values, resp.Embeddings[1].Values) {
		t.Fatalf("embeddings %+v", resp.Embeddings)
	}
	if p := m.LastRequest().Path; p != "/v1beta/models/gemini-embedding-001:batchEmbedContents" {
		t.Errorf("SDK called %s", p)
	}
}

func TestMockGeminiValidatesRequests(t *testing.T) {
	m := StartMockGemini(t)
	cases := map[string]string{
		"unknown field":        `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"temperature":1}`,
		"no contents":          `{"contents":[]}`,
		"bad role":             `{"contents":[{"role":"assistant","parts":[{"text":"hi"}]}]}`,
		"empty parts":          `{"contents":[{"role":"user","parts":[]}]}`,
		"two fields a part":    `{"contents":[{"role":"user","parts":[{"text":"hi","inlineData":{"mimeType":"image/png","data":"AAAA"}}]}]}`,
		"bad base64":           `{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"image/png","data":"%%%"}}]}]}`,
		"lower-case type":      `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"STRING"}}}}]}]}`,
		"additionalProperties": `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT","additionalProperties":false,"properties":{"a":{"type":"STRING"}}}}]}]}`,
		"empty properties":     `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT","properties":{}}}]}]}`,
		"non-object response":  `{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":"x"}}]}]}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			resp, err := http.Post(m.URL+"/v1beta/models/g:generateContent", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || !strings.Contains(string(b), `"INVALID_ARGUMENT"`) {
				t.Errorf("status %d: %s", resp.StatusCode, b)
			}
		})
	}
	resp, err := http.Post(m.URL+"/v1beta/models/g:generateContent", "application/json",
		strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("valid request: status %d", resp.StatusCode)
	}
}

func TestMockGeminiCutAndHang(t *testing.T) {
	m := StartMockGemini(t)
	m.Enqueue(GeminiReply{Answer: &GeminiAnswer{Text: "0123456789abcdefghij"}, Cut: true, CutAfter: 1})
	resp, err := http.Post(m.URL+"/v1beta/models/g:streamGenerateContent?alt=sse", "application/json",
		strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || strings.Count(string(body), "data: ") != 1 {
		t.Errorf("cut stream: err %v, body %q", err, body)
	}

	m.Enqueue(GeminiReply{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/v1beta/models/g:generateContent",
		strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`))
	start := time.Now()
	_, err = http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("hang: %v after %v", err, time.Since(start))
	}
}
