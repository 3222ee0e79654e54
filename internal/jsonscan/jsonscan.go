// Package jsonscan reads JSON documents of a known shape without
// reflection, for the AI gateway's hottest decoding (stream events, one
// per token). It is deliberately partial: a Scanner method reports false
// for anything it does not take exactly as encoding/json would (escaped or
// repeated keys, another case of a known key, invalid UTF-8, lone
// surrogates, numbers that are not integers...), and the caller then
// decodes the document with encoding/json. Each user holds its decoder to
// encoding/json with a differential fuzz target.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Scanner reads one document at a time. Its zero value is ready.
type Scanner struct {
	b []byte
	i int
}

// Reset starts reading data.
func (p *Scanner) Reset(data []byte) { p.b, p.i = data, 0 }

// End reports whether only whitespace is left.
func (p *Scanner) End() bool {
	p.ws()
	return p.i == len(p.b)
}

// Object reads an object, calling field with each key with the scanner at
// its value; field reads the value or reports false.
func (p *Scanner) Object(field func(key []byte) bool) bool {
	if !p.Consume('{') {
		return false
	}
	if p.Consume('}') {
		return true
	}
	// encoding/json merges a repeated key into what the first one set;
	// such chunks, and keys with escapes, are left to it.
	var seen [16][]byte
	n := 0
	for {
		p.ws()
		key, ok := p.RawString()
		if !ok || !p.Consume(':') || bytes.IndexByte(key, '\\') >= 0 || !plainValid(key) || n == len(seen) {
			return false
		}
		for _, k := range seen[:n] {
			if bytes.Equal(k, key) {
				return false
			}
		}
		seen[n], n = key, n+1
		if !field(key) {
			return false
		}
		if p.Consume('}') {
			return true
		}
		if !p.Consume(',') {
			return false
		}
	}
}

// Array reads an array, calling elem with the scanner at each element;
// elem reads it or reports false. Anything but an array (null included:
// read it first where one may stand) is false.
func (p *Scanner) Array(elem func() bool) bool {
	if !p.Consume('[') {
		return false
	}
	if p.Consume(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.Consume(']') {
			return true
		}
		if !p.Consume(',') {
			return false
		}
	}
}

// Unknown skips the value of a key no field takes. encoding/json matches
// keys case-insensitively, so a key that is another case of one of known
// is refused (false): the caller leaves the document to encoding/json.
func (p *Scanner) Unknown(key []byte, known []string) bool {
	for _, k := range known {
		if bytes.EqualFold(key, []byte(k)) {
			return false
		}
	}
	return p.Skip(0)
}

// Raw reads one value of any kind as its bytes, copied into dst, as
// encoding/json fills a json.RawMessage.
func (p *Scanner) Raw(dst *json.RawMessage) bool {
	p.ws()
	start := p.i
	if !p.Skip(0) {
		return false
	}
	*dst = append((*dst)[:0], p.b[start:p.i]...)
	return true
}

// Skip skips one value of any kind, nested at most 32 deep.
func (p *Scanner) Skip(depth int) bool {
	p.ws()
	if p.i >= len(p.b) || depth > 32 {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		raw, ok := p.RawString()
		if !ok {
			return false
		}
		if bytes.IndexByte(raw, '\\') < 0 {
			return plainValid(raw)
		}
		_, ok = unquote(raw)
		return ok
	case c == '{':
		return p.Object(func([]byte) bool { return p.Skip(depth + 1) })
	case c == '[':
		return p.Array(func() bool { return p.Skip(depth + 1) })
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	default:
		_, ok := p.number()
		return ok
	}
}

// number reads a number literal as JSON defines it.
func (p *Scanner) number() ([]byte, bool) {
	start, b, i := p.i, p.b, p.i
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	p.i = i
	return b[start:i], true
}

// OptFloat64 reads a number into a *float64 field; null sets it nil. A
// number out of float64's range is false, as encoding/json refuses it.
func (p *Scanner) OptFloat64(dst **float64) bool { return Opt(p, dst, p.float64) }

// float64 reads a number (not null).
func (p *Scanner) float64(dst *float64) bool {
	lit, ok := p.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return false
	}
	*dst = f
	return true
}

// Opt reads a value into a pointer field: null sets it nil; anything else
// is read by read into a new value the field points to.
func Opt[T any](p *Scanner, dst **T, read func(*T) bool) bool {
	if p.Null() {
		*dst = nil
		return true
	}
	v := new(T)
	*dst = v
	return read(v)
}

