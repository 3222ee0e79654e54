package router

import (
	"errors"
	"fmt"
)

// ErrInvalidPath is the root of every error returned by [Canonicalize]; a
// caller maps errors.Is(err, ErrInvalidPath) to a 400 response. The finer
// sentinels below all wrap it.
var ErrInvalidPath = errors.New("invalid request path")

var (
	// ErrPathNotAbsolute reports a path that does not begin with "/".
	ErrPathNotAbsolute = fmt.Errorf("%w: does not begin with /", ErrInvalidPath)
	// ErrMalformedEscape reports a "%" not followed by two hex digits.
	ErrMalformedEscape = fmt.Errorf("%w: malformed percent-escape", ErrInvalidPath)
	// ErrForbiddenByte reports a NUL (raw or as %00), another raw control
	// byte, DEL or a raw backslash.
	ErrForbiddenByte = fmt.Errorf("%w: forbidden byte", ErrInvalidPath)
	// ErrDisguisedDotSegment reports a segment that some server behind the
	// gateway could read as "." or "..": one carrying path parameters
	// ("..;x", ".;") or one joined to others by an encoded slash or backslash
	// ("..%2F", "a%5C..").
	ErrDisguisedDotSegment = fmt.Errorf("%w: disguised dot segment", ErrInvalidPath)
)

// Byte classes of the escaped path, indexed by byte value.
const (
	classEncode    = iota // not allowed raw in a path: percent-encoded
	classKeep             // unreserved, sub-delims, ':', '@' or '/': kept as is
	classPercent          // '%': starts an escape
	classForbidden        // rejected
)

var (
	byteClass  [256]uint8
	unreserved [256]bool
)

func init() {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
			unreserved[c] = true
			byteClass[c] = classKeep
		case c == '!', c == '$', c == '&', c == '\'', c == '(', c == ')', c == '*',
			c == '+', c == ',', c == ';', c == '=', c == ':', c == '@', c == '/':
			byteClass[c] = classKeep
		case c == '%':
			byteClass[c] = classPercent
		case c < 0x20, c == 0x7f, c == '\\':
			byteClass[c] = classForbidden
		default:
			byteClass[c] = classEncode
		}
	}
}

const upperHex = "0123456789ABCDEF"

// Canonicalize returns the canonical form of escapedPath, the escaped (wire)
// form of a request path without its query, such as the result of
// (*url.URL).EscapedPath. The canonical form is the only one the gateway
// routes, authorises and forwards. It is made by these steps:
//
//   - escapes of unreserved characters (ALPHA, DIGIT, "-", ".", "_", "~")
//     are decoded; every other escape is kept, in upper-case hex, so an
//     encoded slash stays encoded and is not a segment separator;
//   - a raw byte that may not appear in a path (space, '"', '<', '>', '^',
//     '`', '{', '|', '}', '[', ']', '?', '#', bytes from 0x80) is
//     percent-encoded;
//   - dot segments are removed as in RFC 3986 section 5.2.4, ".." at the
//     root staying at the root, and runs of "/" are collapsed into one. A
//     trailing "/" is kept.
//
// It fails, with an error wrapping [ErrInvalidPath] and one of the finer
// sentinels, when the path does not begin with "/", holds a malformed escape,
// a NUL (raw or %00), another raw control byte, DEL or a raw backslash, or a
// disguised dot segment (see [ErrDisguisedDotSegment]).
//
// A path that is already canonical is returned as is, without allocating.
// The result is itself canonical: Canonicalize is idempotent.
func Canonicalize(escapedPath string) (string, error) {
	if isCanonical(escapedPath) {
		return escapedPath, nil
	}
	return canonicalizeSlow(escapedPath)
}

