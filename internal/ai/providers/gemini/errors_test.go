package gemini

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/testkit"
)

func TestErrorClasses(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	for _, tc := range []struct {
		name   string
		reply  testkit.GeminiReply
		class  llm.Class
		status int
		retry  time.Duration
	}{
		{"rate limit with RetryInfo", testkit.GeminiReply{Error: &testkit.GeminiError{Code: 429, Status: "RESOURCE_EXHAUSTED",
			Message: "You exceeded your current quota, please check your plan and billing details.", RetryDelay: "17s"}},
			llm.ClassRateLimit, 429, 17 * time.Second},
		{"rate limit, Retry-After wins", testkit.GeminiReply{Header: map[string]string{"Retry-After": "3"},
			Error: &testkit.GeminiError{Code: 429, Status: "RESOURCE_EXHAUSTED", Message: "quota", RetryDelay: "17s"}},
			llm.ClassRateLimit, 429, 3 * time.Second},
		{"fractional retry delay", testkit.GeminiReply{Error: &testkit.GeminiError{Code: 429, Status: "RESOURCE_EXHAUSTED", Message: "q", RetryDelay: "0.250s"}},
			llm.ClassRateLimit, 429, 250 * time.Millisecond},
		{"context window", testkit.GeminiReply{Error: &testkit.GeminiError{Code: 400, Status: "INVALID_ARGUMENT",
			Message: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."}},
			llm.ClassContextWindow, 400, 0},
		{"caller fault", testkit.GeminiReply{Error: &testkit.GeminiError{Code: 400, Status: "INVALID_ARGUMENT",
			Message: "* GenerateContentRequest.generation_config.temperature: must be between 0 and 2"}},
			llm.ClassCaller, 400, 0},
		{"bad key answered 400", testkit.GeminiReply{Error: &testkit.GeminiError{Code: 400, Status: "INVALID_ARGUMENT",
			Message: "API key not valid. Please pass a valid API key.", Reason: "API_KEY_INVALID"}},
			llm.ClassAuth, 400, 0},
		{"permission denied", testkit.GeminiReply{Error: &testkit.GeminiError{Code: 403, Status: "PERMISSION_DENIED", Message: "denied"}},
			llm.ClassAuth, 403, 0},
		{"unauthenticated", testkit.GeminiReply{Error: &testkit.GeminiError{Code: 401, Status: "UNAUTHENTICATED", Message: "no"}},
			llm.ClassAuth, 401, 0},
		{"billing or region", testkit.GeminiReply{Error: &testkit.GeminiError{Code: 400, Status: "FAILED_PRECONDITION",
			Message: "User location is not supported for the API use."}},
			llm.ClassAuth, 400, 0},
		{"model not found", testkit.GeminiReply{Error: &testkit.GeminiError{Code: 404, Status: "NOT_FOUND", Message: "models/x is not found"}},
			llm.ClassCaller, 404, 0},
		{"internal", testkit.GeminiReply{Error: &testkit.GeminiError{Code: 500, Status: "INTERNAL", Message: "An internal error has occurred."}},
			llm.ClassOverloaded, 500, 0},
		{"unavailable", testkit.GeminiReply{Error: &testkit.GeminiError{Code: 503, Status: "UNAVAILABLE", Message: "The model is overloaded."}},
			llm.ClassOverloaded, 503, 0},
		{"deadline", testkit.GeminiReply{Error: &testkit.GeminiError{Code: 504, Status: "DEADLINE_EXCEEDED", Message: "Deadline expired."}},
			llm.ClassTimeout, 504, 0},
		{"status without a name", testkit.GeminiReply{Status: 502, Error: &testkit.GeminiError{Code: 502}},
			llm.ClassOverloaded, 502, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(err error) {
				t.Helper()
				pe := providerError(t, err, tc.class)
				if pe.Status != tc.status || pe.RetryAfter != tc.retry {
					t.Errorf("status %d retry %v: %+v", pe.Status, pe.RetryAfter, pe)
				}
				if tc.reply.Error.Message != "" && pe.Message != tc.reply.Error.Message {
					t.Errorf("message %q", pe.Message)
				}
			}
			m.Enqueue(tc.reply, tc.reply)
			_, err := p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
			check(err)
			_, err = p.Stream(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
			check(err)
		})
	}
}

// Error bodies as Gemini and the fronts before it send them.
func TestErrorBodies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		body   string
		class  llm.Class
		typ    string
		retry  time.Duration
	}{
		{"quota", 429, nil, `{
  "error": {
    "code": 429,
    "message": "You exceeded your current quota, please check your plan and billing details.",
    "status": "RESOURCE_EXHAUSTED",
    "details": [
      {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
      {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
      {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "38s"}
    ]
  }
}`, llm.ClassRateLimit, "RESOURCE_EXHAUSTED", 38 * time.Second},
		{"expired key", 400, nil, `{"error":{"code":400,"message":"API key expired. Please renew the API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_EXPIRED","domain":"googleapis.com"}]}}`,
			llm.ClassAuth, "INVALID_ARGUMENT", 0},
		{"array form", 503, nil, `[{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}]`, llm.ClassOverloaded, "UNAVAILABLE", 0},
		{"plain text", 502, http.Header{"Retry-After": {"5"}}, "<html>Bad Gateway</html>", llm.ClassOverloaded, "", 5 * time.Second},
		{"plain 429", 429, nil, "Too Many Requests", llm.ClassRateLimit, "", 0},
		{"empty 413", 413, nil, "", llm.ClassContextWindow, "", 0},
		{"bad retry delay", 429, nil, `{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"soon"}]}}`,
			llm.ClassRateLimit, "RESOURCE_EXHAUSTED", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pe := httpError(tc.status, tc.header, []byte(tc.body))
			if pe.Class != tc.class || pe.Type != tc.typ || pe.RetryAfter != tc.retry || pe.Status != tc.status {
				t.Errorf("got %+v", pe)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	p, err := New(config.Provider{Name: "g", BaseURL: "http://" + testkit.RefusingAddr(t)}, llm.Options{Client: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	providerError(t, err, llm.ClassConnect)
	_, err = p.Stream(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	providerError(t, err, llm.ClassConnect)

	// A body cut in the middle of a whole answer.
	m := testkit.StartMockGemini(t)
	p = newTestProvider(t, m, nil)
	m.Enqueue(testkit.GeminiReply{Cut: true, Answer: &testkit.GeminiAnswer{Text: strings.Repeat("long answer ", 50)}})
	_, err = p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	providerError(t, err, llm.ClassOverloaded)
	// Not JSON at all.
	m.Enqueue(testkit.GeminiReply{RawBody: "<html>ok</html>"})
	_, err = p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	providerError(t, err, llm.ClassBadResponse)
	// JSON without candidates or feedback.
	m.Enqueue(testkit.GeminiReply{RawBody: `{"usageMetadata":{"promptTokenCount":1}}`})
	_, err = p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")}}))
	providerError(t, err, llm.ClassBadResponse)
}

func TestNewAndModelPath(t *testing.T) {
	for _, tc := range []struct {
		base, want string
		ok         bool
	}{
		{"", "https://generativelanguage.googleapis.com/v1beta", true},
		{"https://proxy.example/gemini/", "https://proxy.example/gemini/v1beta", true},
		{"https://proxy.example/v1alpha", "https://proxy.example/v1alpha", true},
		{"http://127.0.0.1:9/v1beta", "http://127.0.0.1:9/v1beta", true},
		{"ftp://x", "", false},
		{"https://x/?key=secret", "", false},
		{"not a url", "", false},
	} {
		p, err := New(config.Provider{Name: "g", BaseURL: tc.base}, llm.Options{})
		if (err == nil) != tc.ok || (tc.ok && p.base != tc.want) {
			t.Errorf("base %q: %v, %v", tc.base, p, err)
		}
	}
	for model, want := range map[string]string{
		"gemini-2.5-flash":       "models/gemini-2.5-flash",
		"models/gemini-2.5-pro":  "models/gemini-2.5-pro",
		"tunedModels/my-model-1": "tunedModels/my-model-1",
		"gemini 2?x":             "models/gemini%202%3Fx",
		"a/b/c":                  "",
		"models/..":              "",
		"":                       "",
	} {
		got, err := modelPath(model)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("modelPath(%q) = %q, %v", model, got, err)
		}
	}
}
