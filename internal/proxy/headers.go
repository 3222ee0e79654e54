package proxy

import (
	"bufio"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/upstream"
)

// Outbound describes how one request is to be forwarded: the parts decided
// by the route and the edge before the proxy runs.
type Outbound struct {
	// Path is the canonical path to send (after strip_path), escaped.
	Path string
	// PreserveHost sends the client's Host instead of the target's.
	PreserveHost bool
	// ClientIP is the client's address, resolved through trusted proxies.
	ClientIP netip.Addr
	// Peer is the TCP peer's address, as parsed by the caller; when it is
	// not valid, the proxy falls back to the request's RemoteAddr.
	Peer netip.Addr
	// TrustedPeer reports whether the TCP peer is a trusted proxy, whose
	// X-Forwarded-* and Forwarded headers are believed and extended.
	TrustedPeer bool
	// RequestID is sent upstream as X-Request-Id.
	RequestID string
	// Consumer is the identified consumer, for hash_on: consumer.
	Consumer string
	// Response, when set, may change the response head just before it is
	// sent to the client (response plugins).
	Response ResponseHook
	// Trace, when set, follows each attempt in a trace and decides the
	// traceparent sent upstream. Nil (tracing off) leaves the client's
	// traceparent, if any, to pass through like any other header.
	Trace AttemptTracer

	// traceParent, when not nil, replaces the client's traceparent on the
	// current attempt.
	traceParent []byte
}

// AttemptTracer follows a request's upstream attempts in a trace
// (implemented by *telemetry.RequestTrace).
type AttemptTracer interface {
	// StartAttempt is called just before attempt n (0 for the first) to
	// target t with the upstream path path. It returns the traceparent
	// value to send on that attempt, or nil to leave the client's.
	StartAttempt(x *exchange.Exchange, n int, t *upstream.Target, path string) []byte
	// EndAttempt is called when the attempt is over, with its record (nil
	// when none was made).
	EndAttempt(a *exchange.Attempt)
}

// ResponseHook changes a response head before it goes to the client.
type ResponseHook interface {
	BeforeResponse(status int, h http.Header)
}

// connTokens holds the header names listed in a request's Connection
// header, canonicalised: those are hop-by-hop too (RFC 9110 §7.6.1).
type connTokens struct {
	names   [8]string
	n       int
	upgrade bool // "Connection: upgrade" was present
}

func (t *connTokens) parse(h http.Header) {
	t.n, t.upgrade = 0, false
	for _, v := range h["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			switch {
			case tok == "":
			case strings.EqualFold(tok, "upgrade"):
				t.upgrade = true
			case strings.EqualFold(tok, "close"), strings.EqualFold(tok, "keep-alive"):
			case t.n < len(t.names):
				t.names[t.n] = http.CanonicalHeaderKey(tok)
				t.n++
			}
		}
	}
}

func (t *connTokens) has(key string) bool {
	for i := 0; i < t.n; i++ {
		if t.names[i] == key {
			return true
		}
	}
	return false
}

// skipRequestHeader reports whether a client header must not be copied as
// is: hop-by-hop fields, framing (the proxy frames the body itself), and
// fields the gateway sets.
func skipRequestHeader(key string) bool {
	switch key {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length", "Expect",
		"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip",
		"X-Request-Id", "Forwarded":
		return true
	}
	return false
}

// writeRequestHead writes the request line and header fields for one
// attempt. bodyLen is the body length to declare (-1: chunked, 0 with
// hasBody false: none).
func writeRequestHead(w *bufio.Writer, r *http.Request, o *Outbound, host string, ct *connTokens, bodyLen int64, hasBody bool) {
	w.WriteString(r.Method)
	w.WriteByte(' ')
	w.WriteString(o.Path)
	if r.URL.RawQuery != "" {
		w.WriteByte('?')
		w.WriteString(r.URL.RawQuery)
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	for k, vv := range r.Header {
		if skipRequestHeader(k) || (ct.n > 0 && ct.has(k)) || (o.traceParent != nil && k == "Traceparent") {
			continue
		}
		for _, v := range vv {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}

	// Forwarding headers: a trusted peer's are extended, anyone else's are
	// replaced, so a client cannot forge its address or scheme.
	w.WriteString("X-Forwarded-For: ")
	if xff := r.Header["X-Forwarded-For"]; o.TrustedPeer && len(xff) > 0 {
		for _, v := range xff {
			w.WriteString(v)
			w.WriteString(", ")
		}
	}
	if o.Peer.IsValid() {
		w.Write(o.Peer.AppendTo(w.AvailableBuffer()))
	} else {
		writePeerIP(w, r.RemoteAddr)
	}
	w.WriteString("\r\nX-Forwarded-Proto: ")
	if v := r.Header.Get("X-Forwarded-Proto"); o.TrustedPeer && v != "" {
		w.WriteString(v)
	} else if r.TLS != nil {
		w.WriteString("https")
	} else {
		w.WriteString("http")
	}
	w.WriteString("\r\nX-Forwarded-Host: ")
	if v := r.Header.Get("X-Forwarded-Host"); o.TrustedPeer && v != "" {
		w.WriteString(v)
	} else {
		w.WriteString(r.Host)
	}
	if o.ClientIP.IsValid() {
		w.WriteString("\r\nX-Real-Ip: ")
		w.Write(o.ClientIP.AppendTo(w.AvailableBuffer()))
	}
	if o.TrustedPeer {
		for _, v := range r.Header["Forwarded"] {
			w.WriteString("\r\nForwarded: ")
			w.WriteString(v)
		}
	}
	w.WriteString("\r\nX-Request-Id: ")
	w.WriteString(o.RequestID)
	w.WriteString("\r\n")
	if o.traceParent != nil {
		w.WriteString("Traceparent: ")
		w.Write(o.traceParent)
		w.WriteString("\r\n")
	}
	if ct.upgrade && r.Header.Get("Upgrade") != "" {
		w.WriteString("Connection: Upgrade\r\nUpgrade: ")
		w.WriteString(r.Header.Get("Upgrade"))
		w.WriteString("\r\n")
	}
	switch {
	case bodyLen < 0:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case hasBody || bodyLen > 0 || methodWantsLength(r.Method):
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(w.AvailableBuffer(), bodyLen, 10))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
}

// writePeerIP writes the IP part of a host:port remote address.
func writePeerIP(w *bufio.Writer, remote string) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		w.Write(ap.Addr().Unmap().AppendTo(w.AvailableBuffer()))
		return
	}
	host := remote
	if i := strings.LastIndexByte(remote, ':'); i > 0 {
		host = strings.Trim(remote[:i], "[]")
	}
	w.WriteString(host)
}

// methodWantsLength reports whether a body-less request of this method
// should still say Content-Length: 0 (RFC 9110 §8.6).
func methodWantsLength(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
}

// isIdempotent reports whether a request may be retried after it may have
// reached the upstream (CONTRACT §4).
func isIdempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return len(r.Header["Idempotency-Key"]) > 0
}
