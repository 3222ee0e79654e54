package gemini

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// httpError classifies a non-2xx answer from its status, headers and body
// (a google.rpc.Status under "error", or anything else).
func httpError(status int, h http.Header, body []byte) *llm.ProviderError {
	var eb wireErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil {
		return statusError(status, h, eb.Error)
	}
	// Some fronts answer a JSON array of one status (the streaming
	// endpoint without alt=sse does).
	var arr []wireErrorBody
	if json.Unmarshal(body, &arr) == nil && len(arr) > 0 && arr[0].Error != nil {
		return statusError(status, h, arr[0].Error)
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 512 {
		msg = msg[:512]
	}
	return &llm.ProviderError{Class: llm.ClassifyStatus(status), Status: status, Message: msg, RetryAfter: llm.RetryAfter(h)}
}

// statusError classifies a Gemini error status. The HTTP status gives the
// first guess (the error's own code when status is 0, as inside a
// stream); the canonical status name and details refine it:
//
//	RESOURCE_EXHAUSTED                      rate limit (quota included)
//	INVALID_ARGUMENT about the token limit  context window
//	INVALID_ARGUMENT with reason API_KEY_*  auth (Gemini answers a bad key with 400)
//	PERMISSION_DENIED, UNAUTHENTICATED      auth
//	FAILED_PRECONDITION                     auth (the account cannot use the API: billing, region)
//	UNAVAILABLE, INTERNAL                   overloaded
//	DEADLINE_EXCEEDED                       timeout
//
// RetryAfter is the Retry-After header, else the RetryInfo detail's
// retryDelay.
func statusError(status int, h http.Header, e *wireError) *llm.ProviderError {
	if status == 0 {
		status = e.Code
	}
	pe := &llm.ProviderError{Class: llm.ClassifyStatus(status), Status: status, Type: e.Status, Message: e.Message}
	if status == 0 {
		pe.Class = llm.ClassOverloaded
	}
	reason, retryDelay := errorDetails(e.Details)
	switch e.Status {
	case "RESOURCE_EXHAUSTED":
		pe.Class = llm.ClassRateLimit
	case "INVALID_ARGUMENT":
		switch {
		case strings.HasPrefix(reason, "API_KEY_"):
			pe.Class = llm.ClassAuth
		case tokenLimitMessage(e.Message):
			pe.Class = llm.ClassContextWindow
		default:
			pe.Class = llm.ClassCaller
		}
	case "PERMISSION_DENIED", "UNAUTHENTICATED", "FAILED_PRECONDITION":
		pe.Class = llm.ClassAuth
	case "UNAVAILABLE", "INTERNAL":
		pe.Class = llm.ClassOverloaded
	case "DEADLINE_EXCEEDED":
		pe.Class = llm.ClassTimeout
	}
	if h != nil {
		pe.RetryAfter = llm.RetryAfter(h)
	}
	if pe.RetryAfter == 0 {
		pe.RetryAfter = retryDelay
	}
	return pe
}

// tokenLimitMessage reports whether msg says the input is over the
// model's token limit, e.g. "The input token count (1200000) exceeds the
// maximum number of tokens allowed (1048576)."
func tokenLimitMessage(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "exceeds the maximum number of tokens") ||
		(strings.Contains(m, "input token count") && strings.Contains(m, "exceeds")) ||
		strings.Contains(m, "context window")
}

// errorDetails returns the ErrorInfo reason and the RetryInfo delay among
// an error's details.
func errorDetails(details []json.RawMessage) (reason string, retryDelay time.Duration) {
	for _, raw := range details {
		var d struct {
			Type       string `json:"@type"`
			Reason     string `json:"reason"`
			RetryDelay string `json:"retryDelay"`
		}
		if json.Unmarshal(raw, &d) != nil {
			continue
		}
		switch {
		case strings.HasSuffix(d.Type, "google.rpc.ErrorInfo"):
			reason = d.Reason
		case strings.HasSuffix(d.Type, "google.rpc.RetryInfo"):
			retryDelay = protoDuration(d.RetryDelay)
		}
	}
	return reason, retryDelay
}

// protoDuration parses a google.protobuf.Duration in its JSON form
// ("17s", "0.250s"); 0 when invalid or not positive.
func protoDuration(s string) time.Duration {
	if !strings.HasSuffix(s, "s") {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0
	}
	return d
}
