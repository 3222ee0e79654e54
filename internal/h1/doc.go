// Package h1 is sluice's client-facing HTTP server engine.
//
// A [Server] serves an ordinary [http.Handler], so the rest of the gateway
// stays plain net/http code, but the HTTP/1.1 side (RFC 9112) is written for
// proxy workloads:
//
//   - Parsing is strict, to close request-smuggling gaps between sluice and
//     the upstreams behind it: a request with both Content-Length and
//     Transfer-Encoding, a Transfer-Encoding other than exactly "chunked",
//     differing Content-Length values, obs-fold, bare CR, invalid field names
//     or values, and malformed request lines are refused with an error status
//     and the connection is closed. Errors the engine itself makes are
//     rendered by [Server.ErrorHandler].
//   - The per-request cost is small: the *http.Request, its URL, header map,
//     body reader and the http.ResponseWriter are reused across the requests
//     of one connection; all strings of a request head share one allocation;
//     a small response leaves in one write system call; and client-close
//     detection only starts a background read for handlers that have
//     consumed the request body and run longer than 25ms.
//
// # Reuse contract
//
// Because of that reuse, a Handler must not keep r, w, r.URL, r.Header or
// r.Body after ServeHTTP returns, nor use them from other goroutines after it
// returns. Strings taken from the request (r.Method, r.Header values, ...)
// are ordinary immutable strings and may be kept. r.Context() is cancelled
// when the handler returns or when the client goes away while a slow handler
// runs. Hijacked connections belong to the handler: the Server forgets them.
//
// # HTTP/2
//
// With TLSConfig set, ALPN offers "h2" and "http/1.1"; connections that
// negotiate "h2" (and, with H2C, cleartext connections that open with the
// HTTP/2 client preface) are served by the HTTP/2 server bundled in net/http,
// through a shadow http.Server that shares the Handler and whose lifecycle
// follows Shutdown and Close. golang.org/x/net/http2 is the same server code,
// but importing it needs golang.org/x/text, which the module does not list.
package h1
