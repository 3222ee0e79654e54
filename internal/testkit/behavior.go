package testkit

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Behavior is what an Upstream does with a request once its head has been
// read. Values are built by the Mode constants and the constructors of this
// package; they are immutable and may be shared between upstreams.
//
// Unless a Behavior says otherwise, the request body is read completely
// (per Content-Length or chunked framing, answering Expect: 100-continue)
// and recorded before the Behavior acts.
type Behavior interface {
	// serve answers x and reports whether the connection may carry another
	// request; when it returns false the connection is closed or dropped.
	serve(x *exchange) bool
}

// Mode is a Behavior that takes no parameters.
type Mode int

// The parameterless behaviours.
const (
	// OK answers 200 with the text body "METHOD TARGET\n" (the request-target
	// exactly as received), honouring keep-alive and Connection: close.
	OK Mode = iota + 1
	// Echo answers 200 with an application/json EchoBody describing the
	// request as received.
	Echo
	// ResetBeforeHead reads the request, then aborts the connection with a
	// TCP RST without sending a byte.
	ResetBeforeHead
	// CloseBeforeHead reads the request, then closes the connection cleanly
	// (FIN) without sending a byte.
	CloseBeforeHead
	// Garbage reads the request, answers "HELLO WORLD\r\n\r\n" (not HTTP)
	// and closes the connection cleanly.
	Garbage
	// Hang reads the request and never answers; the connection stays open
	// until the client closes it or the Upstream is closed.
	Hang
	// ResetMidBody answers a 200 head with Content-Length: 1000, sends the
	// first 100 body bytes, waits until the client's kernel has acknowledged
	// them, then aborts the connection with a TCP RST.
	ResetMidBody
	// WebSocketEcho completes the RFC 6455 handshake and echoes every data
	// frame back unmasked with its opcode and FIN bit, answers pings with
	// pongs and a close frame with a close frame. A request that is not a
	// WebSocket upgrade is answered 400.
	WebSocketEcho
)

var modeNames = map[Mode]string{
	OK:              "OK",
	Echo:            "Echo",
	ResetBeforeHead: "ResetBeforeHead",
	CloseBeforeHead: "CloseBeforeHead",
	Garbage:         "Garbage",
	Hang:            "Hang",
	ResetMidBody:    "ResetMidBody",
	WebSocketEcho:   "WebSocketEcho",
}

