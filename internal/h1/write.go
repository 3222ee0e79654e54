package h1

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// statusLines caches "HTTP/1.1 NNN Reason\r\n" for the registered codes.
var statusLines = func() (t [600]string) {
	for code := 100; code < len(t); code++ {
		if text := http.StatusText(code); text != "" {
			t[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
		}
	}
	return t
}()

func appendStatusLine(dst []byte, code int) []byte {
	if code < len(statusLines) && statusLines[code] != "" {
		return append(dst, statusLines[code]...)
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	return append(dst, " \r\n"...)
}

// appendHeader appends the handler's header fields, except those the engine
// manages (framing and, unless upgrade, Connection), trailers, and fields
// with invalid names. CTLs in values become spaces, so a value cannot split
// the response.
func appendHeader(dst []byte, h http.Header, trailers []string, upgrade bool) []byte {
	for k, vs := range h {
		if managedField(k, upgrade) || strings.HasPrefix(k, http.TrailerPrefix) || !validFieldName(k) {
			continue
		}
		if len(trailers) > 0 && contains(trailers, k) {
			continue
		}
		dst = appendField(dst, k, vs)
	}
	return dst
}

func appendField(dst []byte, k string, vs []string) []byte {
	for _, v := range vs {
		dst = append(dst, k...)
		dst = append(dst, ": "...)
		start := len(dst)
		dst = append(dst, v...)
		for i := start; i < len(dst); i++ {
			if b := dst[i]; b < ' ' && b != '\t' || b == 0x7f {
				dst[i] = ' '
			}
		}
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// managedField reports whether the engine writes field k itself.
func managedField(k string, upgrade bool) bool {
	switch len(k) {
	case len("Connection"):
		return !upgrade && strings.EqualFold(k, "Connection")
	case len("Content-Length"):
		return strings.EqualFold(k, "Content-Length")
	case len("Transfer-Encoding"):
		return strings.EqualFold(k, "Transfer-Encoding")
	}
	return false
}

func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !tokenChars[k[i]] {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// declaredTrailers appends the canonical field names listed in the
// response's Trailer field values.
func declaredTrailers(dst []string, values []string) []string {
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = http.CanonicalHeaderKey(trimOWS(name))
			if validFieldName(name) && !managedField(name, false) {
				dst = append(dst, name)
			}
		}
	}
	return dst
}

// appendTrailers appends the trailer section: declared trailers and fields
// set with http.TrailerPrefix.
func (w *response) appendTrailers(dst []byte) []byte {
	for _, k := range w.trailers {
		dst = appendField(dst, k, w.header[k])
	}
	for k, vs := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok &&
			validFieldName(name) && !managedField(name, false) {
			dst = appendField(dst, name, vs)
		}
	}
	return dst
}

// hasToken reports whether a comma-separated field value lists token.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for elem := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(trimOWS(elem), token) {
				return true
			}
		}
	}
	return false
}

// dateLine is a cached "Date: ...\r\n" line for one second.
type dateLine struct {
	sec  int64
	line []byte
}

var dateCache atomic.Pointer[dateLine]

// appendDate appends the Date field; it is formatted once a second.
func appendDate(dst []byte) []byte {
	now := time.Now()
	d := dateCache.Load()
	if d == nil || d.sec != now.Unix() {
		b := append(make([]byte, 0, 40), "Date: "...)
		b = now.UTC().AppendFormat(b, http.TimeFormat)
		d = &dateLine{sec: now.Unix(), line: append(b, "\r\n"...)}
		dateCache.Store(d)
	}
	return append(dst, d.line...)
}

func appendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

func appendHex(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 16) }

const hexDigits = "0123456789abcdef"

// frameChunk frames the chunk data buffered in wbuf[chunkRoom:] in place:
// the chunk-size line goes into the room before it and CRLF after it.
func frameChunk(wbuf []byte) []byte {
	i := chunkRoom - 2
	wbuf[i], wbuf[i+1] = '\r', '\n'
	for v := len(wbuf) - chunkRoom; ; v >>= 4 {
		i--
		wbuf[i] = hexDigits[v&15]
		if v < 16 {
			break
		}
	}
	wbuf = append(wbuf, '\r', '\n')
	return wbuf[i:]
}
