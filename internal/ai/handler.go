package ai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/ai/providers/openai"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/store"
)

// Hooks are a request's AI plugins (a *plugin.Ctx): BeforeAI checks the
// decoded request before any provider call (an error refuses it) and
// AfterAI accounts for it when it is over, for every request BeforeAI let
// through.
type Hooks interface {
	BeforeAI(info *llm.Info) error
	AfterAI(info *llm.Info, u llm.Usage, costUSD float64)
}

// ErrClientGone is returned by Serve when the client went away before the
// answer; nothing more can be sent.
var ErrClientGone = errClientGone

// Serve answers one request to an AI route: the endpoint is chosen by the
// end of the canonical path (x.Path). Errors before anything was written
// are returned as *gwerr.Error for the gateway to render with WriteError;
// once a stream has begun, failures are written into it and logged in x.
// hooks may be nil.
func (rt *Route) Serve(w http.ResponseWriter, r *http.Request, x *exchange.Exchange, hooks Hooks) error {
	p := x.Path
	switch {
	case strings.HasSuffix(p, "/chat/completions"):
		if err := needMethod(r, "POST"); err != nil {
			return err
		}
		return rt.chat(w, r, x, formatOpenAI, hooks)
	case strings.HasSuffix(p, "/messages"):
		if err := needMethod(r, "POST"); err != nil {
			return err
		}
		return rt.chat(w, r, x, formatAnthropic, hooks)
	case strings.HasSuffix(p, "/embeddings"):
		if err := needMethod(r, "POST"); err != nil {
			return err
		}
		return rt.embeddings(w, r, x, hooks)
	case strings.HasSuffix(p, "/models"):
		if err := needMethod(r, "GET"); err != nil {
			return err
		}
		return rt.listModels(w, x)
	case strings.Contains(p, "/models/"):
		if err := needMethod(r, "GET"); err != nil {
			return err
		}
		return rt.getModel(w, x, p[strings.LastIndex(p, "/models/")+len("/models/"):])
	}
	return gwerr.Newf(gwerr.NoRoute, nil, "No AI endpoint at this path; use /chat/completions, /messages, /embeddings or /models.")
}

// needMethod refuses a request whose method the endpoint does not serve
// (GET endpoints serve HEAD too).
func needMethod(r *http.Request, method string) error {
	if r.Method != method && !(method == "GET" && r.Method == "HEAD") {
		e := gwerr.Newf(gwerr.BadRequest, nil, "Use %s for this endpoint.", method)
		e.Status = http.StatusMethodNotAllowed
		return e
	}
	return nil
}