// String returns the constant's name.
func (m Mode) String() string {
	if n, ok := modeNames[m]; ok {
		return n
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// failsBeforeHead reports whether m never sends a response head; such a
// mode does not answer Expect: 100-continue.
func (m Mode) failsBeforeHead() bool {
	switch m {
	case ResetBeforeHead, CloseBeforeHead, Garbage, Hang:
		return true
	}
	return false
}

// garbage is what Garbage sends instead of a response.
const garbage = "HELLO WORLD\r\n\r\n"

func (m Mode) serve(x *exchange) bool {
	switch m {
	case OK:
		return serveOK(x)
	case Echo:
		return serveEcho(x)
	case ResetBeforeHead:
		x.s.reset()
		return false
	case CloseBeforeHead:
		x.s.closeClean()
		return false
	case Garbage:
		_, _ = x.s.bw.WriteString(garbage)
		x.s.closeClean()
		return false
	case Hang:
		x.s.wait(-1)
		return false
	case ResetMidBody:
		x.keepAlive = true // the head must not announce a close
		x.writeHead(http.StatusOK, http.Header{
			"Content-Type":   {"text/plain; charset=utf-8"},
			"Content-Length": {"1000"},
		})
		_, _ = x.s.bw.WriteString(strings.Repeat("x", 100))
		if x.s.bw.Flush() == nil {
			waitSent(x.s.raw, time.Second)
		}
		x.s.reset()
		return false
	case WebSocketEcho:
		return serveWebSocket(x)
	}
	panic("testkit: unknown Mode " + m.String())
}

func serveOK(x *exchange) bool {
	return x.respond(http.StatusOK, nil, []byte(x.req.Method+" "+x.req.Target+"\n"))
}

// EchoBody is the JSON body Echo answers with: the request as the upstream
// received it.
type EchoBody struct {
	Method string `json:"method"`
	// Target is the request-target exactly as sent; Path and RawQuery are
	// its parts, still escaped.
	Target   string `json:"target"`
	Path     string `json:"path"`
	RawQuery string `json:"raw_query"`
	Proto    string `json:"proto"`
	// Headers are in order of arrival, duplicates included.
	Headers []HeaderField `json:"headers"`
	// Body is the request body, dechunked; in JSON it is base64 so that any
	// bytes survive.
	Body       []byte `json:"body"`
	RemoteAddr string `json:"remote_addr"`
}

// Header returns the echoed header fields as an http.Header.
func (e EchoBody) Header() http.Header { return fieldsToHeader(e.Headers) }

// Get returns the first echoed value of the named header field (matched
// case insensitively), or "".
func (e EchoBody) Get(name string) string {
	return RecordedRequest{Headers: e.Headers}.Get(name)
}

// DecodeEcho decodes an Echo response body read from r.
func DecodeEcho(r io.Reader) (EchoBody, error) {
	var e EchoBody
	if err := json.NewDecoder(r).Decode(&e); err != nil {
		return EchoBody{}, fmt.Errorf("testkit: decode echo body: %w", err)
	}
	return e, nil
}

func serveEcho(x *exchange) bool {
	r := x.req
	body, err := json.Marshal(EchoBody{
		Method:     r.Method,
		Target:     r.Target,
		Path:       r.Path(),
		RawQuery:   r.RawQuery(),
		Proto:      r.Proto,
		Headers:    r.Headers,
		Body:       r.Body,
		RemoteAddr: r.RemoteAddr,
	})
	if err != nil {
		panic("testkit: marshal echo body: " + err.Error())
	}
	return x.respond(http.StatusOK, http.Header{"Content-Type": {"application/json"}}, body)
}

// respond is the Behavior of Respond and Status.
type respond struct {
	status int
	header http.Header
	body   []byte
}

// Respond answers every request with status, header and body. The header
// fields are sent as given (sorted by name); Content-Length is added only
// when header lacks it, so a deliberately wrong length is sent as is.
// Connection: close in header closes the connection after the response.
func Respond(status int, header http.Header, body string) Behavior {
	return &respond{status: status, header: header.Clone(), body: []byte(body)}
}

// Status answers every request with the given status and a short text body
// such as "503 Service Unavailable\n".
func Status(code int) Behavior {
	return Respond(code, nil, fmt.Sprintf("%d %s\n", code, http.StatusText(code)))
}

func (r *respond) serve(x *exchange) bool {
	return x.respond(r.status, r.header, r.body)
}

// slowHead is the Behavior of SlowHead.
type slowHead struct{ delay time.Duration }

// SlowHead reads the request, waits d, then answers as OK does. If the
// client closes the connection while it waits, it stops and sends nothing.
func SlowHead(d time.Duration) Behavior { return slowHead{delay: d} }

func (b slowHead) serve(x *exchange) bool {
	if !x.s.wait(b.delay) {
		return false
	}
	return serveOK(x)
}

// stream is the Behavior of Drip and SSE.
type stream struct {
	chunks      []string
	interval    time.Duration
	contentType string
}

// Drip answers 200 with a chunked text body of n chunks, "chunk 1\n" to
// "chunk n\n". The head is sent at once; each chunk is sent, each in its own
// write, interval after the previous one (the first interval after the
// head), then the last chunk. An HTTP/1.0 client gets the same bytes
// delimited by the connection's close.
func Drip(n int, interval time.Duration) Behavior {
	chunks := make([]string, 0, max(n, 0))
	for i := 1; i <= n; i++ {
		chunks = append(chunks, "chunk "+strconv.Itoa(i)+"\n")
	}
	return &stream{chunks: chunks, interval: interval, contentType: "text/plain; charset=utf-8"}
}

// SSE answers 200 with Content-Type text/event-stream and sends events as
// Drip sends chunks, one event per chunk. Each element is one event block
// written verbatim, such as "event: ping\ndata: {}", with its trailing
// newlines replaced by the blank line that ends an event.
func SSE(events []string, interval time.Duration) Behavior {
	chunks := make([]string, len(events))
	for i, e := range events {
		chunks[i] = strings.TrimRight(e, "\n") + "\n\n"
	}
	return &stream{chunks: chunks, interval: interval, contentType: "text/event-stream"}
}

func (st *stream) serve(x *exchange) bool {
	h := http.Header{"Content-Type": {st.contentType}, "Cache-Control": {"no-cache"}}
	chunked := x.req.Proto != "HTTP/1.0"
	if chunked {
		h.Set("Transfer-Encoding", "chunked")
	} else {
		x.keepAlive = false
	}
	x.writeHead(http.StatusOK, h)
	if x.req.Method == http.MethodHead {
		return x.finish()
	}
	bw := x.s.bw
	if bw.Flush() != nil {
		return false
	}
	for _, c := range st.chunks {
		if !x.s.wait(st.interval) {
			return false
		}
		if chunked {
			fmt.Fprintf(bw, "%x\r\n%s\r\n", len(c), c)
		} else {
			_, _ = bw.WriteString(c)
		}
		if bw.Flush() != nil {
			return false
		}
	}
	if chunked {
		_, _ = bw.WriteString("0\r\n\r\n")
	}
	return x.finish()
}

// sequence is the Behavior of Sequence.
type sequence struct{ steps []Behavior }

// Sequence answers request by request: the first request after the
// sequence is installed (by Start or Set) gets bs[0], the second bs[1], and
// so on; the last one repeats. Requests are counted across all connections
// in the order their heads are read; health probes do not count. A
// Sequence nested in another is flattened into it. Sequence panics when bs
// is empty or holds nil.
func Sequence(bs ...Behavior) Behavior {
	var steps []Behavior
	for _, b := range bs {
		switch v := b.(type) {
		case nil:
			panic("testkit: Sequence with a nil Behavior")
		case *sequence:
			steps = append(steps, v.steps...)
		default:
			steps = append(steps, b)
		}
	}
	if len(steps) == 0 {
		panic("testkit: empty Sequence")
	}
	return &sequence{steps: steps}
}

func (s *sequence) step(i int64) Behavior {
	return s.steps[min(i, int64(len(s.steps)-1))]
}

// serve is never called: Upstream.next resolves an installed sequence to
// one of its steps, and Sequence flattens nested ones.
func (s *sequence) serve(*exchange) bool {
	panic("testkit: sequence served directly")
}
