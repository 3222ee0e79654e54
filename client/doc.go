// Package client is an HTTP client for services that call APIs through
// sluice (or any other gateway or server): it retries what a retry can fix,
// within the caller's deadline, and turns failures into an *Error that
// carries sluice's error code and request id.
//
//	c := client.New(client.WithIdempotencyKeys())
//	req, _ := http.NewRequestWithContext(ctx, "GET", "http://sluice:8080/orders/42", nil)
//	req.Header.Set("X-Api-Version", "2")
//	resp, err := c.Do(req)
//	var e *client.Error
//	if errors.As(err, &e) {
//		log.Printf("orders: %s (code %s, request id %s)", e.Detail, e.Code, e.RequestID)
//	}
//
// # What is retried
//
// An attempt is retried when it failed in one of these ways:
//
//   - the connection could not be made (refused, unreachable, connect
//     timeout, a DNS failure other than "no such host"): for every method,
//     since nothing was sent;
//   - the connection was reset or closed before the response head, or the
//     attempt timed out (WithAttemptTimeout, or a timeout of the underlying
//     client or transport): for idempotent requests only;
//   - the response status is 429, 502, 503 or 504 (WithRetryStatuses):
//     for idempotent requests only.
//
// A request is idempotent when its method is GET, HEAD, OPTIONS, PUT,
// DELETE or TRACE, or when it carries an Idempotency-Key header.
// WithIdempotencyKeys adds a random key to the other requests (POST, PATCH),
// the same key on every attempt of one call, so they become retryable when
// the server honours it. Certificate errors, "no such host", malformed
// responses and every other status are never retried.
//
// # How long it waits
//
// Before retry n (0 for the first) the client sleeps a random duration in
// [0, min(cap, base*2^n)) ("full jitter"; base 100ms and cap 2s by default,
// WithBackoff). When the response carries Retry-After (seconds or an
// HTTP-date, as sluice sends with 429 rate_limited), the client sleeps
// exactly that long instead; a Retry-After longer than WithMaxRetryAfter
// (30s by default) ends the call at once. At most WithMaxAttempts attempts
// are made (3 by default: two retries).
//
// The request's context bounds the whole call: an attempt is cut off when
// the context ends, and a sleep that would end at or after the context's
// deadline is not started; the call returns the last failure at once
// instead. WithAttemptTimeout bounds each attempt's wait for a response
// head.
//
// Note that sluice retries failed upstream attempts itself (CONTRACT §4), so
// each client attempt may already be several upstream attempts: keep the
// client's attempts low.
//
// # Request bodies
//
// Each retry sends the request body again, intact. The client gets a fresh
// copy from req.GetBody when it is set (http.NewRequest sets it for
// *bytes.Buffer, *bytes.Reader and *strings.Reader bodies); otherwise it
// reads the body into memory before the first attempt, up to
// WithMaxBufferedBody (1 MiB by default). A body larger than that is
// streamed once and the call makes a single attempt: retries are disabled
// for it. Give such requests a GetBody to make them retryable.
//
// # Responses and errors
//
// Do mirrors http.Client.Do: a response is returned with a nil error
// whatever its status, and the caller closes its body. The exception is a
// response with a retried status (429, 502, 503, 504 by default) after the
// last attempt: Do reads and closes its body and returns an *Error
// instead, since such a status is a failure on the way to the service (the
// gateway's, or the service's own overload) rather than an answer. The
// bodies of responses that are retried are drained and closed by the
// client. A transport failure ends as an *Error whose Unwrap gives the
// transport error.
//
// CheckResponse turns any non-2xx response into an *Error, for callers that
// treat every failure status alike.
//
// An *Error carries the status, sluice's error code (the Sluice-Error header
// or the "code" of an application/problem+json body), the X-Request-Id to
// look up in sluice's access log and request log, the problem title and
// detail, and the number of attempts made.
//
// # As an http.RoundTripper
//
// A *Client is an http.RoundTripper, to give retries to code that takes an
// *http.Client (SDKs, generated clients). RoundTrip retries as Do does but
// returns the last response as it came, whatever its status.
package client
