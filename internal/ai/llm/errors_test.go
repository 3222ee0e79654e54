package llm

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status int
		want   Class
	}{
		{400, ClassCaller}, {404, ClassCaller}, {409, ClassCaller}, {422, ClassCaller},
		{401, ClassAuth}, {403, ClassAuth},
		{429, ClassRateLimit},
		{408, ClassTimeout}, {504, ClassTimeout},
		{413, ClassContextWindow},
		{500, ClassOverloaded}, {502, ClassOverloaded}, {503, ClassOverloaded}, {529, ClassOverloaded}, {599, ClassOverloaded},
		{0, ClassBadResponse}, {200, ClassBadResponse}, {302, ClassBadResponse},
	}
	for _, tt := range tests {
		if got := ClassifyStatus(tt.status); got != tt.want {
			t.Errorf("ClassifyStatus(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestClassMeaning(t *testing.T) {
	for c := ClassCaller; c <= ClassBadResponse; c++ {
		if c.String() == "" || strings.HasPrefix(c.String(), "class(") {
			t.Errorf("class %d has no name", c)
		}
		if got, want := c.Retryable(), c != ClassCaller && c != ClassContextWindow; got != want {
			t.Errorf("%v.Retryable() = %v", c, got)
		}
		if got, want := c.Fallback(), c != ClassCaller; got != want {
			t.Errorf("%v.Fallback() = %v", c, got)
		}
	}
	if got := Class(42).String(); got != "class(42)" {
		t.Errorf("unknown class reads %q", got)
	}
}

func TestProviderError(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	e := &ProviderError{Class: ClassRateLimit, Status: 429, Type: "rate_limit_error", Message: "slow down", Err: cause}
	if got, want := e.Error(), "provider rate_limit (HTTP 429) rate_limit_error: slow down: unexpected EOF"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, io.ErrUnexpectedEOF) {
		t.Error("the cause does not unwrap")
	}
	if got := Errorf(ClassTimeout, "after %ds", 3).Error(); got != "provider timeout: after 3s" {
		t.Errorf("Errorf: %q", got)
	}
}

func TestRetryAfter(t *testing.T) {
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name     string
		header   map[string]string
		min, max time.Duration
	}{
		{"absent", nil, 0, 0},
		{"seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second, 7 * time.Second},
		{"seconds with spaces", map[string]string{"Retry-After": " 7 "}, 7 * time.Second, 7 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "1.5"}, 1500 * time.Millisecond, 1500 * time.Millisecond},
		{"zero", map[string]string{"Retry-After": "0"}, 0, 0},
		{"negative", map[string]string{"Retry-After": "-3"}, 0, 0},
		{"http date", map[string]string{"Retry-After": future}, 80 * time.Second, 91 * time.Second},
		{"http date in the past", map[string]string{"Retry-After": past}, 0, 0},
		{"milliseconds win", map[string]string{"Retry-After-Ms": "250", "Retry-After": "9"}, 250 * time.Millisecond, 250 * time.Millisecond},
		{"fractional milliseconds", map[string]string{"retry-after-ms": "1.5"}, 1500 * time.Microsecond, 1500 * time.Microsecond},
		{"bad milliseconds fall back", map[string]string{"Retry-After-Ms": "soon", "Retry-After": "2"}, 2 * time.Second, 2 * time.Second},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0, 0},
		{"not a number", map[string]string{"Retry-After": "NaN"}, 0, 0},
		{"infinite", map[string]string{"Retry-After": "Inf"}, 0, 0},
		{"infinite ms", map[string]string{"Retry-After-Ms": "+Inf"}, 0, 0},
		{"hex", map[string]string{"Retry-After": "0x10"}, 0, 0},
		{"exponent", map[string]string{"Retry-After": "1e3"}, 0, 0},
		{"underscores", map[string]string{"Retry-After": "1_0"}, 0, 0},
		{"beyond a duration", map[string]string{"Retry-After": "99999999999999999999"}, 0, 0},
		{"beyond a duration in ms", map[string]string{"Retry-After-Ms": "1" + strings.Repeat("0", 30)}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			got := RetryAfter(h)
			if got < tt.min || got > tt.max {
				t.Errorf("RetryAfter(%v) = %v, want %v..%v", tt.header, got, tt.min, tt.max)
			}
		})
	}
}

func text(role Role, s string) Message {
	return Message{Role: role, Content: []Part{{Type: PartText, Text: s}}}
}

func TestEstimateInput(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want int64
	}{
		{"empty", Request{}, 3},
		{"one short message", Request{Messages: []Message{text(RoleUser, "Hi")}}, 3 + 4 + 1},
		// 400 bytes of text are 100 tokens.
		{"text by four bytes", Request{Messages: []Message{text(RoleUser, strings.Repeat("abcd", 100))}}, 3 + 4 + 100},
		{"an image is flat", Request{Messages: []Message{{Role: RoleUser, Content: []Part{{Type: PartImage, Image: &Image{URL: "https://x/y.png"}}}}}}, 3 + 4 + 765},
		{"tool calls", Request{Messages: []Message{{Role: RoleAssistant, ToolCalls: []ToolCall{{Name: "get", Arguments: `{"q":"x"}`}}}}}, 3 + 4 + 3 + 4},
		{"tools", Request{Tools: []Tool{{Name: "get", Description: "Gets.", Parameters: json.RawMessage(`{"type":"object"}`)}}}, 3 + 7 + 8},
	}
	for _, tt := range tests {
		if got := EstimateInput(&tt.req); got != tt.want {
			t.Errorf("%s: EstimateInput = %d, want %d", tt.name, got, tt.want)
		}
	}
	// The estimate grows with the input and errs high for English text
	// (a real tokenizer gives about 1 token per 4.5 characters of prose).
	prose := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 100)
	got := EstimateInput(&Request{Messages: []Message{text(RoleSystem, "Be brief."), text(RoleUser, prose)}})
	if low := int64(len(prose)) / 5; got < low {
		t.Errorf("EstimateInput of %d bytes of prose = %d, below %d", len(prose), got, low)
	}
	if got := EstimateEmbeddingsInput(&EmbeddingsRequest{Input: []string{"abcd", "abcdefgh", ""}}); got != 2+3+1 {
		t.Errorf("EstimateEmbeddingsInput = %d, want 6", got)
	}
}
