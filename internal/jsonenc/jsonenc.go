// Package jsonenc appends JSON values to byte slices without reflection, for
// the few hot-path encoders (error bodies, log lines) where encoding/json's
// cost shows.
package jsonenc

import "unicode/utf8"

// AppendString appends s as a JSON string literal. Invalid UTF-8 is
// replaced with U+FFFD so the output is always valid JSON.
func AppendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c < 0x20 || c == 0x7f:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				buf = append(buf, `\ufffd`...)
			} else {
				buf = append(buf, s[i:i+size]...)
			}
			i += size
			continue
		default:
			buf = append(buf, c)
		}
		i++
	}
	return append(buf, '"')
}
