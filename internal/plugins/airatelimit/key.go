package airatelimit

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/sluicegw/sluice/internal/plugin"
)

// maxValueLen is the longest key value used as is; longer ones (a large
// header) are replaced by a digest, so clients cannot make keys of any
// size.
const maxValueLen = 128

// key returns the request's counter key within the instance's namespace:
// ROUTE ":" KIND ":" VALUE, where KIND says what VALUE is, so a consumer
// named like an IP address never shares the counter of that IP. Requests
// without a value for the configured kind fall back to "ip".
func (p *Limit) key(c *plugin.Ctx) string {
	b := make([]byte, 0, 96)
	b = append(b, c.Route...)
	switch p.by {
	case byConsumer:
		if c.Consumer != nil {
			return string(appendValue(append(b, ":consumer:"...), c.Consumer.Name))
		}
	case byCredential:
		if c.CredentialID != "" {
			return string(appendValue(append(b, ":credential:"...), c.CredentialID))
		}
	case byHeader:
		if v := c.R.Header[p.header]; len(v) > 0 && v[0] != "" {
			return string(appendValue(append(b, ":header:"...), v[0]))
		}
	case byRoute:
		return string(append(b, ":route"...))
	}
	return string(c.X.ClientIP.AppendTo(append(b, ":ip:"...)))
}

// appendValue appends v, or "#" and the hex of the first 16 bytes of its
// SHA-256 when v is longer than maxValueLen.
func appendValue(b []byte, v string) []byte {
	if len(v) <= maxValueLen {
		return append(b, v...)
	}
	sum := sha256.Sum256([]byte(v))
	return hex.AppendEncode(append(b, '#'), sum[:16])
}
