package llm

import (
	"context"
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
