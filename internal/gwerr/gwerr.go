// Package gwerr defines the errors the gateway itself makes: each carries a
// stable code (CONTRACT §3), the HTTP status it maps to, a public detail
// that is safe to show to clients, and the private cause that goes to the
// logs. One renderer writes them as application/problem+json.
package gwerr

import (
	"errors"
	"fmt"
	"github.com/sluicegw/sluice/internal/jsonenc"
	"net/http"
	"strconv"
)

// Code is a stable, documented error code. Codes never change meaning.
type Code string

// The codes of CONTRACT §3, plus the request-level codes the edge needs.
const (
	NoRoute           Code = "no_route"
	Unauthorized      Code = "unauthorized"
	Forbidden         Code = "forbidden"
	PayloadTooLarge   Code = "payload_too_large"
	RateLimited       Code = "rate_limited"
	BadRequest        Code = "bad_request"
	URITooLong        Code = "uri_too_long"
	HeaderTooLarge    Code = "request_header_too_large"
	ExpectationFailed Code = "expectation_failed"
	NotImplemented    Code = "not_implemented"
	HTTPVersion       Code = "http_version_not_supported"
	Internal          Code = "internal_error"
	// StoreUnavailable is answered by the admin API while the database
	// cannot be reached.
	StoreUnavailable Code = "store_unavailable"

	UpstreamConnectFailed  Code = "upstream_connect_failed"
	UpstreamDNSFailed      Code = "upstream_dns_failed"
	UpstreamTLSFailed      Code = "upstream_tls_failed"
	UpstreamReset          Code = "upstream_reset"
	UpstreamBadResponse    Code = "upstream_bad_response"
	NoHealthyUpstream      Code = "no_healthy_upstream"
	UpstreamOverloaded     Code = "upstream_overloaded"
	UpstreamConnectTimeout Code = "upstream_connect_timeout"
	UpstreamTimeout        Code = "upstream_timeout"

	// After the response head went to the client the status cannot change:
	// these are logged, and the client connection is aborted.
	UpstreamResetAfterHead   Code = "upstream_reset_after_head"
	UpstreamTimeoutAfterHead Code = "upstream_timeout_after_head"
	// ClientClosed is logged when the client went away before the answer
	// (status 499 in the log, as nginx does); nothing is sent.
	ClientClosed Code = "client_closed"

	ModelNotFound      Code = "model_not_found"
	ProviderError      Code = "provider_error"
	AllProvidersFailed Code = "all_providers_failed"

	// The class of one failed provider call, in the request log's attempts
	// and the detail of all_providers_failed.
	ProviderRateLimited   Code = "provider_rate_limited"
	ProviderAuthFailed    Code = "provider_auth_failed"
	ProviderOverloaded    Code = "provider_overloaded"
	ProviderTimeout       Code = "provider_timeout"
	ProviderConnectFailed Code = "provider_connect_failed"
	ProviderBadResponse   Code = "provider_bad_response"
	ProviderContextWindow Code = "provider_context_window"
	// ProviderStreamBroken: the provider failed after the stream began;
	// the client gets a terminal error event in its own format.
	ProviderStreamBroken Code = "provider_stream_broken"
	// BudgetExceeded: the consumer spent its AI budget (ai-budget).
	BudgetExceeded Code = "budget_exceeded"
	// PromptRejected: ai-prompt-guard refused the prompt.
	PromptRejected Code = "prompt_rejected"
)

// info is the default status and public detail of a code.
type info struct {
	status int
	detail string
}