// readBody reads the whole request body up to the configured limit.
func (rt *Route) readBody(r *http.Request, x *exchange.Exchange) ([]byte, error) {
	limit := int64(rt.g.cfg.MaxBodySize)
	if r.ContentLength > limit {
		return nil, gwerr.Newf(gwerr.PayloadTooLarge, nil, "The request body is larger than %d bytes.", limit)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	x.BytesIn = int64(len(body))
	if err != nil {
		var ge *gwerr.Error
		if errors.As(err, &ge) {
			return nil, ge
		}
		return nil, errClientGone
	}
	if int64(len(body)) > limit {
		return nil, gwerr.Newf(gwerr.PayloadTooLarge, nil, "The request body is larger than %d bytes.", limit)
	}
	return body, nil
}

// chat serves Chat Completions and Messages, streamed or not. The work
// is split so that the goroutine of a long stream holds only small frames
// (see stream).
func (rt *Route) chat(w http.ResponseWriter, r *http.Request, x *exchange.Exchange, f format, hooks Hooks) error {
	req, info, err := rt.admit(r, x, f, hooks)
	if err != nil {
		return err
	}
	if info != nil {
		defer afterAI(hooks, info, x)
	}
	chain := rt.g.chain(req.Model)
	if !req.Stream {
		return rt.answer(w, r, x, f, req, chain)
	}
	// A stream: the attempts until a first event, then the relay (see
	// stream.go).
	op, srv, err := rt.open(r, x, req, chain)
	if err != nil {
		return err
	}
	return rt.startRelay(w, x, f, req, srv, op).run(r)
}

// admit reads and decodes a chat request and lets the plugins check it.
// info is what they saw, for AfterAI (nil without hooks).
func (rt *Route) admit(r *http.Request, x *exchange.Exchange, f format, hooks Hooks) (*llm.Request, *llm.Info, error) {
	body, err := rt.readBody(r, x)
	if err != nil {
		return nil, nil, err
	}
	req, err := decodeRequest(f, body)
	if err != nil {
		return nil, nil, err
	}
	if !rt.offers(req.Model) {
		return nil, nil, modelNotFound(req.Model)
	}
	// Only a model the route offers is recorded: metrics label by it.
	x.AI.Model, x.AI.Stream = req.Model, req.Stream
	if hooks == nil {
		return req, nil, nil
	}
	info := &llm.Info{Consumer: x.Consumer, Model: req.Model, Chat: req, EstimatedInput: llm.EstimateInput(req)}
	if err := hooks.BeforeAI(info); err != nil {
		return nil, nil, err
	}
	return req, info, nil
}

// answer serves a chat that is not streamed.
func (rt *Route) answer(w http.ResponseWriter, r *http.Request, x *exchange.Exchange, f format, req *llm.Request, chain []*model) error {
	var resp *llm.Response
	srv, err := rt.run(r.Context(), x, "chat", chain, func(ctx context.Context, p *provider, model, key string) error {
		ctx, cancel := context.WithTimeout(ctx, rt.g.cfg.Timeout.D())
		defer cancel()
		var err error
		resp, err = p.adapter.Chat(ctx, &llm.Call{Model: model, Key: key, Request: req})
		return err
	})
	if err != nil {
		return err
	}
	x.AI.FirstToken = time.Since(x.Start)
	rt.account(x, srv, resp.Usage, false)
	endSpan(srv, resp, resp.Usage, resp.FinishReason, "")
	out := encodeAnswer(f, resp, x.ID, req.Model, time.Now().Unix())
	setServedBy(w.Header(), srv)
	return writeJSON(w, x, out)
}

// afterAI hands the request's usage (as accounted in x) to the hooks.
func afterAI(hooks Hooks, info *llm.Info, x *exchange.Exchange) {
	a := &x.AI
	hooks.AfterAI(info, llm.Usage{Input: a.InputTokens, Output: a.OutputTokens, CachedInput: a.CachedTokens, Reasoning: a.ReasoningTokens}, a.CostUSD)
}

// setServedBy names the provider and provider model that answered.
func setServedBy(h http.Header, s served) {
	h.Set("Sluice-Provider", s.provider.name+"/"+s.model)
}

func modelNotFound(name string) error {
	return gwerr.Newf(gwerr.ModelNotFound, nil, "The model %q does not exist or is not offered on this route.", name)
}

// account fills x's AI record and sends the usage entry.
func (rt *Route) account(x *exchange.Exchange, s served, u llm.Usage, partial bool) {
	a := &x.AI
	a.Provider, a.ProviderModel = s.provider.name, s.model
	a.InputTokens, a.OutputTokens, a.CachedTokens, a.ReasoningTokens = u.Input, u.Output, u.CachedInput, u.Reasoning
	a.CostUSD = rt.g.cost(s.provider.name, s.model, u)
	a.Partial = partial
	if sink := rt.g.opts.Usage; sink != nil {
		sink.RecordUsage(store.UsageEntry{
			Time: x.Start, RequestID: x.ID, Consumer: x.Consumer, Model: a.Model, Route: x.Route,
			Provider: a.Provider, ProviderModel: a.ProviderModel,
			InputTokens: u.Input, OutputTokens: u.Output, CachedTokens: u.CachedInput, ReasoningTokens: u.Reasoning,
			CostUSD: a.CostUSD, Attempts: len(x.Attempts), FirstToken: a.FirstToken, Duration: time.Since(x.Start),
			Stream: a.Stream, Partial: partial, Code: string(x.Code),
		})
	}
}

// embeddings serves the OpenAI Embeddings endpoint.
func (rt *Route) embeddings(w http.ResponseWriter, r *http.Request, x *exchange.Exchange, hooks Hooks) error {
	body, err := rt.readBody(r, x)
	if err != nil {
		return err
	}
	req, err := openai.DecodeEmbeddings(body)
	if err != nil {
		return gwerr.Newf(gwerr.BadRequest, err, "%s", err.Error())
	}
	if !rt.offers(req.Model) {
		return modelNotFound(req.Model)
	}
	x.AI.Model = req.Model
	if hooks != nil {
		info := &llm.Info{Consumer: x.Consumer, Model: req.Model, Embeddings: req, EstimatedInput: llm.EstimateEmbeddingsInput(req)}
		if err := hooks.BeforeAI(info); err != nil {
			return err
		}
		defer afterAI(hooks, info, x)
	}
	var resp *llm.EmbeddingsResponse
	srv, err := rt.run(r.Context(), x, "embeddings", rt.g.chain(req.Model), func(ctx context.Context, p *provider, model, key string) error {
		e, ok := p.adapter.(llm.Embedder)
		if !ok {
			return &llm.ProviderError{Class: llm.ClassCaller, Status: 400, Message: fmt.Sprintf("The model %q does not serve embeddings.", req.Model)}
		}
		ctx, cancel := context.WithTimeout(ctx, rt.g.cfg.Timeout.D())
		defer cancel()
		var err error
		resp, err = e.Embed(ctx, &llm.EmbedCall{Model: model, Key: key, Request: req})
		return err
	})
	if err != nil {
		return err
	}
	x.AI.FirstToken = time.Since(x.Start)
	rt.account(x, srv, resp.Usage, false)
	endSpan(srv, nil, resp.Usage, "", "")
	out := openai.EncodeEmbeddings(resp, req.Model, req.EncodingFormat)
	setServedBy(w.Header(), srv)
	return writeJSON(w, x, out)
}

// listModels serves GET /models: the route's model names.
func (rt *Route) listModels(w http.ResponseWriter, x *exchange.Exchange) error {
	return writeJSON(w, x, openai.EncodeModels(rt.modelNames(), rt.g.created))
}

// getModel serves GET /models/{name}.
func (rt *Route) getModel(w http.ResponseWriter, x *exchange.Exchange, name string) error {
	if !rt.offers(name) {
		return modelNotFound(name)
	}
	return writeJSON(w, x, openai.EncodeModel(name, rt.g.created))
}

// writeJSON sends a complete 200 JSON answer with the gateway's headers.
func writeJSON(w http.ResponseWriter, x *exchange.Exchange, out []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	exchange.SetGatewayHeaders(h, x)
	w.WriteHeader(http.StatusOK)
	n, _ := w.Write(out)
	x.Status, x.BytesOut = http.StatusOK, int64(n)
	return nil
}
