// Package sizelimit is the request-size-limit plugin: it refuses request
// bodies larger than a limit with 413 payload_too_large.
//
// Config:
//
//	request-size-limit:
//	  max_bytes: 1MiB     # required: a byte count (1048576) or a size: B, KiB, MiB, GiB, KB, MB, GB
//
// max_bytes 0 refuses every request that has a body.
//
// A request that declares a Content-Length over the limit is answered 413
// before any of its body is read: the upstream is never contacted, and a
// client that sent Expect: 100-continue never gets 100 Continue. A body of
// unknown length (chunked, or HTTP/2 without content-length) is counted as
// it streams to the upstream; once it passes the limit the forwarding stops
// before the bytes over the limit are sent, the upstream connection is
// closed (so the upstream sees a truncated request, never a complete
// over-size one) and the client is answered 413 payload_too_large.
//
// The plugin runs after authentication, so a consumer may have its own
// limit.
package sizelimit

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/plugin"
)

// Name is the plugin's registered name.
const Name = "request-size-limit"

func init() {
	plugin.Register(plugin.Spec{Name: Name, Phase: plugin.PhaseSizeLimit, New: New})
}

// Config is the plugin's configuration.
type Config struct {
	MaxBytes *MaxBytes `json:"max_bytes"`
}

// MaxBytes is a config.ByteSize whose decoding errors name the field
// (plugin.Decode cannot name the field of an UnmarshalJSON error).
type MaxBytes config.ByteSize

// UnmarshalJSON implements json.Unmarshaler.
func (m *MaxBytes) UnmarshalJSON(b []byte) error {
	if err := (*config.ByteSize)(m).UnmarshalJSON(b); err != nil {
		return fmt.Errorf("max_bytes: %w", err)
	}
	return nil
}

// Limit is one configured instance. It is immutable and safe for
// concurrent use.
type Limit struct {
	max int64
}

var _ plugin.Access = (*Limit)(nil)

// New builds an instance from its raw config.
func New(raw map[string]any, _ plugin.Env) (any, error) {
	var cfg Config
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	if cfg.MaxBytes == nil {
		return nil, errors.New("max_bytes is required, e.g. max_bytes: 1MiB")
	}
	return &Limit{max: int64(*cfg.MaxBytes)}, nil
}

// Access refuses a declared length over the limit and wraps a body of
// unknown length in a counting reader.
func (l *Limit) Access(c *plugin.Ctx) error {
	r := c.R
	switch {
	case r.ContentLength > l.max:
		return gwerr.New(gwerr.PayloadTooLarge,
			fmt.Errorf("Content-Length %d over the limit of %d bytes", r.ContentLength, l.max))
	case r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody:
		r.Body = &limitedBody{src: r.Body, remaining: l.max, limit: l.max}
	}
	return nil
}

// limitedBody passes a request body through until more than limit bytes
// have been read, then fails every further read.
type limitedBody struct {
	src       io.ReadCloser
	remaining int64
	limit     int64
	err       error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// Read at most one byte past the limit: enough to know it was passed,
	// and nothing over the limit is handed on.
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1]
	}
	n, err := b.src.Read(p)
	if int64(n) > b.remaining {
		b.err = gwerr.New(gwerr.PayloadTooLarge,
			fmt.Errorf("streamed body over the limit of %d bytes", b.limit))
		return 0, b.err
	}
	b.remaining -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.src.Close() }
