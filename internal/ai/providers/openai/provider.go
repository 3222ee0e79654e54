package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/config"
)

// Flavor is a server that speaks the OpenAI API, with its differences.
type Flavor string

// The supported flavors (config provider types).
const (
	FlavorOpenAI     Flavor = "openai"
	FlavorAzure      Flavor = "azure"
	FlavorMistral    Flavor = "mistral"
	FlavorOllama     Flavor = "ollama"
	FlavorCompatible Flavor = "openai-compatible"
)

// DefaultAzureAPIVersion is used when an azure provider names none.
const DefaultAzureAPIVersion = "2024-10-21"

// defaultBase is each flavor's API root, to which /chat/completions and
// /embeddings are appended.
var defaultBase = map[Flavor]string{
	FlavorOpenAI:  "https://api.openai.com/v1",
	FlavorMistral: "https://api.mistral.ai/v1",
	FlavorOllama:  "http://127.0.0.1:11434/v1",
}

// Provider is an adapter for one OpenAI-style provider account.
type Provider struct {
	flavor     Flavor
	base       string // API root without a trailing slash
	apiVersion string
	headers    http.Header
	client     *http.Client
}

// New returns the adapter for cfg, whose type must be one of the flavors.
// base_url comes only from config: for openai, mistral, ollama and
// openai-compatible it is the API root (".../v1"); for azure the resource
// endpoint (https://NAME.openai.azure.com).
func New(cfg config.Provider, opts llm.Options) (*Provider, error) {
	p := &Provider{flavor: Flavor(cfg.Type), base: strings.TrimRight(cfg.BaseURL, "/"), apiVersion: cfg.APIVersion, client: opts.Client}
	switch p.flavor {
	case FlavorOpenAI, FlavorMistral, FlavorOllama, FlavorCompatible, FlavorAzure:
	default:
		return nil, fmt.Errorf("openai: provider type %q is not an OpenAI flavor", cfg.Type)
	}
	if p.base == "" {
		p.base = defaultBase[p.flavor]
	}
	if p.base == "" {
		return nil, fmt.Errorf("provider %q: base_url is required for type %s", cfg.Name, cfg.Type)
	}
	if u, err := url.Parse(p.base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("provider %q: base_url %q is not an http(s) URL", cfg.Name, cfg.BaseURL)
	}
	if p.flavor == FlavorAzure && p.apiVersion == "" {
		p.apiVersion = DefaultAzureAPIVersion
	}
	if p.client == nil {
		p.client = http.DefaultClient
	}
	p.headers = make(http.Header, len(cfg.Headers))
	for k, v := range cfg.Headers {
		p.headers.Set(k, v)
	}
	return p, nil
}

// endpoint returns the URL of an operation ("chat/completions",
// "embeddings") for a model.
func (p *Provider) endpoint(op, model string) string {
	if p.flavor == FlavorAzure {
		return p.base + "/openai/deployments/" + url.PathEscape(model) + "/" + op + "?api-version=" + url.QueryEscape(p.apiVersion)
	}
	return p.base + "/" + op
}

// Chat implements llm.Provider.
func (p *Provider) Chat(ctx context.Context, c *llm.Call) (*llm.Response, error) {
	resp, err := p.send(ctx, "chat/completions", c.Model, c.Key, p.encodeChat(c, false))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := llm.ReadBody(resp, 64<<20)
	if err != nil {
		return nil, llm.TransportError(ctx, err, true)
	}
	var (
		scan chunkScanner
		out  chunk
	)
	if err := scan.decodeOr(data, &out); err != nil {
		return nil, llm.Errorf(llm.ClassBadResponse, "openai: bad answer: %v", err)
	}
	return decodeChatResponse(&out)
}

// Stream implements llm.Provider.
func (p *Provider) Stream(ctx context.Context, c *llm.Call) (llm.Stream, error) {
	resp, err := p.send(ctx, "chat/completions", c.Model, c.Key, p.encodeChat(c, true))
	if err != nil {
		return nil, err
	}
	return newStream(ctx, resp.Body), nil
}

