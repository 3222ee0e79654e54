package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/sluicegw/sluice/internal/plugin"
)

const (
	// keyBufSize fits the key of almost every request on the stack.
	keyBufSize = 256
	// maxValueLen is the longest key value used as is; longer ones (a long
	// path, a large header) are replaced by a digest so that clients cannot
	// make counters of any size.
	maxValueLen = 128
)

// appendKey appends the request's counter key within the instance's
// namespace: ROUTE ":" KIND ":" VALUE, where KIND says what VALUE is, so a
// consumer named like an IP address never shares the counter of that IP.
// Requests without a value for the configured kind fall back to "ip".
func (p *Limit) appendKey(b []byte, c *plugin.Ctx) []byte {
	b = append(b, c.Route...)
	switch p.by {
	case byConsumer:
		if c.Consumer != nil {
			return appendValue(append(b, ":consumer:"...), c.Consumer.Name)
		}
	case byCredential:
		if c.CredentialID != "" {
			return appendValue(append(b, ":credential:"...), c.CredentialID)
		}
	case byHeader:
		if v := c.R.Header[p.header]; len(v) > 0 && v[0] != "" {
			return appendValue(append(b, ":header:"...), v[0])
		}
	case byPath:
		return appendValue(append(b, ":path:"...), c.X.Path)
	case byRoute:
		return append(b, ":route"...)
	}
	return c.X.ClientIP.AppendTo(append(b, ":ip:"...))
}

// appendValue appends v, or "#" and the hex of the first 16 bytes of its
// SHA-256 when v is longer than maxValueLen.
func appendValue(b []byte, v string) []byte {
	if len(v) <= maxValueLen {
		return append(b, v...)
	}
	sum := sha256.Sum256([]byte(v))
	b = append(b, '#')
	return hex.AppendEncode(b, sum[:16])
}
