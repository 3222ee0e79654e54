package transform

import (
	"strings"
)

// The query string is worked on in its raw form: parameters that no
// operation touches are forwarded byte for byte as the client sent them,
// and nothing is parsed into maps. Parameters are separated by "&"; a key
// is compared after unescaping ("+" and %XX), so "a%5Fb" is the key "a_b".

// nextPair cuts the first parameter off a raw query.
func nextPair(q string) (pair, rest string) {
	if i := strings.IndexByte(q, '&'); i >= 0 {
		return q[:i], q[i+1:]
	}
	return q, ""
}

// splitPair splits a raw parameter into its raw key and raw value (after
// "=", if any).
func splitPair(pair string) (key, value string, hasValue bool) {
	if i := strings.IndexByte(pair, '='); i >= 0 {
		return pair[:i], pair[i+1:], true
	}
	return pair, "", false
}

// queryValue returns the raw value of the first parameter named key.
func queryValue(q, key string) (string, bool) {
	for q != "" {
		var pair string
		pair, q = nextPair(q)
		k, v, _ := splitPair(pair)
		if equalUnescaped(k, key) {
			return v, true
		}
	}
	return "", false
}

// unhex returns the value of a hex digit, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unescapeAt decodes the byte of raw at i, returning it and the width it
// took; ok is false for a malformed escape.
func unescapeAt(raw string, i int) (b byte, width int, ok bool) {
	switch raw[i] {
	case '+':
		return ' ', 1, true
	case '%':
		if i+2 >= len(raw) {
			return 0, 0, false
		}
		hi, lo := unhex(raw[i+1]), unhex(raw[i+2])
		if hi < 0 || lo < 0 {
			return 0, 0, false
		}
		return byte(hi<<4 | lo), 3, true
	}
	return raw[i], 1, true
}

// equalUnescaped reports whether raw, unescaped, is want. A malformed
// escape stands for itself, as in appendUnescaped.
func equalUnescaped(raw, want string) bool {
	if strings.IndexByte(raw, '%') < 0 && strings.IndexByte(raw, '+') < 0 {
		return raw == want
	}
	j := 0
	for i := 0; i < len(raw); {
		b, w, ok := unescapeAt(raw, i)
		if !ok {
			b, w = raw[i], 1
		}
		if j >= len(want) || want[j] != b {
			return false
		}
		i += w
		j++
	}
	return j == len(want)
}

// appendUnescaped appends raw, unescaped, to buf; a malformed escape is
// kept as it is.
func appendUnescaped(buf []byte, raw string) []byte {
	for i := 0; i < len(raw); {
		b, w, ok := unescapeAt(raw, i)
		if !ok {
			b, w = raw[i], 1
		}
		buf = append(buf, b)
		i += w
	}
	return buf
}

// appendQueryEscape appends s escaped for a query component, as
// url.QueryEscape does.
func appendQueryEscape(buf []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			buf = append(buf, c)
		case c == ' ':
			buf = append(buf, '+')
		default:
			buf = append(buf, '%', hex[c>>4], hex[c&15])
		}
	}
	return buf
}