// Embed implements llm.Embedder.
func (p *Provider) Embed(ctx context.Context, c *llm.EmbedCall) (*llm.EmbeddingsResponse, error) {
	in := embeddingsRequest{Model: c.Model, Input: c.Request.Input, Dimensions: c.Request.Dimensions, EncodingFormat: "float", User: c.Request.User}
	if p.flavor == FlavorOllama || p.flavor == FlavorMistral {
		in.EncodingFormat = "" // not every server knows the field
	}
	body, _ := json.Marshal(in)
	resp, err := p.send(ctx, "embeddings", c.Model, c.Key, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
		Model string `json:"model"`
		Usage struct {
			PromptTokens int64 `json:"prompt_tokens"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(&out); err != nil {
		return nil, llm.TransportError(ctx, err, true)
	}
	vecs := make([][]float64, len(c.Request.Input))
	for _, d := range out.Data {
		if d.Index < 0 || d.Index >= len(vecs) {
			return nil, llm.Errorf(llm.ClassBadResponse, "embedding index %d out of range", d.Index)
		}
		vecs[d.Index] = d.Embedding
	}
	for i, v := range vecs {
		if v == nil {
			return nil, llm.Errorf(llm.ClassBadResponse, "no embedding for input %d", i)
		}
	}
	return &llm.EmbeddingsResponse{Model: out.Model, Vectors: vecs, Usage: llm.Usage{Input: out.Usage.PromptTokens}}, nil
}

// send posts body and returns a 2xx response; any other status becomes a
// classified *llm.ProviderError.
func (p *Provider) send(ctx context.Context, op, model, key string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint(op, model), bytes.NewReader(body))
	if err != nil {
		return nil, llm.Errorf(llm.ClassCaller, "openai: %v", err)
	}
	for k, v := range p.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if key != "" {
		if p.flavor == FlavorAzure {
			req.Header.Set("Api-Key", key)
		} else {
			req.Header.Set("Authorization", "Bearer "+key)
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, llm.TransportError(ctx, err, false)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, DecodeError(resp)
	}
	return resp, nil
}

// DecodeError turns a provider's error response into a classified
// *llm.ProviderError.
func DecodeError(resp *http.Response) *llm.ProviderError {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &llm.ProviderError{Status: resp.StatusCode, Class: llm.ClassifyStatus(resp.StatusCode), RetryAfter: llm.RetryAfter(resp.Header)}
	var env errorEnvelope
	if json.Unmarshal(raw, &env) == nil && env.Error != nil {
		e.Message, e.Type = env.Error.Message, env.Error.codeString()
		if e.Type == "" {
			e.Type = env.Error.Type
		}
	} else {
		// Mistral, Ollama and others answer {"message": ...} (a string,
		// or Mistral's validation details as an object or array) with
		// type and code beside it, {"detail": ...} or {"error": "text"}.
		var alt struct {
			Message json.RawMessage `json:"message"`
			Detail  json.RawMessage `json:"detail"`
			Error   json.RawMessage `json:"error"`
			Type    json.RawMessage `json:"type"`
			Code    json.RawMessage `json:"code"`
		}
		if json.Unmarshal(raw, &alt) == nil {
			e.Message = firstNonEmpty(jsonText(alt.Message), jsonText(alt.Error), jsonText(alt.Detail))
			e.Type = firstNonEmpty(jsonText(alt.Code), jsonText(alt.Type))
		}
	}
	e.Class = refineClass(e)
	return e
}

// refineClass sharpens a status-based class with the error code: context
// windows, quota and rate limits, and servers that overload with a 400.
func refineClass(e *llm.ProviderError) llm.Class {
	switch e.Type {
	case "context_length_exceeded", "string_above_max_length":
		return llm.ClassContextWindow
	case "rate_limit_exceeded", "insufficient_quota":
		return llm.ClassRateLimit
	case "invalid_api_key":
		return llm.ClassAuth
	}
	if e.Class == llm.ClassCaller && isContextWindowMessage(e.Message) {
		return llm.ClassContextWindow
	}
	return e.Class
}

// isContextWindowMessage recognises servers that report an over-long
// prompt only in prose (vLLM, Ollama, Mistral).
func isContextWindowMessage(m string) bool {
	m = strings.ToLower(m)
	return strings.Contains(m, "context length") || strings.Contains(m, "context window") ||
		strings.Contains(m, "maximum context") || strings.Contains(m, "too many tokens") || strings.Contains(m, "prompt is too long")
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// jsonText returns a JSON string's text, or any other JSON value but
// null compacted, bounded to 1 KiB.
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var b bytes.Buffer
		if json.Compact(&b, raw) != nil {
			return ""
		}
		s = b.String()
	}
	if len(s) > 1<<10 {
		s = s[:1<<10]
	}
	return s
}
