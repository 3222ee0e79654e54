// Package bedrock is the AWS Bedrock provider adapter: it speaks the
// bedrock-runtime Converse and ConverseStream APIs over plain net/http,
// signing each request with SigV4 (the AWS SDK's signer) or a Bedrock API
// key, and translates to and from the canonical schema of package llm.
//
// Requests go to POST {base}/model/{modelId}/converse and
// /model/{modelId}/converse-stream, the model id (a base model id, an
// inference profile id like us.anthropic.claude-…, or an ARN) escaped as
// one path segment. Streams arrive in the AWS event-stream binary framing,
// decoded here with both CRCs verified.
package bedrock

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/config"
)

// maxResponseBody bounds a Converse answer.
const maxResponseBody = 32 << 20

// Provider is a Bedrock account in one region. It is safe for concurrent
// use.
type Provider struct {
	name    string
	region  string
	base    *url.URL
	headers http.Header
	client  *http.Client
	signer  *v4.Signer
	// now is the signing clock.
	now func() time.Time
}

var _ llm.Provider = (*Provider)(nil)

// New builds the adapter for cfg, a provider of type bedrock. cfg.Region
// is required; cfg.BaseURL defaults to
// https://bedrock-runtime.{region}.amazonaws.com and may carry a path
// prefix (for a VPC endpoint or a proxy). Every key of cfg.APIKeys must be
// an AWS credential ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN] or a
// Bedrock API key (no ':'), and there must be at least one: the adapter
// never falls back to ambient AWS credentials. cfg.Headers are sent (and
// signed) on every request; they cannot replace the authorization
// headers. opts.Client sends the requests (http.DefaultClient if nil).
func New(cfg config.Provider, opts llm.Options) (*Provider, error) {
	region := strings.TrimSpace(cfg.Region)
	if region == "" {
		return nil, fmt.Errorf("bedrock provider %q: region is required", cfg.Name)
	}
	if len(cfg.APIKeys) == 0 {
		return nil, fmt.Errorf("bedrock provider %q: api_keys needs at least one AWS credential or Bedrock API key", cfg.Name)
	}
	raw := cfg.BaseURL
	if raw == "" {
		raw = "https://bedrock-runtime." + region + ".amazonaws.com"
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("bedrock provider %q: base_url %q is not an http(s) URL without query", cfg.Name, raw)
	}
	for i, k := range cfg.APIKeys {
		c, err := parseCredential(k)
		if err != nil {
			return nil, fmt.Errorf("bedrock provider %q: api_keys[%d]: %w", cfg.Name, i, err)
		}
		if c.bearer != "" && base.Scheme != "https" {
			// As the AWS SDKs do: a bearer token is never sent in clear.
			return nil, fmt.Errorf("bedrock provider %q: api_keys[%d] is a Bedrock API key, sent only over https, and base_url is %s", cfg.Name, i, base.Scheme)
		}
	}
	base.Path = strings.TrimRight(base.Path, "/")
	base.RawPath = strings.TrimRight(base.RawPath, "/")
	h := make(http.Header, len(cfg.Headers))
	for k, v := range cfg.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Host", "Content-Length", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256":
			return nil, fmt.Errorf("bedrock provider %q: header %s is set by the adapter", cfg.Name, k)
		}
		h.Set(k, v)
	}
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	return &Provider{name: cfg.Name, region: region, base: base, headers: h, client: client, signer: v4.NewSigner(), now: time.Now}, nil
}

// Chat sends c as a Converse request and translates the answer.
func (p *Provider) Chat(ctx context.Context, c *llm.Call) (*llm.Response, error) {
	resp, err := p.send(ctx, c, "converse")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, readError(ctx, err)
	}
	if len(data) > maxResponseBody {
		return nil, llm.Errorf(llm.ClassBadResponse, "bedrock: answer over %d bytes", maxResponseBody)
	}
	return decodeResponse(data, resp.Header.Get("X-Amzn-Requestid"), c.Model)
}

// Stream sends c as a ConverseStream request. The returned stream reads
// the answer as it arrives; closing it, or cancelling ctx, ends the
// request.
func (p *Provider) Stream(ctx context.Context, c *llm.Call) (llm.Stream, error) {
	resp, err := p.send(ctx, c, "converse-stream")
	if err != nil {
		return nil, err
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/vnd.amazon.eventstream") {
		resp.Body.Close()
		return nil, llm.Errorf(llm.ClassBadResponse, "bedrock: stream answered with content type %q", ct)
	}
	return newStream(ctx, resp.Body, resp.Header.Get("X-Amzn-Requestid"), c.Model), nil
}

// send encodes, authorizes and sends c to operation op. It returns a 2xx
// response whose body the caller closes, or a classified error.
func (p *Provider) send(ctx context.Context, c *llm.Call, op string) (*http.Response, error) {
	if c == nil || c.Request == nil || c.Model == "" {
		return nil, callerError("bedrock: a call needs a model and a request")
	}
	cred, err := parseCredential(c.Key)
	if err != nil {
		return nil, &llm.ProviderError{Class: llm.ClassAuth, Err: err}
	}
	body, err := encodeRequest(c.Request, c.Model)
	if err != nil {
		return nil, err
	}
	u := *p.base
	u.Path = p.base.Path + "/model/" + c.Model + "/" + op
	u.RawPath = p.base.EscapedPath() + "/model/" + escapeSegment(c.Model) + "/" + op
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, llm.Errorf(llm.ClassCaller, "bedrock: building the request: %w", err)
	}
	for k, v := range p.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json") // and no Accept, as the AWS SDKs send
	if err := cred.authorize(ctx, p.signer, req, body, p.region, p.now()); err != nil {
		return nil, &llm.ProviderError{Class: llm.ClassAuth, Err: err}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, httpError(resp)
	}
	return resp, nil
}

// escapeSegment percent-encodes s as one path segment the way the AWS
// SDKs do: every byte but the unreserved ones (RFC 3986), so the ':' and
// '/' of an ARN are escaped too.
func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_' || ch == '.' || ch == '~' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}

// Name returns the provider's configured name.
func (p *Provider) Name() string { return p.name }
