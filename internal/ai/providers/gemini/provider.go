// Package gemini is the provider adapter for the Google Gemini API (the
// Generative Language API, v1beta): generateContent, streamGenerateContent
// and batchEmbedContents. It translates the canonical llm schema to
// Gemini's wire format and back; it never fetches anything but the
// provider's own endpoints.
//
// Tool-call ids: Gemini identifies calls by function name and position, and
// only newer models return a functionCall id. The adapter passes a
// Gemini-made id on as "gemini_" + id (and sends it back to Gemini when a
// conversation replays it); when the model gave none it makes one,
// "call_" + the response id + "_" + the call's index in the response (a
// random tag when the response has no id), unique across turns. Tool
// results find their function name through the ToolCallID of the earlier
// assistant tool call, so callers must replay the ids they were given.
package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/config"
)

// DefaultBaseURL is the Gemini API endpoint used when the config has none.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// apiVersion is the API version path segment the adapter speaks.
const apiVersion = "v1beta"

// maxBody bounds a non-streamed response or error body read from Gemini.
const maxBody = 32 << 20

// maxErrorBody bounds an error body: only its message and details matter.
const maxErrorBody = 1 << 20

// Provider is a Gemini account. It is safe for concurrent use.
type Provider struct {
	base    string // scheme://host[/prefix]/v1beta, no trailing slash
	headers http.Header
	client  *http.Client
	sigs    *signatureCache
}

var (
	_ llm.Provider = (*Provider)(nil)
	_ llm.Embedder = (*Provider)(nil)
)

// New returns the adapter for the provider account cfg. cfg.BaseURL
// defaults to DefaultBaseURL; a base URL that already ends in an API
// version segment (/v1beta, /v1, /v1alpha) is used as is. opts.Client sends
// the requests (http.DefaultClient when nil).
func New(cfg config.Provider, opts llm.Options) (*Provider, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gemini provider %q: base_url %q is not an http(s) URL", cfg.Name, cfg.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("gemini provider %q: base_url must not have a query or fragment", cfg.Name)
	}
	switch last := base[strings.LastIndexByte(base, '/')+1:]; last {
	case "v1beta", "v1", "v1alpha":
	default:
		base += "/" + apiVersion
	}
	h := make(http.Header, len(cfg.Headers)+2)
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	return &Provider{base: base, headers: h, client: client, sigs: newSignatureCache(signatureCacheSize)}, nil
}

// modelPath returns the resource path of a model: "models/NAME" for a plain
// name, the name itself when it already names a collection (models/...,
// tunedModels/...). Each segment is escaped.
func modelPath(model string) (string, error) {
	if model == "" {
		return "", llm.Errorf(llm.ClassCaller, "gemini: no model")
	}
	segs := strings.Split(model, "/")
	if len(segs) == 1 {
		segs = []string{"models", model}
	}
	if len(segs) != 2 || segs[0] == "" || segs[1] == "" || segs[1] == "." || segs[1] == ".." {
		return "", llm.Errorf(llm.ClassCaller, "gemini: invalid model name %q", model)
	}
	return url.PathEscape(segs[0]) + "/" + url.PathEscape(segs[1]), nil
}

// post sends body to {base}/{modelPath}:{method}[?query] with the call's key
// and returns the response once its status is 2xx. Any other status is
// read and returned as a classified *llm.ProviderError.
func (p *Provider) post(ctx context.Context, model, key, method, query string, body []byte) (*http.Response, error) {
	mp, err := modelPath(model)
	if err != nil {
		return nil, err
	}
	target := p.base + "/" + mp + ":" + method
	if query != "" {
		target += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, llm.Errorf(llm.ClassCaller, "gemini: build request: %w", err)
	}
	for k, v := range p.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-Goog-Api-Key", key)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, transportError(ctx, err, false)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if rerr != nil && len(data) == 0 {
			return nil, &llm.ProviderError{Class: llm.ClassifyStatus(resp.StatusCode), Status: resp.StatusCode, RetryAfter: llm.RetryAfter(resp.Header), Err: rerr}
		}
		return nil, httpError(resp.StatusCode, resp.Header, data)
	}
	return resp, nil
}

// Chat sends c as one generateContent request and returns the whole answer.
func (p *Provider) Chat(ctx context.Context, c *llm.Call) (*llm.Response, error) {
	body, err := p.encodeRequest(c)
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, c.Model, c.Key, "generateContent", "", body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, transportError(ctx, err, true)
	}
	if len(data) > maxBody {
		return nil, llm.Errorf(llm.ClassBadResponse, "gemini: response over %d bytes", maxBody)
	}
	var w wireResponse
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, &llm.ProviderError{Class: llm.ClassBadResponse, Status: resp.StatusCode, Err: fmt.Errorf("gemini: decode response: %w", err)}
	}
	return p.decodeResponse(c.Model, &w)
}

// Stream sends c as a streamGenerateContent request (SSE) and returns the
// answer's events as they arrive.
func (p *Provider) Stream(ctx context.Context, c *llm.Call) (llm.Stream, error) {
	body, err := p.encodeRequest(c)
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, c.Model, c.Key, "streamGenerateContent", "alt=sse", body)
	if err != nil {
		return nil, err
	}
	return p.newStream(ctx, c.Model, resp.Body), nil
}

// transportError classifies a failure to send a request or read its answer.
// inBody says whether the response had begun: a failure then is a broken
// answer (ClassOverloaded), before it a failed connection (ClassConnect).
// Deadlines and timeouts are ClassTimeout; a cancelled context keeps
// context.Canceled reachable through errors.Is.
func transportError(ctx context.Context, err error, inBody bool) *llm.ProviderError {
	var pe *llm.ProviderError
	if errors.As(err, &pe) {
		return pe
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w (%w)", cerr, err)
	}
	var nerr interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return &llm.ProviderError{Class: llm.ClassTimeout, Err: err}
	case errors.Is(err, context.Canceled):
		return &llm.ProviderError{Class: llm.ClassTimeout, Err: err}
	case inBody:
		return &llm.ProviderError{Class: llm.ClassOverloaded, Err: err}
	}
	return &llm.ProviderError{Class: llm.ClassConnect, Err: err}
}
