package testkit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
)

// maxHeadBytes bounds a request head (request line plus header fields). A
// longer head is answered with 431 and the connection is closed.
const maxHeadBytes = 1 << 20

// HeaderField is one header line exactly as it was received: the name keeps
// its original spelling and the value has only its surrounding optional
// whitespace removed.
type HeaderField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// RecordedRequest is one request an Upstream read, as it arrived on the wire.
// The slices are owned by the caller: each call to LastRequest or Requests
// returns fresh copies.
type RecordedRequest struct {
	// Method, Target and Proto are the three parts of the request line;
	// Target is the request-target exactly as sent (not decoded).
	Method string
	Target string
	Proto  string
	// Headers are the header fields in order of arrival, duplicates included.
	Headers []HeaderField
	// Trailers are the trailer fields of a chunked body, in order.
	Trailers []HeaderField
	// Body is the request body with any chunked framing removed. It is empty
	// when the request had no body or the upstream did not read it (a fault
	// before the response head combined with Expect: 100-continue).
	Body []byte
	// Chunked reports whether the body arrived with chunked framing.
	Chunked bool
	// RemoteAddr is the client's address (the gateway's side of the socket).
	RemoteAddr string
	// Conn is the ordinal (1-based) of the TCP connection the request came
	// on, so tests can tell whether two requests shared a connection.
	Conn int64
	// TLSServerName is the SNI name the client sent; empty over plain TCP.
	TLSServerName string
}

// Path returns the path part of the request-target, still escaped as sent.
// For an absolute-form target ("http://host/p?q") it is the part after the
// authority; for "*" it is "*".
func (r RecordedRequest) Path() string {
	p, _ := splitTarget(r.Target)
	return p
}

// RawQuery returns the query part of the request-target without the "?".
func (r RecordedRequest) RawQuery() string {
	_, q := splitTarget(r.Target)
	return q
}

// Header returns the header fields as an http.Header with canonical keys;
// values of repeated fields keep their order.
func (r RecordedRequest) Header() http.Header {
	return fieldsToHeader(r.Headers)
}

