package openai

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// TestDecodeError sorts real error shapes of OpenAI and the servers that
// copy its API into failure classes.
func TestDecodeError(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		class   llm.Class
		typ     string
		message string
		retry   time.Duration
	}{
		{name: "context window", status: 400,
			body:  `{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			class: llm.ClassContextWindow, typ: "context_length_exceeded", message: "maximum context length"},
		{name: "string above max length", status: 400,
			body:  `{"error":{"message":"Invalid 'messages[0].content': string too long.","type":"invalid_request_error","param":"messages[0].content","code":"string_above_max_length"}}`,
			class: llm.ClassContextWindow, typ: "string_above_max_length"},
		{name: "quota", status: 429,
			body:  `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
			class: llm.ClassRateLimit, typ: "insufficient_quota"},
		{name: "rate limit with retry-after-ms", status: 429, header: map[string]string{"Retry-After-Ms": "1500", "Retry-After": "2"},
			body:  `{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 30000, Requested 500.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`,
			class: llm.ClassRateLimit, typ: "rate_limit_exceeded", retry: 1500 * time.Millisecond},
		{name: "invalid key", status: 401,
			body:  `{"error":{"message":"Incorrect API key provided: sk-abc. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			class: llm.ClassAuth, typ: "invalid_api_key"},
		{name: "invalid key with a 400", status: 400, body: `{"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}}`,
			class: llm.ClassAuth, typ: "invalid_api_key"},
		{name: "forbidden region", status: 403,
			body:  `{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}`,
			class: llm.ClassAuth, typ: "unsupported_country_region_territory"},
		{name: "server error", status: 500,
			body:  `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`,
			class: llm.ClassOverloaded, typ: "server_error"},
		{name: "overloaded", status: 503, header: map[string]string{"Retry-After": "3"},
			body:  `{"error":{"message":"The engine is currently overloaded, please try again later","type":"server_error","param":null,"code":null}}`,
			class: llm.ClassOverloaded, typ: "server_error", retry: 3 * time.Second},
		{name: "gateway timeout", status: 504, body: `<html>504 Gateway Time-out</html>`, class: llm.ClassTimeout},
		{name: "model not found", status: 404,
			body:  `{"error":{"message":"The model 'gpt-9' does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}`,
			class: llm.ClassCaller, typ: "model_not_found"},
		{name: "azure content filter", status: 400,
			body:  `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}`,
			class: llm.ClassCaller, typ: "content_filter"},
		{name: "azure auth", status: 401,
			body:  `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}`,
			class: llm.ClassAuth, typ: "401"},
		{name: "azure rate limit", status: 429, header: map[string]string{"Retry-After": "11"},
			body:  `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current tier."}}`,
			class: llm.ClassRateLimit, typ: "429", retry: 11 * time.Second},
		{name: "mistral validation error (message is an object)", status: 422,
			body:  `{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","user"],"msg":"Extra inputs are not permitted","input":"u1"}]},"type":"invalid_request_error","param":null,"code":null}`,
			class: llm.ClassCaller, typ: "invalid_request_error", message: "Extra inputs are not permitted"},
		{name: "mistral error with a numeric code", status: 400,
			body:  `{"object":"Error","message":"Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length","type":"invalid_request_error","code":3051}`,
			class: llm.ClassContextWindow, typ: "3051", message: "too large for model"},
		{name: "mistral rate limit", status: 429, body: `{"message":"Requests rate limit exceeded"}`,
			class: llm.ClassRateLimit, message: "Requests rate limit exceeded"},
		{name: "ollama model missing", status: 404, body: `{"error":"model \"llama9\" not found, try pulling it first"}`,
			class: llm.ClassCaller, message: `model "llama9" not found`},
		{name: "ollama context (prose only)", status: 400, body: `{"error":"the input length exceeds the context length"}`,
			class: llm.ClassContextWindow, message: "context length"},
		{name: "vllm detail", status: 400, body: `{"detail":"This model's maximum context length is 8192 tokens. However, you requested 9000 tokens."}`,
			class: llm.ClassContextWindow, message: "maximum context length"},
		{name: "vllm object", status: 400,
			body:  `{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens in the messages.","type":"BadRequestError","param":null,"code":400}`,
			class: llm.ClassContextWindow, typ: "400"},
		{name: "empty body", status: 502, body: ``, class: llm.ClassOverloaded},
		{name: "request too large", status: 413, body: `{"error":{"message":"Request too large","type":"invalid_request_error"}}`,
			class: llm.ClassContextWindow, typ: "invalid_request_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			pe := DecodeError(&http.Response{StatusCode: tt.status, Header: h, Body: io.NopCloser(strings.NewReader(tt.body))})
			if pe.Class != tt.class || pe.Status != tt.status || pe.Type != tt.typ {
				t.Errorf("class %v status %d type %q, want %v %d %q (%v)", pe.Class, pe.Status, pe.Type, tt.class, tt.status, tt.typ, pe)
			}
			if !strings.Contains(pe.Message, tt.message) {
				t.Errorf("message %q does not hold %q", pe.Message, tt.message)
			}
			if pe.RetryAfter != tt.retry {
				t.Errorf("retry after %v, want %v", pe.RetryAfter, tt.retry)
			}
		})
	}
}
