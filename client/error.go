package client

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error is a call that failed: a transport failure (Err set, StatusCode 0)
// or a response with a failure status (StatusCode set). Do returns it after
// its retries are exhausted or stopped; CheckResponse makes one from any
// non-2xx response. Inspect it with errors.As.
type Error struct {
	// Method and URL identify the request. URL has no user info, query or
	// fragment, so the error can be logged without leaking credentials.
	Method string
	URL    string
	// StatusCode is the status of the last response, or 0 when the last
	// attempt got no response. When the call's context ended during an
	// attempt, the fields describe the attempt before it, and Err holds the
	// context's error.
	StatusCode int
	// Code is sluice's stable error code (CONTRACT §3), from the
	// Sluice-Error header or else the "code" member of an
	// application/problem+json body; empty when the response has neither
	// (for example an error from the service itself).
	Code string
	// RequestID is the X-Request-Id of the last response (or the
	// "request_id" of its problem body): the key to the gateway's access log
	// and request log.
	RequestID string
	// Title and Detail are the problem body's "title" and "detail" members,
	// when the body is application/problem+json.
	Title  string
	Detail string
	// Attempts is the number of attempts made, the last included; 0 when no
	// request was sent (the request body could not be read).
	Attempts int
	// RetryAfter is the wait the last response asked for with Retry-After,
	// or 0 when it did not ask.
	RetryAfter time.Duration
	// Header is the header of the last response; nil without one.
	Header http.Header
	// Body is the start (up to 64 KiB) of the last response's body. The body
	// itself has been closed.
	Body []byte
	// Err is the transport error of the last attempt (without net/http's
	// *url.Error wrapper), joined with the context's error when the call's
	// context ended; nil when the last attempt got a response and the
	// context is still live. Test it with errors.Is, for example for
	// syscall.ECONNREFUSED, context.DeadlineExceeded or ErrAttemptTimeout.
	Err error
}

// Error returns a one-line description: method, URL, status or transport
// error, code, detail, request id and attempts.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("client: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.URL)
	b.WriteString(": ")
	if e.StatusCode != 0 {
		b.WriteString(strconv.Itoa(e.StatusCode))
		if t := http.StatusText(e.StatusCode); t != "" {
			b.WriteByte(' ')
			b.WriteString(t)
		}
		if e.Code != "" {
			b.WriteString(" (")
			b.WriteString(e.Code)
			b.WriteByte(')')
		}
		if e.Detail != "" {
			b.WriteString(": ")
			b.WriteString(e.Detail)
		}
		if e.Err != nil {
			b.WriteString("; ")
		}
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	b.WriteString(" [")
	if e.RequestID != "" {
		b.WriteString("request_id=")
		b.WriteString(e.RequestID)
		b.WriteByte(' ')
	}
	b.WriteString("attempts=")
	b.WriteString(strconv.Itoa(e.Attempts))
	b.WriteByte(']')
	return b.String()
}

// Unwrap returns the transport or context error, if any.
func (e *Error) Unwrap() error { return e.Err }

// CheckResponse returns nil when resp's status is 2xx, leaving the body to
// the caller. For any other status it reads the start of the body, closes
// it, and returns an *Error describing the response (Attempts is the number
// of attempts of the Client call that returned resp, or 1 for a response
// from elsewhere).
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	attempts := 1
	if resp.Request != nil {
		if n, ok := resp.Request.Context().Value(attemptKey{}).(int); ok {
			attempts = n
		}
	}
	return responseError(resp, attempts, time.Now())
}

// responseError reads and closes resp's body and describes resp.
func responseError(resp *http.Response, attempts int, now time.Time) *Error {
	e := &Error{StatusCode: resp.StatusCode, Attempts: attempts, Header: resp.Header}
	if resp.Request != nil {
		e.Method, e.URL = requestName(resp.Request)
	}
	e.Body = readAndClose(resp.Body)
	e.Code = resp.Header.Get("Sluice-Error")
	e.RequestID = resp.Header.Get("X-Request-Id")
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
		e.RetryAfter = d
	}
	if isProblem(resp.Header.Get("Content-Type")) {
		var p struct {
			Title     string `json:"title"`
			Detail    string `json:"detail"`
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(e.Body, &p) == nil {
			e.Title, e.Detail = p.Title, p.Detail
			if e.Code == "" {
				e.Code = p.Code
			}
			if e.RequestID == "" {
				e.RequestID = p.RequestID
			}
		}
	}
	return e
}

// isProblem reports whether a Content-Type is application/problem+json.
func isProblem(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/problem+json"
}

// requestName returns a request's method and its URL without user info,
// query or fragment.
func requestName(req *http.Request) (method, u string) {
	method = req.Method
	if method == "" {
		method = http.MethodGet
	}
	if req.URL == nil {
		return method, ""
	}
	v := url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: req.URL.Path, RawPath: req.URL.RawPath, Opaque: req.URL.Opaque}
	return method, v.String()
}

// attemptKey is the context key under which each attempt's request carries
// its attempt number, so CheckResponse can report it.
type attemptKey struct{}

// attemptContext returns ctx marked with attempt n.
func attemptContext(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, n)
}
