package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// errorBody is a bedrock-runtime error answer. The JSON protocol puts the
// message in "message" (some front ends spell it "Message") and the type
// in the x-amzn-ErrorType header, or else in "__type" or "code".
type errorBody struct {
	Message  string `json:"message"`
	Message2 string `json:"Message"`
	Type     string `json:"__type"`
	Code     string `json:"code"`
}

// httpError reads a non-2xx answer into a classified *llm.ProviderError.
func httpError(resp *http.Response) *llm.ProviderError {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var b errorBody
	_ = json.Unmarshal(data, &b)
	typ := resp.Header.Get("X-Amzn-Errortype")
	if typ == "" {
		typ = b.Type
	}
	if typ == "" {
		typ = b.Code
	}
	typ = errorTypeName(typ)
	msg := b.Message
	if msg == "" {
		msg = b.Message2
	}
	return &llm.ProviderError{
		Class:      classify(typ, msg, resp.StatusCode),
		Status:     resp.StatusCode,
		Type:       typ,
		Message:    msg,
		RetryAfter: llm.RetryAfter(resp.Header),
	}
}

// errorTypeName trims an AWS error type to its bare name: the header
// carries "ThrottlingException:http://internal.amazon.com/…" and "__type"
// may carry "com.amazonaws.bedrock#ThrottlingException".
func errorTypeName(t string) string {
	if i := strings.IndexByte(t, ':'); i >= 0 {
		t = t[:i]
	}
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	return strings.TrimSpace(t)
}

// classify sorts a Bedrock error by its type (case-insensitive, so the
// HTTP names and the stream's lower-camel exception names both match),
// its message for validation errors, and else its HTTP status.
func classify(typ, msg string, status int) llm.Class {
	switch strings.ToLower(typ) {
	case "throttlingexception", "servicequotaexceededexception", "toomanyrequestsexception":
		return llm.ClassRateLimit
	case "accessdeniedexception", "unrecognizedclientexception", "expiredtokenexception",
		"invalidsignatureexception", "incompletesignatureexception", "missingauthenticationtokenexception",
		"invalidclienttokenid", "signaturedoesnotmatch", "unauthorizedexception":
		return llm.ClassAuth
	case "validationexception":
		if isContextWindow(msg) {
			return llm.ClassContextWindow
		}
		return llm.ClassCaller
	case "modeltimeoutexception":
		return llm.ClassTimeout
	case "modelnotreadyexception", "serviceunavailableexception", "internalserverexception",
		"modelerrorexception", "modelstreamerrorexception":
		return llm.ClassOverloaded
	case "resourcenotfoundexception", "conflictexception":
		return llm.ClassCaller
	}
	if status == 0 {
		return llm.ClassOverloaded // an unknown exception in a stream
	}
	return llm.ClassifyStatus(status)
}

// contextWindowPhrases are how Bedrock and the models behind it say the
// input does not fit: "Input is too long for requested model.", "prompt
// is too long: 210000 tokens > 200000 maximum", "input length and
// `max_tokens` exceed context limit", "Too many input tokens".
var contextWindowPhrases = []string{
	"too long", "context limit", "context window", "context length",
	"too many input tokens", "too many tokens", "exceed context", "exceeds the maximum",
}

func isContextWindow(msg string) bool {
	msg = strings.ToLower(msg)
	for _, p := range contextWindowPhrases {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// transportError classifies a failure to get a response: a deadline or
// network timeout is ClassTimeout, anything else (refused, DNS, TLS,
// reset before the response head) ClassConnect. A cancelled ctx is
// reported as ClassTimeout wrapping context.Canceled, so errors.Is tells
// the two apart.
func transportError(ctx context.Context, err error) *llm.ProviderError {
	if ce := ctx.Err(); ce != nil {
		return &llm.ProviderError{Class: llm.ClassTimeout, Err: ce}
	}
	if isTimeout(err) {
		return &llm.ProviderError{Class: llm.ClassTimeout, Err: err}
	}
	return &llm.ProviderError{Class: llm.ClassConnect, Err: err}
}

// readError classifies a failure while reading a response body that had
// begun: a timeout or cancellation is ClassTimeout, a body that ended
// early or broke ClassBadResponse (errors.Is(err, io.ErrUnexpectedEOF)
// holds for a cut).
func readError(ctx context.Context, err error) *llm.ProviderError {
	if ce := ctx.Err(); ce != nil {
		return &llm.ProviderError{Class: llm.ClassTimeout, Err: ce}
	}
	if isTimeout(err) {
		return &llm.ProviderError{Class: llm.ClassTimeout, Err: err}
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &llm.ProviderError{Class: llm.ClassBadResponse, Err: err}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