// Get returns the first value of the named header field (matched case
// insensitively), or "" when it is absent.
func (r RecordedRequest) Get(name string) string {
	for _, f := range r.Headers {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns every value of the named header field (matched case
// insensitively) in order of arrival.
func (r RecordedRequest) Values(name string) []string {
	var vs []string
	for _, f := range r.Headers {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

func (r RecordedRequest) clone() RecordedRequest {
	r.Headers = append([]HeaderField(nil), r.Headers...)
	r.Trailers = append([]HeaderField(nil), r.Trailers...)
	r.Body = bytes.Clone(r.Body)
	return r
}

func fieldsToHeader(fs []HeaderField) http.Header {
	h := make(http.Header, len(fs))
	for _, f := range fs {
		h.Add(f.Name, f.Value)
	}
	return h
}

// splitTarget splits a request-target into its escaped path and raw query.
func splitTarget(target string) (path, query string) {
	if i := strings.Index(target, "://"); i > 0 && !strings.HasPrefix(target, "/") {
		rest := target[i+3:]
		j := strings.IndexAny(rest, "/?")
		if j < 0 {
			return "", ""
		}
		target = rest[j:]
	}
	path, query, _ = strings.Cut(target, "?")
	return path, query
}

// errBadRequest and errHeadTooLarge classify a head the upstream refuses;
// the connection answers 400 or 431 and closes.
var (
	errBadRequest   = errors.New("testkit: malformed request")
	errHeadTooLarge = errors.New("testkit: request head too large")
)

// framing says how a request's body is delimited.
type framing struct {
	chunked bool
	length  int64
	// conflict is set when both Transfer-Encoding and Content-Length were
	// sent; Transfer-Encoding wins and the connection must close afterwards
	// (RFC 9112 section 6.3).
	conflict bool
}

// readHead reads one request head from br. It returns io.EOF when the peer
// closed cleanly before sending any byte of a new request.
func readHead(br *bufio.Reader) (RecordedRequest, error) {
	var req RecordedRequest
	budget := maxHeadBytes
	line, err := readLine(br, &budget)
	// Tolerate empty lines before the request line (RFC 9112 section 2.2).
	for err == nil && line == "" {
		line, err = readLine(br, &budget)
	}
	if err != nil {
		return req, err
	}
	parts := strings.Split(line, " ")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || !validToken(parts[0]) {
		return req, fmt.Errorf("%w: request line %q", errBadRequest, line)
	}
	if _, _, ok := http.ParseHTTPVersion(parts[2]); !ok {
		return req, fmt.Errorf("%w: version %q", errBadRequest, parts[2])
	}
	req.Method, req.Target, req.Proto = parts[0], parts[1], parts[2]
	req.Headers, err = readFields(br, &budget)
	return req, err
}

// readFields reads header (or trailer) fields up to and including the empty
// line that ends them.
func readFields(br *bufio.Reader, budget *int) ([]HeaderField, error) {
	var fs []HeaderField
	for {
		line, err := readLine(br, budget)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if line == "" {
			return fs, nil
		}
		name, value, ok := strings.Cut(line, ":")
		// No whitespace before the colon and no obsolete line folding: both
		// are request-smuggling vectors and RFC 9112 lets a server reject them.
		if !ok || !validToken(name) {
			return nil, fmt.Errorf("%w: header line %q", errBadRequest, line)
		}
		value = strings.Trim(value, " \t")
		if strings.ContainsAny(value, "\r\n\x00") {
			return nil, fmt.Errorf("%w: header value of %q", errBadRequest, name)
		}
		fs = append(fs, HeaderField{Name: name, Value: value})
	}
}

// readLine reads one line terminated by LF (an optional CR before it is
// removed), charging its length against budget.
func readLine(br *bufio.Reader, budget *int) (string, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		*budget -= len(frag)
		if *budget < 0 {
			return "", errHeadTooLarge
		}
		buf = append(buf, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		buf = buf[:len(buf)-1]
		if n := len(buf); n > 0 && buf[n-1] == '\r' {
			buf = buf[:n-1]
		}
		return string(buf), nil
	}
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// requestFraming decides how the body of req is delimited.
func requestFraming(req RecordedRequest) (framing, error) {
	var fr framing
	te := req.Values("Transfer-Encoding")
	cl := req.Values("Content-Length")
	if len(te) > 0 {
		codings := strings.Split(strings.Join(te, ","), ",")
		last := strings.TrimSpace(codings[len(codings)-1])
		if !strings.EqualFold(last, "chunked") {
			return fr, fmt.Errorf("%w: transfer-encoding %q", errBadRequest, strings.Join(te, ", "))
		}
		fr.chunked = true
		fr.conflict = len(cl) > 0
		return fr, nil
	}
	if len(cl) == 0 {
		return fr, nil
	}
	var n int64 = -1
	for _, v := range cl {
		for _, part := range strings.Split(v, ",") {
			m, err := parseLength(strings.TrimSpace(part))
			if err != nil || (n >= 0 && m != n) {
				return fr, fmt.Errorf("%w: content-length %q", errBadRequest, strings.Join(cl, ", "))
			}
			n = m
		}
	}
	fr.length = n
	return fr, nil
}

func parseLength(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errBadRequest
	}
	return strconv.ParseInt(s, 10, 64)
}

// readBody reads the body delimited by fr into req.
func readBody(br *bufio.Reader, fr framing, req *RecordedRequest) error {
	if fr.chunked {
		req.Chunked = true
		body, err := io.ReadAll(httputil.NewChunkedReader(br))
		req.Body = body
		if err != nil {
			return fmt.Errorf("%w: chunked body: %v", errBadRequest, err)
		}
		budget := maxHeadBytes
		req.Trailers, err = readFields(br, &budget)
		return err
	}
	if fr.length == 0 {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(br, fr.length))
	req.Body = body
	if err == nil && int64(len(body)) < fr.length {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// wantsKeepAlive reports whether the client allows the connection to carry
// another request after this one.
func wantsKeepAlive(req RecordedRequest) bool {
	closeTok, keepTok := false, false
	for _, v := range req.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			switch strings.ToLower(strings.TrimSpace(tok)) {
			case "close":
				closeTok = true
			case "keep-alive":
				keepTok = true
			}
		}
	}
	if closeTok {
		return false
	}
	if req.Proto == "HTTP/1.0" {
		return keepTok
	}
	return true
}
