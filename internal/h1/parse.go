package h1

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
)

// protoError is a request the engine refuses before the handler runs. It is
// answered with status through Server.ErrorHandler and the connection is
// closed.
type protoError struct {
	status int
	code   string
	reason string // what was wrong, for debug logs
}

func (e *protoError) Error() string { return "h1: " + e.reason }

func badRequest(reason string) *protoError {
	return &protoError{http.StatusBadRequest, CodeBadRequest, reason}
}

var (
	errHeadTooLarge  = &protoError{http.StatusRequestHeaderFieldsTooLarge, CodeRequestHeaderTooLarge, "request head too large"}
	errTooManyFields = &protoError{http.StatusRequestHeaderFieldsTooLarge, CodeRequestHeaderTooLarge, "too many header fields"}
	errURITooLong    = &protoError{http.StatusRequestURITooLong, CodeURITooLong, "request-target too long"}
	errVersion       = &protoError{http.StatusHTTPVersionNotSupported, CodeHTTPVersionNotSupported, "unsupported HTTP version"}
	errTransferCode  = &protoError{http.StatusNotImplemented, CodeNotImplemented, "transfer coding other than chunked"}
	errExpectation   = &protoError{http.StatusExpectationFailed, CodeExpectationFailed, "unsupported expectation"}
)

// byteSet is a lookup table of allowed bytes.
type byteSet [256]bool

func makeSet(ranges ...string) *byteSet {
	var s byteSet
	for _, r := range ranges {
		if len(r) == 3 && r[1] == '-' {
			for b := int(r[0]); b <= int(r[2]); b++ {
				s[b] = true
			}
			continue
		}
		for i := 0; i < len(r); i++ {
			s[r[i]] = true
		}
	}
	return &s
}

var (
	// tokenChars are RFC 9110 tchar: field names, methods, coding names.
	tokenChars = makeSet("a-z", "A-Z", "0-9", "!#$%&'*+-.^_`|~")
	// valueChars are field-vchar plus SP and HTAB: CTLs, DEL and bare CR
	// are refused; obs-text is allowed.
	valueChars = makeSet("\t", " -~", "\x80-\xff")
	// hostChars are the bytes net/http allows in a Host value.
	hostChars = makeSet("a-z", "A-Z", "0-9", "!$%&'()*+,-.:;=@[]_~")
	// fastPathChars are request-target path bytes that url.URL keeps as is
	// (no unescaping, no RawPath), so Path is the raw path.
	fastPathChars = makeSet("a-z", "A-Z", "0-9", "-_.~$&+,/:;=@")
)

// reqHead is a parsed request head. Its strings are substrings of a single
// string made from the head bytes, so a head costs one allocation.
type reqHead struct {
	method        string
	target        string
	minor         int // HTTP/1.minor; the major version is always 1
	host          string
	contentLength int64 // -1 without Content-Length
	chunked       bool
	closeConn     bool // "Connection: close"
	keepAlive     bool // "Connection: keep-alive"
	expectCont    bool // "Expect: 100-continue"
}

// fieldSpan locates one header field line's name and value in the head.
type fieldSpan struct{ ns, ne, vs, ve int }

// headParser parses request heads into reused storage.
type headParser struct {
	maxURL int
	spans  []fieldSpan
	vals   []string // backing store for one-value header slices
}

func newHeadParser(maxURL int) *headParser {
	return &headParser{
		maxURL: maxURL,
		spans:  make([]fieldSpan, 0, 16),
		vals:   make([]string, 16), // grown for a request with more fields
	}
}

// parse parses raw, a complete request head from the request line through
// the empty line that ends it, into h, u and hdr (which must be empty). It
// canonicalises field names in raw in place.
func (p *headParser) parse(raw []byte, h *reqHead, u *url.URL, hdr http.Header) *protoError {
	nl := bytes.IndexByte(raw, '\n')
	if nl < 0 {
		return badRequest("incomplete head")
	}
	method, target, version, perr := splitRequestLine(trimCR(raw[:nl]), p.maxURL)
	if perr != nil {
		return perr
	}
	minor, perr := parseVersion(raw[version[0]:version[1]])
	if perr != nil {
		return perr
	}

	p.spans = p.spans[:0]
	for pos := nl + 1; pos < len(raw); {
		end := pos + bytes.IndexByte(raw[pos:], '\n')
		if end < pos {
			return badRequest("incomplete head")
		}
		le := end
		if le > pos && raw[le-1] == '\r' {
			le--
		}
		if le == pos {
			break
		}
		sp, perr := scanField(raw, pos, le)
		if perr != nil {
			return perr
		}
		if len(p.spans) == maxHeaderCount {
			return errTooManyFields
		}
		p.spans = append(p.spans, sp)
		pos = end + 1
	}

	s := string(raw)
	*h = reqHead{
		method:        s[method[0]:method[1]],
		target:        s[target[0]:target[1]],
		minor:         minor,
		contentLength: -1,
	}
	if perr := p.fields(s, h, hdr); perr != nil {
		return perr
	}
	return parseTarget(h, u)
}

