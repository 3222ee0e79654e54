// Package httpwire parses HTTP/1.x responses off the wire for the
// gateway's own clients: the proxy's upstream exchanges and the AI
// gateway's provider calls.
package httpwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ErrMalformed marks a response that is not valid HTTP/1.x.
var ErrMalformed = errors.New("malformed response")

// Head is the parsed head of a response. The header fields go into a
// header map; Head keeps what a client needs for framing and connection
// reuse.
type Head struct {
	Status        int
	ContentLength int64 // -1 when unknown
	Chunked       bool
	UntilClose    bool // the body ends when the server closes
	Close         bool // the connection cannot be reused after this response
	Upgrade       bool // 101 Switching Protocols
}

// ReadHead reads one response head (skipping 1xx interim responses other
// than 101) from r into h, which must be empty. The head must fit r's
// buffer. It fails with ErrMalformed
// for anything that is not HTTP/1.x, and with the read error (io.EOF,
// a reset, a timeout) when the head did not arrive whole.
func ReadHead(r *bufio.Reader, h http.Header, method string, rh *Head) error {
	for {
		head, err := peekHead(r)
		if err != nil {
			return err
		}
		if err := parseHead(head, h, rh); err != nil {
			return err
		}
		if rh.Status >= 200 || rh.Status == http.StatusSwitchingProtocols {
			break
		}
		clear(h) // interim response: 100 Continue, 103 Early Hints
	}
	switch {
	case rh.Status == http.StatusSwitchingProtocols:
		rh.Upgrade, rh.Close = true, true
		rh.ContentLength = 0
	case method == http.MethodHead || rh.Status == http.StatusNoContent || rh.Status == http.StatusNotModified:
		rh.ContentLength, rh.Chunked, rh.UntilClose = 0, false, false
	case rh.Chunked:
		rh.ContentLength = -1
	case rh.ContentLength < 0:
		rh.UntilClose, rh.Close = true, true
	}
	return nil
}

// peekHead waits until r holds a whole response head and returns it as a
// string (one allocation; header values are substrings of it), consuming it
// from r.
func peekHead(r *bufio.Reader) (string, error) {
	need := 1
	for {
		if _, err := r.Peek(need); err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return "", fmt.Errorf("%w: response head larger than %d bytes", ErrMalformed, r.Size())
			}
			if r.Buffered() > 0 && errors.Is(err, io.EOF) {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		b, _ := r.Peek(r.Buffered())
		if end := headEnd(b); end > 0 {
			head := string(b[:end])
			r.Discard(end)
			return head, nil
		}
		if len(b) >= 5 && !bytes.HasPrefix(b, []byte("HTTP/")) {
			return "", fmt.Errorf("%w: response does not start with HTTP/", ErrMalformed)
		}
		need = len(b) + 1
	}
}

// headEnd returns the length of the head in b including its final empty
// line, or 0 when b does not hold a whole head yet. Bare LF line ends are
// accepted, as RFC 9112 §2.2 allows.
func headEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		i0 := bytes.IndexByte(b[i:], '\n')
		if i0 < 0 {
			return 0
		}
		i += i0
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
	}
	return 0
}

// parseHead parses a status line and header fields.
func parseHead(head string, h http.Header, rh *Head) error {
	line, rest := nextLine(head)
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || line[:7] != "HTTP/1." || (line[7] != '1' && line[7] != '0') || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return fmt.Errorf("%w: bad status line %.40q", ErrMalformed, line)
	}
	status, err := strconv.Atoi(line[9:12])
	if err != nil || status < 100 {
		return fmt.Errorf("%w: bad status code %.40q", ErrMalformed, line)
	}
	*rh = Head{Status: status, ContentLength: -1, Close: line[7] == '0'}
	http10 := line[7] == '0'

	n := strings.Count(rest, "\n")
	vals := make([]string, 0, n)
	var connection string
	for {
		line, rest = nextLine(rest)
		if line == "" {
			break
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !ValidToken(line[:colon]) {
			return fmt.Errorf("%w: bad header line %.40q", ErrMalformed, line)
		}
		key := http.CanonicalHeaderKey(line[:colon])
		val := strings.Trim(line[colon+1:], " \t")
		if !validValue(val) {
			return fmt.Errorf("%w: bad value for header %s", ErrMalformed, key)
		}
		switch key {
		case "Content-Length":
			cl, err := strconv.ParseInt(val, 10, 64)
			if err != nil || cl < 0 || val[0] == '+' || (rh.ContentLength >= 0 && rh.ContentLength != cl) {
				return fmt.Errorf("%w: bad Content-Length %.40q", ErrMalformed, val)
			}
			rh.ContentLength = cl
		case "Transfer-Encoding":
			// The final coding decides the framing (RFC 9112 §6.3).
			last := val
			if i := strings.LastIndexByte(val, ','); i >= 0 {
				last = strings.TrimSpace(val[i+1:])
			}
			rh.Chunked = strings.EqualFold(last, "chunked")
			if !rh.Chunked {
				rh.UntilClose = true
			}
			continue
		case "Connection":
			connection = val
			continue
		case "Keep-Alive", "Proxy-Connection", "Upgrade", "Trailer", "Te", "Proxy-Authenticate":
			if key == "Upgrade" && status == http.StatusSwitchingProtocols {
				break
			}
			continue
		}
		if old, ok := h[key]; ok {
			h[key] = append(old, val)
			continue
		}
		vals = append(vals, val)
		h[key] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if rh.Chunked || rh.UntilClose {
		// A Transfer-Encoding overrides any Content-Length (RFC 9112 §6.3).
		rh.ContentLength = -1
		delete(h, "Content-Length")
	}
	if connection != "" {
		for tok := range strings.SplitSeq(connection, ",") {
			tok = strings.TrimSpace(tok)
			switch {
			case strings.EqualFold(tok, "close"):
				rh.Close = true
			case strings.EqualFold(tok, "keep-alive"):
				if http10 {
					rh.Close = false
				}
			case strings.EqualFold(tok, "upgrade"):
			case tok != "":
				delete(h, http.CanonicalHeaderKey(tok))
			}
		}
	}
	return nil
}

// nextLine splits s after its first line, trimming the CRLF or LF.
func nextLine(s string) (line, rest string) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return s, ""
	}
	line, rest = s[:i], s[i+1:]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, rest
}

// ValidToken reports whether s is an RFC 9110 token (a field name).
func ValidToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] {
			return false
		}
	}
	return len(s) > 0
}

// validValue reports whether s holds no control bytes other than HT.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// ChunkSize parses a chunk-size line (its line end removed), ignoring
// chunk extensions.
func ChunkSize(line []byte) (int64, error) {
	var size int64
	digits := 0
	for _, ch := range line {
		var d byte
		switch {
		case ch >= '0' && ch <= '9':
			d = ch - '0'
		case ch >= 'a' && ch <= 'f':
			d = ch - 'a' + 10
		case ch >= 'A' && ch <= 'F':
			d = ch - 'A' + 10
		case ch == ';' || ch == ' ' || ch == '\t':
			if digits == 0 {
				return 0, fmt.Errorf("%w: bad chunk size", ErrMalformed)
			}
			return size, nil
		default:
			return 0, fmt.Errorf("%w: bad chunk size", ErrMalformed)
		}
		digits++
		if digits > 15 {
			return 0, fmt.Errorf("%w: chunk size too large", ErrMalformed)
		}
		size = size<<4 | int64(d)
	}
	if digits == 0 {
		return 0, fmt.Errorf("%w: bad chunk size", ErrMalformed)
	}
	return size, nil
}