// isCanonical reports whether p is already in canonical form. It never
// decides that a path is invalid; anything unusual sends the path to
// canonicalizeSlow, which produces the precise result or error.
func isCanonical(p string) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	segStart, dot := 1, false
	for i := 1; i < len(p); i++ {
		c := p[i]
		switch byteClass[c] {
		case classKeep:
			switch c {
			case '/':
				if i == segStart {
					return false // empty segment: "//"
				}
				if dot && hasDotPiece(p[segStart:i]) {
					return false
				}
				segStart, dot = i+1, false
			case '.':
				dot = true
			}
		case classPercent:
			if i+2 >= len(p) || !isUpperHex(p[i+1]) || !isUpperHex(p[i+2]) {
				return false
			}
			v := unhex(p[i+1])<<4 | unhex(p[i+2])
			if v == 0 || unreserved[v] {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return !dot || !hasDotPiece(p[segStart:])
}

func canonicalizeSlow(p string) (string, error) {
	if len(p) == 0 || p[0] != '/' {
		return "", fmt.Errorf("%w: %q", ErrPathNotAbsolute, excerpt(p, 0))
	}
	// Pass 1: validate bytes and escapes; decode unreserved escapes, upper-case
	// the others and encode raw bytes that may not appear in a path.
	buf := make([]byte, 0, len(p)+8)
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch byteClass[c] {
		case classKeep:
			buf = append(buf, c)
		case classPercent:
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return "", fmt.Errorf("%w %q at byte %d", ErrMalformedEscape, p[i:min(i+3, len(p))], i)
			}
			v := unhex(p[i+1])<<4 | unhex(p[i+2])
			switch {
			case v == 0:
				return "", fmt.Errorf("%w %q at byte %d", ErrForbiddenByte, p[i:i+3], i)
			case unreserved[v]:
				buf = append(buf, v)
			default:
				buf = append(buf, '%', upperHex[v>>4], upperHex[v&15])
			}
			i += 2
		case classForbidden:
			return "", fmt.Errorf("%w 0x%02x at byte %d", ErrForbiddenByte, c, i)
		default:
			buf = append(buf, '%', upperHex[c>>4], upperHex[c&15])
		}
	}

	// Pass 2, in place: remove dot segments and empty segments. The output
	// never gets ahead of the input, so w <= the read position at all times.
	w := 0
	for i := 1; ; {
		end := i
		for end < len(buf) && buf[end] != '/' {
			end++
		}
		seg := buf[i:end]
		last := end == len(buf)
		switch {
		case len(seg) == 0 || len(seg) == 1 && seg[0] == '.':
			// "" or ".": contributes nothing but a trailing slash.
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			// "..": drop the last output segment, clamping at the root.
			for w > 0 {
				w--
				if buf[w] == '/' {
					break
				}
			}
		default:
			if hasDotPiece(seg) {
				return "", fmt.Errorf("%w %q", ErrDisguisedDotSegment, excerpt(string(seg), 0))
			}
			buf[w] = '/'
			w += 1 + copy(buf[w+1:], seg)
			if last {
				return string(buf[:w]), nil
			}
		}
		if last {
			buf[w] = '/'
			return string(buf[:w+1]), nil
		}
		i = end + 1
	}
}

// hasDotPiece reports whether the segment seg (canonical escapes, no raw
// '/') is, or hides, a dot segment. The segment is cut into pieces at
// encoded slashes and backslashes (%2F, %5C); a piece's name is its part
// before the first path parameter (';' or %3B). The segment hides a dot
// segment when some piece's name is "." or "..".
func hasDotPiece[S string | []byte](seg S) bool {
	pieceStart, nameEnd := 0, -1
	for i := 0; i < len(seg); i++ {
		switch seg[i] {
		case ';':
			if nameEnd < 0 {
				nameEnd = i
			}
		case '%':
			if i+2 >= len(seg) {
				return false // not canonical; the caller rejects it elsewhere
			}
			switch {
			case seg[i+1] == '3' && seg[i+2] == 'B':
				if nameEnd < 0 {
					nameEnd = i
				}
			case seg[i+1] == '2' && seg[i+2] == 'F', seg[i+1] == '5' && seg[i+2] == 'C':
				if nameEnd < 0 {
					nameEnd = i
				}
				if isDots(seg[pieceStart:nameEnd]) {
					return true
				}
				pieceStart, nameEnd = i+3, -1
			}
			i += 2
		}
	}
	if nameEnd < 0 {
		nameEnd = len(seg)
	}
	return isDots(seg[pieceStart:nameEnd])
}

// isDots reports whether s is "." or "..".
func isDots[S string | []byte](s S) bool {
	switch len(s) {
	case 1:
		return s[0] == '.'
	case 2:
		return s[0] == '.' && s[1] == '.'
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isUpperHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// excerpt returns at most 64 bytes of s from offset off, for error details.
func excerpt(s string, off int) string {
	const limit = 64
	s = s[off:]
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}