// fields interprets the header fields of s into h and hdr.
func (p *headParser) fields(s string, h *reqHead, hdr http.Header) *protoError {
	var (
		hosts                  int
		clSeen, teSeen, teBad  bool
		teCodings              int
		clValue                string
		expectOther, expect100 bool
	)
	if len(p.vals) < len(p.spans) {
		// A new array: the old one may back the last request's values.
		p.vals = make([]string, len(p.spans))
	}
	for i, sp := range p.spans {
		name, value := s[sp.ns:sp.ne], s[sp.vs:sp.ve]
		switch name {
		case "Host":
			hosts++
			h.host = value
			continue
		case "Transfer-Encoding":
			teSeen = true
			for elem := range strings.SplitSeq(value, ",") {
				teCodings++
				if !strings.EqualFold(trimOWS(elem), "chunked") {
					teBad = true
				}
			}
			continue
		case "Content-Length":
			for elem := range strings.SplitSeq(value, ",") {
				elem = trimOWS(elem)
				if !clSeen {
					n, ok := parseContentLength(elem)
					if !ok {
						return badRequest("invalid Content-Length")
					}
					clSeen, clValue, h.contentLength = true, elem, n
				} else if elem != clValue {
					return badRequest("conflicting Content-Length values")
				}
			}
		case "Connection":
			for elem := range strings.SplitSeq(value, ",") {
				elem = trimOWS(elem)
				if strings.EqualFold(elem, "close") {
					h.closeConn = true
				} else if strings.EqualFold(elem, "keep-alive") {
					h.keepAlive = true
				}
			}
		case "Expect":
			if strings.EqualFold(value, "100-continue") {
				expect100 = true
			} else {
				expectOther = true
			}
		}
		if vs, ok := hdr[name]; ok {
			hdr[name] = append(vs, value)
		} else {
			p.vals[i] = value
			hdr[name] = p.vals[i : i+1 : i+1]
		}
	}

	switch {
	case hosts > 1:
		return badRequest("several Host fields")
	case hosts == 0 && h.minor >= 1:
		return badRequest("missing Host field")
	case !validHost(h.host):
		return badRequest("invalid Host field")
	}
	if teSeen {
		switch {
		case clSeen:
			return badRequest("both Content-Length and Transfer-Encoding")
		case h.minor == 0:
			return badRequest("Transfer-Encoding in an HTTP/1.0 request")
		case teBad || teCodings != 1:
			return errTransferCode
		}
		h.chunked = true
	}
	if expectOther {
		return errExpectation
	}
	// An HTTP/1.0 client cannot wait for 100 Continue (RFC 9110, 10.1.1).
	h.expectCont = expect100 && h.minor >= 1
	return nil
}

// splitRequestLine splits "METHOD SP target SP version" into the offsets of
// its three parts.
func splitRequestLine(line []byte, maxURL int) (method, target, version [2]int, perr *protoError) {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return method, target, version, badRequest("malformed request line")
	}
	for _, b := range line[:sp1] {
		if !tokenChars[b] {
			return method, target, version, badRequest("invalid method")
		}
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ')
	if sp2 < 0 {
		if len(line)-sp1-1 > maxURL {
			return method, target, version, errURITooLong
		}
		return method, target, version, badRequest("malformed request line")
	}
	sp2 += sp1 + 1
	if sp2-sp1-1 > maxURL {
		return method, target, version, errURITooLong
	}
	if sp2 == sp1+1 {
		return method, target, version, badRequest("empty request-target")
	}
	for _, b := range line[sp1+1 : sp2] {
		if b <= ' ' || b == 0x7f || b == '#' {
			return method, target, version, badRequest("invalid request-target")
		}
	}
	return [2]int{0, sp1}, [2]int{sp1 + 1, sp2}, [2]int{sp2 + 1, len(line)}, nil
}

