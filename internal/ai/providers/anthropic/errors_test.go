package anthropic

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// TestDecodeError sorts the Messages API's error shapes into failure
// classes.
func TestDecodeError(t *testing.T) {
	env := func(typ, msg string) string {
		return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`
	}
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		class  llm.Class
		typ    string
		retry  time.Duration
	}{
		{"invalid request", 400, nil, env("invalid_request_error", "messages: roles must alternate"), llm.ClassCaller, "invalid_request_error", 0},
		{"prompt too long", 400, nil, env("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"), llm.ClassContextWindow, "invalid_request_error", 0},
		{"context window in prose", 400, nil, env("invalid_request_error", "input length and max_tokens exceed context limit: 198000 + 8192 > 200000, decrease input length or max_tokens and try again"), llm.ClassContextWindow, "invalid_request_error", 0},
		{"authentication", 401, nil, env("authentication_error", "invalid x-api-key"), llm.ClassAuth, "authentication_error", 0},
		{"permission", 403, nil, env("permission_error", "Your API key does not have permission to use the specified resource."), llm.ClassAuth, "permission_error", 0},
		{"not found", 404, nil, env("not_found_error", "model: claude-9"), llm.ClassCaller, "not_found_error", 0},
		{"request too large", 413, nil, env("request_too_large", "Request exceeds the maximum allowed number of bytes."), llm.ClassContextWindow, "request_too_large", 0},
		{"rate limit", 429, map[string]string{"Retry-After": "17"}, env("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), llm.ClassRateLimit, "rate_limit_error", 17 * time.Second},
		{"api error", 500, nil, env("api_error", "Internal server error"), llm.ClassOverloaded, "api_error", 0},
		{"timeout", 504, nil, env("timeout_error", "Request timed out"), llm.ClassTimeout, "timeout_error", 0},
		{"overloaded 529", 529, nil, env("overloaded_error", "Overloaded"), llm.ClassOverloaded, "overloaded_error", 0},
		{"overloaded with another status", 503, nil, env("overloaded_error", "Overloaded"), llm.ClassOverloaded, "overloaded_error", 0},
		{"not JSON", 502, nil, "<html><body>Bad Gateway</body></html>", llm.ClassOverloaded, "", 0},
		{"empty 429", 429, map[string]string{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, "", llm.ClassRateLimit, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			pe := DecodeError(&http.Response{StatusCode: tt.status, Header: h, Body: io.NopCloser(strings.NewReader(tt.body))})
			if pe.Class != tt.class || pe.Status != tt.status || pe.Type != tt.typ || pe.RetryAfter != tt.retry {
				t.Errorf("class %v status %d type %q retry %v, want %v %d %q %v (%v)", pe.Class, pe.Status, pe.Type, pe.RetryAfter, tt.class, tt.status, tt.typ, tt.retry, pe)
			}
		})
	}
}

// TestStreamErrorClass checks an error event mid-stream: a provider
// failure (never the caller's), of the class its type says.
func TestStreamErrorClass(t *testing.T) {
	for typ, want := range map[string]llm.Class{
		"overloaded_error": llm.ClassOverloaded, "rate_limit_error": llm.ClassRateLimit,
		"invalid_request_error": llm.ClassOverloaded, "api_error": llm.ClassOverloaded, "timeout_error": llm.ClassTimeout,
	} {
		body := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{}}}\n\n" +
			"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"" + typ + "\",\"message\":\"x\"}}\n\n"
		s := newStream(context.Background(), io.NopCloser(bytes.NewReader([]byte(body))))
		var err error
		for err == nil {
			_, err = s.Next()
		}
		var pe *llm.ProviderError
		if !errors.As(err, &pe) || pe.Class != want || pe.Type != typ {
			t.Errorf("%s: end %v, want class %v", typ, err, want)
		}
	}
}