// OptInt64 reads an integer into a *int64 field; null sets it nil.
func (p *Scanner) OptInt64(dst **int64) bool { return Opt(p, dst, p.Int64) }

// OptInt reads an integer into a *int field; null sets it nil.
func (p *Scanner) OptInt(dst **int) bool { return Opt(p, dst, p.Int) }

// Bool reads true or false; null leaves dst as it is.
func (p *Scanner) Bool(dst *bool) bool {
	p.ws()
	switch {
	case p.literal("true"):
		*dst = true
	case p.literal("false"):
		*dst = false
	default:
		return p.literal("null")
	}
	return true
}

// OptBool reads a boolean into a *bool field; null sets it nil.
func (p *Scanner) OptBool(dst **bool) bool { return Opt(p, dst, p.Bool) }

func (p *Scanner) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// Consume reads byte c (after whitespace) if it is next.
func (p *Scanner) Consume(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *Scanner) literal(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// Null reads a null if one is next.
func (p *Scanner) Null() bool {
	p.ws()
	return p.literal("null")
}

// Int64 reads an integer; null leaves dst as it is.
func (p *Scanner) Int64(dst *int64) bool {
	p.ws()
	if p.Null() {
		return true
	}
	digits, ok := p.number()
	if !ok || bytes.ContainsAny(digits, ".eE") {
		return false
	}
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil {
		return false
	}
	*dst = n
	return true
}

// Int reads an integer that fits an int; null leaves dst as it is.
func (p *Scanner) Int(dst *int) bool {
	n := int64(*dst)
	if !p.Int64(&n) || int64(int(n)) != n {
		return false
	}
	*dst = int(n)
	return true
}

// String reads a string value; null leaves dst as it is.
func (p *Scanner) String(dst *string) bool {
	p.ws()
	if p.Null() {
		return true
	}
	raw, ok := p.RawString()
	if !ok {
		return false
	}
	s, ok := unquote(raw)
	if ok {
		*dst = s
	}
	return ok
}

// OptString reads a string or null into a *string field.
func (p *Scanner) OptString(dst **string) bool { return Opt(p, dst, p.String) }

// Repeated reads a string the stream repeats: when it is last's, last is
// reused rather than allocated again.
func (p *Scanner) Repeated(dst, last *string) bool {
	p.ws()
	if p.Null() {
		return true
	}
	raw, ok := p.RawString()
	if !ok {
		return false
	}
	if string(raw) == *last && bytes.IndexByte(raw, '\\') < 0 {
		*dst = *last
		return true
	}
	s, ok := unquote(raw)
	if !ok {
		return false
	}
	*dst, *last = s, s
	return true
}

// RawString returns the bytes between the quotes of the string at the
// scanner, escapes undecoded.
func (p *Scanner) RawString() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	for i := start; i < len(p.b); i++ {
		switch p.b[i] {
		case '"':
			p.i = i + 1
			return p.b[start:i], true
		case '\\':
			i++
		}
	}
	return nil, false
}

// unquote decodes a JSON string's contents. It refuses (false) what
// encoding/json would change or refuse: control bytes, invalid UTF-8,
// bad escapes and lone surrogates.
func unquote(raw []byte) (string, bool) {
	if bytes.IndexByte(raw, '\\') < 0 {
		if !plainValid(raw) {
			return "", false
		}
		return string(raw), true
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c < 0x20:
			return "", false
		case c != '\\':
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size <= 1 {
				return "", false
			}
			out = append(out, raw[i:i+size]...)
			i += size
			continue
		}
		if i+1 >= len(raw) {
			return "", false
		}
		esc := raw[i+1]
		i += 2
		switch esc {
		case '"', '\\', '/':
			out = append(out, esc)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(raw, i)
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// Only a pair makes a character; a lone surrogate is
				// left to encoding/json (it writes U+FFFD).
				if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
					return "", false
				}
				r2, ok := hex4(raw, i+2)
				if !ok {
					return "", false
				}
				dec := utf16.DecodeRune(r, r2)
				if dec == utf8.RuneError {
					return "", false
				}
				r = dec
				i += 6
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return string(out), true
}

// plainValid reports whether a string without escapes is one encoding/json
// takes as it is: no control bytes, valid UTF-8.
func plainValid(raw []byte) bool {
	for _, c := range raw {
		if c < 0x20 {
			return false
		}
	}
	return utf8.Valid(raw)
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
