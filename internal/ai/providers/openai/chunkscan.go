package openai

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeChunk decodes one stream chunk into c. A stream is hundreds of
// chunks and encoding/json's reflection was most of the gateway's time on
// one, so the common chunks (role, text, refusal and reasoning deltas,
// finish reasons) are read by chunkScanner; whatever it does not take
// (tool calls, usage, errors, logprobs, anything unusual) goes to
// encoding/json. FuzzChunkScanner holds the scanner to encoding/json's
// answers.
func (s *stream) decodeChunk(data []byte, c *chunk) error {
	if s.scan.decode(data, c) {
		return nil
	}
	*c = chunk{}
	return json.Unmarshal(data, c)
}

// chunkScanner reads the common Chat Completions chunks without
// reflection. decode reports false, with c in any state, for what it does
// not handle; the caller then decodes with encoding/json. Strings a
// stream repeats in every chunk (id, object, model, fingerprint) are
// allocated once.
type chunkScanner struct {
	b []byte
	i int

	id, objectType, model, fingerprint string
}

func (p *chunkScanner) decode(data []byte, c *chunk) bool {
	*c = chunk{}
	p.b, p.i = data, 0
	ok := p.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return p.repeated(&c.ID, &p.id)
		case "object":
			return p.repeated(&c.Object, &p.objectType)
		case "model":
			return p.repeated(&c.Model, &p.model)
		case "created":
			return p.int64(&c.Created)
		case "system_fingerprint":
			if p.null() {
				c.SystemFingerprint = nil
				return true
			}
			var fp string
			if !p.repeated(&fp, &p.fingerprint) {
				return false
			}
			c.SystemFingerprint = &fp
			return true
		case "choices":
			return p.choices(c)
		case "usage", "error":
			if p.null() {
				return true // a null leaves the field as it is
			}
			return false
		}
		return p.unknown(key)
	})
	p.ws()
	return ok && p.i == len(p.b)
}

func (p *chunkScanner) choices(c *chunk) bool {
	if p.null() {
		c.Choices = nil
		return true
	}
	if !p.consume('[') {
		return false
	}
	c.Choices = c.Choices[:0]
	if p.consume(']') {
		if c.Choices == nil {
			c.Choices = []choice{}
		}
		return true
	}
	for {
		var ch choice
		if !p.choice(&ch) {
			return false
		}
		c.Choices = append(c.Choices, ch)
		if p.consume(']') {
			return true
		}
		if !p.consume(',') {
			return false
		}
	}
}

func (p *chunkScanner) choice(ch *choice) bool {
	return p.object(func(key []byte) bool {
		switch string(key) {
		case "index":
			var n int64
			if !p.int64(&n) || int64(int(n)) != n {
				return false
			}
			ch.Index = int(n)
			return true
		case "delta":
			if p.null() {
				ch.Delta = nil
				return true
			}
			d := new(delta)
			ch.Delta = d
			return p.delta(d)
		case "finish_reason":
			return p.optString(&ch.FinishReason)
		case "logprobs":
			if p.null() {
				ch.Logprobs = nil
				return true
			}
			return false
		case "message":
			return false
		}
		return p.unknown(key)
	})
}

func (p *chunkScanner) delta(d *delta) bool {
	return p.object(func(key []byte) bool {
		switch string(key) {
		case "role":
			if p.null() {
				return true
			}
			return p.string(&d.Role)
		case "content":
			return p.optString(&d.Content)
		case "refusal":
			return p.optString(&d.Refusal)
		case "reasoning_content":
			return p.optString(&d.ReasoningContent)
		case "tool_calls":
			return false
		}
		return p.unknown(key)
	})
}

// object reads an object, calling field with each key with the scanner at
// its value; field reads the value or reports false.
func (p *chunkScanner) object(field func(key []byte) bool) bool {
	if !p.consume('{') {
		return false
	}
	if p.consume('}') {
		return true
	}
	// encoding/json merges a repeated key into what the first one set;
	// such chunks, and keys with escapes, are left to it.
	var seen [16][]byte
	n := 0
	for {
		p.ws()
		key, ok := p.rawString()
		if !ok || !p.consume(':') || bytes.IndexByte(key, '\\') >= 0 || !plainValid(key) || n == len(seen) {
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
		if p.consume('}') {
			return true
		}
		if !p.consume(',') {
			return false
		}
	}
}

// knownKeys are the keys of the chunk types: encoding/json matches keys
// case-insensitively, so another case of one of them is left to it.
var knownKeys = []string{"id", "object", "model", "created", "system_fingerprint", "choices", "usage", "error",
	"index", "delta", "finish_reason", "logprobs", "message", "role", "content", "refusal", "reasoning_content",
	"tool_calls"}

// unknown skips the value of a key no field has.
func (p *chunkScanner) unknown(key []byte) bool {
	for _, k := range knownKeys {
		if bytes.EqualFold(key, []byte(k)) {
			return false
		}
	}
	return p.skip(0)
}

// skip skips one value of any kind.
func (p *chunkScanner) skip(depth int) bool {
	p.ws()
	if p.i >= len(p.b) || depth > 32 {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		raw, ok := p.rawString()
		if !ok {
			return false
		}
		if bytes.IndexByte(raw, '\\') < 0 {
			return plainValid(raw)
		}
		_, ok = unquote(raw)
		return ok
	case c == '{':
		return p.object(func([]byte) bool { return p.skip(depth + 1) })
	case c == '[':
		p.i++
		if p.consume(']') {
			return true
		}
		for {
			if !p.skip(depth + 1) {
				return false
			}
			if p.consume(']') {
				return true
			}
			if !p.consume(',') {
				return false
			}
		}
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	default:
		start := p.i
		for p.i < len(p.b) && bytes.IndexByte([]byte("+-.0123456789eE"), p.b[p.i]) >= 0 {
			p.i++
		}
		return p.i > start && json.Valid(p.b[start:p.i])
	}
}

func (p *chunkScanner) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *chunkScanner) consume(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *chunkScanner) literal(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

func (p *chunkScanner) null() bool {
	p.ws()
	return p.literal("null")
}

func (p *chunkScanner) int64(dst *int64) bool {
	p.ws()
	if p.null() {
		return true
	}
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	digits := p.b[start:p.i]
	if len(digits) == 0 || p.i < len(p.b) && bytes.IndexByte([]byte(".eE"), p.b[p.i]) >= 0 || !json.Valid(digits) {
		return false
	}
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil {
		return false
	}
	*dst = n
	return true
}

// string reads a string value; null leaves dst as it is.
func (p *chunkScanner) string(dst *string) bool {
	p.ws()
	if p.null() {
		return true
	}
	raw, ok := p.rawString()
	if !ok {
		return false
	}
	s, ok := unquote(raw)
	if ok {
		*dst = s
	}
	return ok
}

// optString reads a string or null into a *string field.
func (p *chunkScanner) optString(dst **string) bool {
	if p.null() {
		*dst = nil
		return true
	}
	s := new(string)
	if !p.string(s) {
		return false
	}
	*dst = s
	return true
}

// repeated reads a string the stream repeats: when it is last's, last is
// reused rather than allocated again.
func (p *chunkScanner) repeated(dst, last *string) bool {
	p.ws()
	if p.null() {
		return true
	}
	raw, ok := p.rawString()
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

// rawString returns the bytes between the quotes of the string at the
// scanner, escapes undecoded.
func (p *chunkScanner) rawString() ([]byte, bool) {
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
