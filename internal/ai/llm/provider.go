package llm

import (
	"context"
	"io"
	"net/http"
)

// Call is one request to one provider with one key.
type Call struct {
	// Model is the provider's own model name (or Azure deployment).
	Model string
	// Key is the API key from the provider's pool; "" when it has none.
	Key string
	// Request is the canonical request. Adapters must not modify it: a
	// failed call is retried with the same Request on another target.
	Request *Request
}

// Provider is an adapter for one provider account: it translates a
// canonical request into the provider's wire format, sends it, and
// translates the answer back.
//
// Errors are *ProviderError, classified, so the gateway can retry, rotate
// keys and fall back without looking at the wire format. A Stream's
// Next reports a stream the provider broke off as a *ProviderError too.
// Providers are safe for concurrent use.
type Provider interface {
	Chat(ctx context.Context, c *Call) (*Response, error)
	Stream(ctx context.Context, c *Call) (Stream, error)
}

// Embedder is implemented by providers that serve embeddings.
type Embedder interface {
	Embed(ctx context.Context, c *EmbedCall) (*EmbeddingsResponse, error)
}

// EmbedCall is one embeddings request to one provider with one key.
type EmbedCall struct {
	Model   string
	Key     string
	Request *EmbeddingsRequest
}

// Options are what every adapter constructor receives besides its
// provider's config.
type Options struct {
	// Client sends the requests; it carries the connection pool, TLS and
	// dial settings. Adapters must not set a Timeout on it: the context
	// bounds each call.
	Client *http.Client
}

// ReadBody reads a provider's whole answer. An answer over limit bytes is
// a ClassBadResponse error; a read that fails returns the error as it is,
// for the adapter to classify (TransportError passes a *ProviderError
// through). The buffer is sized from Content-Length when the provider
// sent one, so a small answer is read with one allocation.
func ReadBody(resp *http.Response, limit int64) ([]byte, error) {
	size := int64(512)
	if n := resp.ContentLength; n > 0 {
		size = min(n, limit) + 1 // room to see EOF (or a longer body) without growing
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, Errorf(ClassBadResponse, "the answer is over %d bytes", limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
