package telemetry

import (
	"go.opentelemetry.io/otel/trace"
)

// traceParentLen is the length of a version 00 traceparent value:
// "00-" 32 hex "-" 16 hex "-" 2 hex.
const traceParentLen = 55

// parseTraceParent reads a W3C traceparent header (Trace Context §3.2).
// vals are the header's values: more than one is invalid. It returns
// ok false for anything invalid, which the caller treats as no parent.
// It does not allocate.
func parseTraceParent(vals []string) (tid trace.TraceID, sid trace.SpanID, sampled, ok bool) {
	if len(vals) != 1 {
		return tid, sid, false, false
	}
	s := vals[0]
	if len(s) < traceParentLen || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return tid, sid, false, false
	}
	ver, ok1 := hexByte(s[0], s[1])
	flags, ok2 := hexByte(s[53], s[54])
	// Version ff is invalid; version 00 has exactly these fields; a later
	// version may append fields after a "-", which are ignored.
	if !ok1 || !ok2 || ver == 0xff || (ver == 0 && len(s) != traceParentLen) || (len(s) > traceParentLen && s[55] != '-') {
		return tid, sid, false, false
	}
	if !decodeHex(tid[:], s[3:35]) || !decodeHex(sid[:], s[36:52]) || !tid.IsValid() || !sid.IsValid() {
		return tid, sid, false, false
	}
	return tid, sid, flags&1 == 1, true
}

// appendTraceParent appends a version 00 traceparent value to b.
func appendTraceParent(b []byte, tid trace.TraceID, sid trace.SpanID, sampled bool) []byte {
	b = append(b, "00-"...)
	b = appendHex(b, tid[:])
	b = append(b, '-')
	b = appendHex(b, sid[:])
	if sampled {
		return append(b, "-01"...)
	}
	return append(b, "-00"...)
}

const hexDigits = "0123456789abcdef"

func appendHex(b, src []byte) []byte {
	for _, c := range src {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// decodeHex decodes lower-case hex (the only case traceparent allows).
func decodeHex(dst []byte, s string) bool {
	for i := range dst {
		v, ok := hexByte(s[2*i], s[2*i+1])
		if !ok {
			return false
		}
		dst[i] = v
	}
	return true
}

func hexByte(hi, lo byte) (byte, bool) {
	h, ok1 := hexNibble(hi)
	l, ok2 := hexNibble(lo)
	return h<<4 | l, ok1 && ok2
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
