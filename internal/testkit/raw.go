package testkit

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RefusingAddr returns a "127.0.0.1:PORT" where a TCP connect is refused:
// the port was listened on and closed again. Another process could take the
// port in between, which on loopback is unlikely within one test.
func RefusingAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testkit: listen: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("testkit: close listener: %v", err)
	}
	return addr
}

// rawTimeout bounds a whole RawRequest exchange.
const rawTimeout = 10 * time.Second

// RawRequest connects to addr over plain TCP, writes raw verbatim and reads
// one response. It returns the response head (status line and header lines,
// each ending in CRLF, without the blank line that ends the head) and the
// body, with chunked framing removed. Interim 1xx responses other than 101
// are skipped. The body is read per Content-Length, chunked framing, or until
// the server closes; a response to HEAD, a 1xx, 204 or 304 has none. The
// exchange is bounded by a 10 s deadline. err reports a failure to connect,
// write or read a whole response; what was read so far is still returned.
func RawRequest(t testing.TB, addr string, raw string) (head string, body []byte, err error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, rawTimeout)
	if err != nil {
		return "", nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(rawTimeout))
	if _, err := io.WriteString(c, raw); err != nil {
		return "", nil, err
	}
	br := bufio.NewReader(c)
	method, _, _ := strings.Cut(raw, " ")
	for {
		head, status, err := readResponseHead(br)
		if err != nil {
			return head, nil, err
		}
		if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
			continue
		}
		if method == http.MethodHead || status < 200 || status == http.StatusNoContent || status == http.StatusNotModified {
			return head, nil, nil
		}
		body, err := readResponseBody(br, head)
		return head, body, err
	}
}

// readResponseHead reads a status line and header lines up to the blank
// line, returning them and the status code.
func readResponseHead(br *bufio.Reader) (string, int, error) {
	var sb strings.Builder
	status := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			sb.WriteString(line)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return sb.String(), 0, fmt.Errorf("testkit: read response head: %w", err)
		}
		if status == 0 {
			_, rest, _ := strings.Cut(line, " ")
			code, _, _ := strings.Cut(rest, " ")
			n, err := strconv.Atoi(strings.TrimSpace(code))
			if !strings.HasPrefix(line, "HTTP/") || err != nil {
				sb.WriteString(line)
				return sb.String(), 0, fmt.Errorf("testkit: malformed status line %q", line)
			}
			status = n
		}
		if line == "\r\n" || line == "\n" {
			return sb.String(), status, nil
		}
		sb.WriteString(line)
	}
}

// readResponseBody reads the body the head announces.
func readResponseBody(br *bufio.Reader, head string) ([]byte, error) {
	var te, cl string
	for _, line := range strings.Split(head, "\n")[1:] {
		name, value, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok {
			continue
		}
		switch {
		case strings.EqualFold(name, "Transfer-Encoding"):
			te = strings.TrimSpace(value)
		case strings.EqualFold(name, "Content-Length"):
			cl = strings.TrimSpace(value)
		}
	}
	switch {
	case te != "":
		body, err := io.ReadAll(httputil.NewChunkedReader(br))
		if err != nil {
			return body, fmt.Errorf("testkit: read chunked body: %w", err)
		}
		budget := maxHeadBytes
		_, err = readFields(br, &budget)
		return body, err
	case cl != "":
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("testkit: bad Content-Length %q", cl)
		}
		body, err := io.ReadAll(io.LimitReader(br, n))
		if err == nil && int64(len(body)) < n {
			err = io.ErrUnexpectedEOF
		}
		return body, err
	default:
		return io.ReadAll(br)
	}
}
