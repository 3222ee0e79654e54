package testkit

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// drainTimeout bounds how long a clean close waits for the client to stop
// sending before the socket is closed.
const drainTimeout = 2 * time.Second

// session is one accepted connection: the raw TCP socket, the connection
// requests are read from (raw, or TLS over raw) and its buffers.
type session struct {
	u    *Upstream
	raw  net.Conn
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	id   int64
	sni  string
}

func newSession(u *Upstream, raw net.Conn, id int64) *session {
	return &session{
		u:    u,
		raw:  raw,
		conn: raw,
		br:   bufio.NewReaderSize(raw, 64<<10),
		bw:   bufio.NewWriterSize(raw, 16<<10),
		id:   id,
	}
}

func (s *session) useTLS(tc *tls.Conn) {
	s.conn = tc
	s.br.Reset(tc)
	s.bw.Reset(tc)
	s.sni = tc.ConnectionState().ServerName
}

// exchange is one request being answered: what a Behavior works with.
type exchange struct {
	s   *session
	req RecordedRequest
	// keepAlive reports whether the connection may carry another request
	// once this response is complete.
	keepAlive bool
}

// serveOne reads and answers one request; it reports whether the
// connection may be used for another.
func (s *session) serveOne() bool {
	req, err := readHead(s.br)
	if err != nil {
		s.refuse(err)
		return false
	}
	req.RemoteAddr = s.raw.RemoteAddr().String()
	req.Conn = s.id
	req.TLSServerName = s.sni

	fr, ferr := requestFraming(req)
	probe := s.u.isProbe(req)
	var b Behavior
	if !probe {
		s.u.hits.Add(1)
		b = s.u.next()
	}
	if ferr != nil {
		if !probe {
			s.u.record(req)
		}
		s.refuse(ferr)
		return false
	}

	// A fault before the response head must not send 100 Continue; the
	// body is then left unread and the connection cannot be reused.
	hasBody := fr.chunked || fr.length > 0
	readIt := hasBody
	if hasBody && strings.EqualFold(req.Get("Expect"), "100-continue") {
		if m, ok := b.(Mode); ok && m.failsBeforeHead() {
			readIt = false
		} else {
			_, _ = s.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if s.bw.Flush() != nil {
				return false
			}
		}
	}
	if readIt {
		if err := readBody(s.br, fr, &req); err != nil {
			if !probe {
				s.u.record(req)
			}
			s.refuse(err)
			return false
		}
	}
	x := &exchange{s: s, req: req, keepAlive: wantsKeepAlive(req) && !fr.conflict && readIt == hasBody}
	if probe {
		s.u.probes.Add(1)
		return s.answerProbe(x)
	}
	s.u.record(req)
	if !b.serve(x) {
		return false
	}
	return x.keepAlive
}

func (s *session) answerProbe(x *exchange) bool {
	if s.u.healthy.Load() {
		return x.respond(http.StatusOK, nil, []byte("ok\n"))
	}
	return x.respond(http.StatusServiceUnavailable, nil, []byte("unhealthy\n"))
}

// refuse ends the connection after a request that could not be read: a
// malformed one is answered 400 (431 for an oversized head) first.
func (s *session) refuse(err error) {
	status := 0
	switch {
	case errors.Is(err, errHeadTooLarge):
		status = http.StatusRequestHeaderFieldsTooLarge
	case errors.Is(err, errBadRequest):
		status = http.StatusBadRequest
	}
	if status == 0 {
		return
	}
	x := &exchange{s: s}
	x.respond(status, nil, []byte(http.StatusText(status)+"\n"))
}

// respond writes a complete response with the given body. Header fields are
// written in sorted order; Content-Length is added when h lacks it (and the
// status allows a body), and Connection: close when the connection will not
// be reused. The body is not sent in answer to HEAD. It reports whether the
// connection may carry another request; when not, it has been closed.
func (x *exchange) respond(status int, h http.Header, body []byte) bool {
	h = h.Clone()
	if h == nil {
		h = http.Header{}
	}
	noBody := status < 200 || status == http.StatusNoContent || status == http.StatusNotModified
	if !noBody {
		if _, ok := h["Content-Length"]; !ok {
			h.Set("Content-Length", strconv.Itoa(len(body)))
		}
		if _, ok := h["Content-Type"]; !ok && len(body) > 0 {
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	x.writeHead(status, h)
	if !noBody && x.req.Method != http.MethodHead {
		_, _ = x.s.bw.Write(body)
	}
	return x.finish()
}

// writeHead buffers the status line and header fields, adjusting keepAlive
// and the Connection field to each other.
func (x *exchange) writeHead(status int, h http.Header) {
	if hasToken(h.Values("Connection"), "close") {
		x.keepAlive = false
	}
	if !x.keepAlive && !hasToken(h.Values("Connection"), "close") {
		h.Add("Connection", "close")
	} else if x.keepAlive && x.req.Proto == "HTTP/1.0" {
		h.Set("Connection", "keep-alive")
	}
	text := http.StatusText(status)
	if text == "" {
		text = "Status " + strconv.Itoa(status)
	}
	fmt.Fprintf(x.s.bw, "HTTP/1.1 %d %s\r\n", status, text)
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(x.s.bw, "%s: %s\r\n", k, v)
		}
	}
	_, _ = x.s.bw.WriteString("\r\n")
}

// finish flushes the response and closes the connection cleanly unless it
// may be reused; it reports whether it may.
func (x *exchange) finish() bool {
	if err := x.s.bw.Flush(); err != nil {
		return false
	}
	if !x.keepAlive {
		x.s.closeClean()
		return false
	}
	return true
}

func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// closeClean ends the connection with a FIN: it shuts down the write side
// (after a TLS close_notify), reads whatever the client still sends for a
// while so that unread data does not turn the close into a reset, then
// closes the socket.
func (s *session) closeClean() {
	_ = s.bw.Flush()
	if tc, ok := s.conn.(*tls.Conn); ok {
		_ = tc.CloseWrite()
	}
	if tcp, ok := s.raw.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
	_ = s.raw.SetReadDeadline(time.Now().Add(drainTimeout))
	_, _ = io.Copy(io.Discard, s.raw)
	_ = s.raw.Close()
}

// reset aborts the connection with a TCP RST: SO_LINGER 0, then close.
func (s *session) reset() {
	if tcp, ok := s.raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = s.raw.Close()
}

// wait pauses for d (forever when d < 0). It returns false early when the
// client closes the connection or the upstream is closed, true when the full
// time has passed. A request the client pipelines meanwhile stays buffered.
func (s *session) wait(d time.Duration) bool {
	var timeout <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	gone := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		// Peek one byte past what is buffered until the buffer is full, so
		// that a close after pipelined bytes is noticed too.
		for n := 1; n <= s.br.Size(); n = s.br.Buffered() + 1 {
			if _, err := s.br.Peek(n); err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					close(gone)
				}
				return
			}
		}
	}()
	stop := func() {
		_ = s.conn.SetReadDeadline(time.Unix(1, 0))
		<-watched
		_ = s.conn.SetReadDeadline(time.Time{})
	}
	select {
	case <-gone:
		<-watched
		return false
	case <-s.u.done:
		stop()
		return false
	case <-timeout:
		stop()
		select {
		case <-gone:
			return false
		default:
			return true
		}
	}
}