// parseVersion accepts "HTTP/1.d" and refuses other versions with 505 and
// anything else with 400.
func parseVersion(v []byte) (minor int, perr *protoError) {
	if len(v) < 6 || string(v[:5]) != "HTTP/" {
		return 0, badRequest("malformed HTTP version")
	}
	d := v[5:]
	switch {
	case len(d) == 3 && isDigit(d[0]) && d[1] == '.' && isDigit(d[2]):
		if d[0] != '1' {
			return 0, errVersion
		}
		return int(d[2] - '0'), nil
	case len(d) == 1 && isDigit(d[0]) && d[0] != '1':
		return 0, errVersion
	}
	return 0, badRequest("malformed HTTP version")
}

// scanField validates the field line raw[pos:le] (without its line end),
// canonicalises its name in place, and locates name and value.
func scanField(raw []byte, pos, le int) (fieldSpan, *protoError) {
	if raw[pos] == ' ' || raw[pos] == '\t' {
		return fieldSpan{}, badRequest("obsolete line folding")
	}
	upper := true
	i := pos
	for ; i < le && tokenChars[raw[i]]; i++ {
		b := raw[i]
		if upper && 'a' <= b && b <= 'z' {
			raw[i] = b - ('a' - 'A')
		} else if !upper && 'A' <= b && b <= 'Z' {
			raw[i] = b + ('a' - 'A')
		}
		upper = b == '-'
	}
	if i == pos || i == le || raw[i] != ':' {
		return fieldSpan{}, badRequest("invalid field name")
	}
	sp := fieldSpan{ns: pos, ne: i, vs: i + 1, ve: le}
	for sp.vs < sp.ve && (raw[sp.vs] == ' ' || raw[sp.vs] == '\t') {
		sp.vs++
	}
	for sp.ve > sp.vs && (raw[sp.ve-1] == ' ' || raw[sp.ve-1] == '\t') {
		sp.ve--
	}
	for _, b := range raw[sp.vs:sp.ve] {
		if !valueChars[b] {
			return fieldSpan{}, badRequest("invalid field value")
		}
	}
	return sp, nil
}

// parseTarget fills u from the request-target per its form (RFC 9112,
// section 3.2), and sets h.host from an absolute-form target.
func parseTarget(h *reqHead, u *url.URL) *protoError {
	t := h.target
	switch {
	case h.method == http.MethodConnect:
		// authority-form: uri-host ":" port
		if t[0] == '/' || !strings.Contains(t, ":") || !validHost(t) {
			return badRequest("CONNECT needs an authority-form target")
		}
		u.Host = t
		return nil
	case t[0] == '/':
		return parseOriginForm(u, t)
	case t == "*":
		if h.method != http.MethodOptions {
			return badRequest("asterisk-form target with a method other than OPTIONS")
		}
		u.Path = "*"
		return nil
	}
	pu, err := url.ParseRequestURI(t)
	if err != nil || pu.Host == "" || pu.User != nil || !validHost(pu.Host) ||
		!(strings.EqualFold(pu.Scheme, "http") || strings.EqualFold(pu.Scheme, "https")) {
		return badRequest("invalid absolute-form target")
	}
	*u = *pu
	h.host = pu.Host
	return nil
}

// parseOriginForm fills u from an origin-form target. Targets of plain path
// bytes are split without allocating; others go through url.ParseRequestURI.
func parseOriginForm(u *url.URL, t string) *protoError {
	q := len(t)
	for i := 0; i < len(t); i++ {
		b := t[i]
		if b == '?' {
			q = i
			break
		}
		if !fastPathChars[b] {
			pu, err := url.ParseRequestURI(t)
			if err != nil {
				return badRequest("invalid request-target")
			}
			*u = *pu
			return nil
		}
	}
	u.Path = t[:q]
	if q < len(t) {
		u.RawQuery = t[q+1:]
		// As url.Parse: a lone trailing "?" is kept as ForceQuery.
		u.ForceQuery = q == len(t)-1
	}
	return nil
}

// parseContentLength parses a non-empty string of decimal digits.
func parseContentLength(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !isDigit(b) || n > (1<<63-1-9)/10 {
			return 0, false
		}
		n = n*10 + int64(b-'0')
	}
	return n, true
}

func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		if !hostChars[h[i]] {
			return false
		}
	}
	return true
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func trimCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}

// trimOWS trims RFC 9110 optional whitespace.
func trimOWS(s string) string {
	return strings.Trim(s, " \t")
}