var codes = map[Code]info{
	NoRoute:                  {404, "No route matches the request."},
	Unauthorized:             {401, "The request lacks valid credentials."},
	Forbidden:                {403, "Access to this resource is denied."},
	PayloadTooLarge:          {413, "The request body is larger than allowed."},
	RateLimited:              {429, "Too many requests; retry later."},
	BadRequest:               {400, "The request is malformed."},
	URITooLong:               {414, "The request URI is too long."},
	HeaderTooLarge:           {431, "The request headers are too large."},
	ExpectationFailed:        {417, "The Expect header value is not supported."},
	NotImplemented:           {501, "The request uses a feature the gateway does not implement."},
	HTTPVersion:              {505, "The HTTP version is not supported."},
	Internal:                 {500, "The gateway failed to process the request."},
	StoreUnavailable:         {503, "The database is not reachable."},
	UpstreamConnectFailed:    {502, "The upstream refused the connection."},
	UpstreamDNSFailed:        {502, "The upstream host name could not be resolved."},
	UpstreamTLSFailed:        {502, "The TLS handshake with the upstream failed."},
	UpstreamReset:            {502, "The upstream closed the connection before sending a response."},
	UpstreamBadResponse:      {502, "The upstream sent an invalid HTTP response."},
	NoHealthyUpstream:        {503, "No healthy upstream target is available."},
	UpstreamOverloaded:       {503, "The upstream is at its connection limit."},
	UpstreamConnectTimeout:   {504, "Connecting to the upstream timed out."},
	UpstreamTimeout:          {504, "The upstream did not respond in time."},
	UpstreamResetAfterHead:   {502, "The upstream closed the connection mid-response."},
	UpstreamTimeoutAfterHead: {504, "The upstream stalled mid-response."},
	ClientClosed:             {499, "The client closed the connection."},
	ModelNotFound:            {404, "The requested model does not exist."},
	ProviderError:            {502, "The model provider returned an error."},
	AllProvidersFailed:       {502, "Every provider for the model failed."},
	ProviderRateLimited:      {429, "The model provider is rate limiting requests."},
	ProviderAuthFailed:       {502, "The model provider rejected the gateway's credentials."},
	ProviderOverloaded:       {503, "The model provider is overloaded or failing."},
	ProviderTimeout:          {504, "The model provider did not respond in time."},
	ProviderConnectFailed:    {502, "The model provider could not be reached."},
	ProviderBadResponse:      {502, "The model provider sent an invalid response."},
	ProviderContextWindow:    {400, "The prompt is longer than the model's context window."},
	ProviderStreamBroken:     {502, "The model provider failed mid-stream."},
	BudgetExceeded:           {429, "The AI budget for this period is spent."},
	PromptRejected:           {400, "The prompt was rejected by policy."},
}

// Status returns the HTTP status of a code (500 for an unknown code).
func (c Code) Status() int {
	if i, ok := codes[c]; ok {
		return i.status
	}
	return http.StatusInternalServerError
}

// Detail returns the default public detail of a code.
func (c Code) Detail() string {
	return codes[c].detail
}

// Error is an error the gateway answers with. Detail is public: it must
// never hold upstream addresses, internals or secrets. Cause is private and
// goes only to logs.
type Error struct {
	Code   Code
	Status int
	Detail string
	Cause  error
}

// New returns an Error for code with its default status and detail.
func New(code Code, cause error) *Error {
	i := codes[code]
	return &Error{Code: code, Status: i.status, Detail: i.detail, Cause: cause}
}

// Newf returns an Error for code with a custom public detail.
func Newf(code Code, cause error, format string, args ...any) *Error {
	e := New(code, cause)
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return string(e.Code) + ": " + e.Cause.Error()
	}
	return string(e.Code)
}

func (e *Error) Unwrap() error { return e.Cause }

// As returns the *Error in err's chain, or an internal_error wrapping err.
func As(err error) *Error {
	var ge *Error
	if errors.As(err, &ge) {
		return ge
	}
	return New(Internal, err)
}

// Write renders e as application/problem+json with the Sluice-Error header
// and returns the body's length. The caller must not have written the
// response head yet.
func Write(w http.ResponseWriter, requestID string, e *Error) int {
	status := e.Status
	if status == 0 {
		status = e.Code.Status()
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Sluice-Error", string(e.Code))
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	buf := make([]byte, 0, 256)
	buf = append(buf, `{"type":"about:blank","title":`...)
	buf = jsonenc.AppendString(buf, http.StatusText(status))
	buf = append(buf, `,"status":`...)
	buf = strconv.AppendInt(buf, int64(status), 10)
	buf = append(buf, `,"code":`...)
	buf = jsonenc.AppendString(buf, string(e.Code))
	buf = append(buf, `,"detail":`...)
	buf = jsonenc.AppendString(buf, e.Detail)
	buf = append(buf, `,"request_id":`...)
	buf = jsonenc.AppendString(buf, requestID)
	buf = append(buf, "}\n"...)
	h.Set("Content-Length", strconv.Itoa(len(buf)))
	w.WriteHeader(status)
	n, _ := w.Write(buf)
	return n
}
