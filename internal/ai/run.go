package ai

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/telemetry"
)

// Retry pacing: exponential backoff with full jitter, from backoffBase
// doubling up to backoffCap; a provider's Retry-After is honoured up to
// maxRetryAfter (beyond that, the next target or fallback is tried).
const (
	backoffBase     = 250 * time.Millisecond
	backoffCap      = 8 * time.Second
	maxRetryAfter   = 10 * time.Second
	rateLimitCool   = 30 * time.Second // a 429 without Retry-After
	authCoolBase    = time.Minute
	maxKeysPerCall  = 8 // keys tried on one target for one request
	errClientGoneID = "client_gone"
)

// errClientGone reports that the client went away during the attempts.
var errClientGone = errors.New("ai: " + errClientGoneID)

// served is the target that answered an attempt run, and the trace span
// of that call, which the caller ends when the answer is over.
type served struct {
	provider *provider
	model    string
	keyIdx   int
	span     telemetry.ProviderSpan
}

// attemptFunc makes one call to one provider model with one key; nil
// means it succeeded. Failures should be *llm.ProviderError.
type attemptFunc func(ctx context.Context, p *provider, model, key string) error

// run tries the chain of models (the one asked for, then its fallbacks),
// each model's targets in weighted random order, each target with its
// key pool and retries, until an attempt succeeds. It records every
// attempt in x. A caller fault (the provider's 4xx about the request) ends
// the run at once as provider_error with the provider's status; when
// everything failed the error is all_providers_failed listing the codes.
func (rt *Route) run(ctx context.Context, x *exchange.Exchange, op string, chain []*model, do attemptFunc) (served, error) {
	g := rt.g
	var codes []string
	var lastRetryAfter time.Duration
models:
	for _, m := range chain {
	targets:
		for _, t := range m.order() {
			var tried keySet
			failures := 0
			for {
				key, idx, wait, ok := t.provider.keys.pick(time.Now(), tried)
				if !ok {
					code := gwerr.ProviderRateLimited
					x.AddAttempt(exchange.Attempt{Target: t.provider.name + "/" + t.model, Code: code,
						Error: fmt.Sprintf("every key of provider %q is cooling down (next in %s)", t.provider.name, wait.Round(time.Second))})
					codes = append(codes, string(code))
					lastRetryAfter = wait
					continue targets
				}
				tried.add(idx)
				start := time.Now()
				span, callCtx := startSpan(ctx, op, t, len(x.Attempts)+1)
				err := do(callCtx, t.provider, t.model, key)
				a := exchange.Attempt{Target: t.provider.name + "/" + t.model, Duration: time.Since(start)}
				if err == nil {
					a.Status = 200
					x.AddAttempt(a)
					t.provider.keys.succeeded(idx)
					return served{provider: t.provider, model: t.model, keyIdx: idx, span: span}, nil
				}
				if ctx.Err() != nil {
					a.Code, a.Error = gwerr.ClientClosed, err.Error()
					span.End(telemetry.ProviderResult{Code: string(a.Code)})
					x.AddAttempt(a)
					return served{}, errClientGone
				}
				pe := asProviderError(err)
				a.Status, a.Code, a.Error = pe.Status, classCode(pe.Class), pe.Error()
				span.End(telemetry.ProviderResult{Status: pe.Status, Code: string(a.Code)})
				x.AddAttempt(a)
				codes = append(codes, string(a.Code))
				now := time.Now()
				switch pe.Class {
				case llm.ClassCaller:
					return served{}, callerError(pe)
				case llm.ClassContextWindow:
					continue models // a fallback model may have a larger window
				case llm.ClassAuth:
					t.provider.keys.authFailed(idx, now, authCoolBase)
					if tried.len() < min(len(t.provider.keys.keys), maxKeysPerCall) {
						continue // the next key, at once
					}
					continue targets
				case llm.ClassRateLimit:
					cool := pe.RetryAfter
					if cool <= 0 {
						cool = rateLimitCool
					}
					t.provider.keys.cool(idx, now, cool)
					lastRetryAfter = pe.RetryAfter
					if tried.len() < min(len(t.provider.keys.keys), maxKeysPerCall) {
						continue
					}
					continue targets
				}
				// Transient: overloaded, timeout, connection, bad response.
				failures++
				if failures > g.cfg.Retries {
					continue targets
				}
				d := backoff(failures, pe.RetryAfter)
				if d < 0 {
					continue targets // Retry-After too far away: move on
				}
				select {
				case <-g.opts.Sleep(d):
				case <-ctx.Done():
					return served{}, errClientGone
				}
				tried = 0 // the same key may be used again after a pause
			}
		}
	}
	if len(codes) == 0 {
		return served{}, gwerr.Newf(gwerr.AllProvidersFailed, errors.New("the model has no targets"), "The model %q has no provider targets.", chain[0].name)
	}
	e := gwerr.Newf(gwerr.AllProvidersFailed, errors.New(strings.Join(codes, ", ")),
		"Every provider for model %q failed: %s.", chain[0].name, strings.Join(codes, ", "))
	if allRateLimited(codes) && lastRetryAfter > 0 {
		e.Detail += fmt.Sprintf(" Retry after %ds.", int(lastRetryAfter.Seconds()+0.999))
	}
	return served{}, e
}

// backoff is the pause before retry n (1-based): full jitter over an
// exponentially growing window, or the provider's Retry-After when it
// gave one (-1 when that is too long to wait within one request).
func backoff(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		if retryAfter > maxRetryAfter {
			return -1
		}
		return retryAfter
	}
	window := min(backoffBase<<(n-1), backoffCap)
	return time.Duration(rand.Int64N(int64(window) + 1))
}

func allRateLimited(codes []string) bool {
	for _, c := range codes {
		if c != string(gwerr.ProviderRateLimited) {
			return false
		}
	}
	return true
}

// asProviderError returns err as a classified failure; unclassified errors
// from an adapter count as bad responses.
func asProviderError(err error) *llm.ProviderError {
	var pe *llm.ProviderError
	if errors.As(err, &pe) {
		return pe
	}
	return &llm.ProviderError{Class: llm.ClassBadResponse, Err: err}
}

// callerError is the provider_error a caller fault becomes: the provider's
// status and message (it is about the caller's own request) in the
// client's format.
func callerError(pe *llm.ProviderError) *gwerr.Error {
	status := pe.Status
	if status < 400 || status > 499 {
		status = 400
	}
	msg := pe.Message
	if msg == "" {
		msg = "The model provider rejected the request."
	}
	e := gwerr.Newf(gwerr.ProviderError, pe, "%s", msg)
	e.Status = status
	return e
}

// genAISystem names each provider type as the OpenTelemetry GenAI
// conventions do (gen_ai.provider.name).
var genAISystem = map[string]string{
	"openai": "openai", "azure": "azure.ai.openai", "anthropic": "anthropic", "gemini": "gcp.gemini",
	"bedrock": "aws.bedrock", "mistral": "mistral_ai", "ollama": "ollama", "openai-compatible": "openai",
}

// startSpan starts the trace span of one provider call when the request
// is traced; the returned context carries it, so the provider client puts
// the call's traceparent on the request (see traceTransport).
func startSpan(ctx context.Context, op string, t target, attempt int) (telemetry.ProviderSpan, context.Context) {
	span := telemetry.StartProviderCall(ctx, telemetry.ProviderCall{Operation: op, System: genAISystem[t.provider.typ],
		Provider: t.provider.name, RequestModel: t.model, Attempt: attempt})
	if !span.Recording() {
		return span, ctx
	}
	return span, context.WithValue(ctx, spanKey{}, span)
}

type spanKey struct{}

// traceTransport puts the provider call's traceparent on its request, so
// a provider that takes part in tracing continues the trace.
type traceTransport struct{ base http.RoundTripper }

func (t traceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if span, ok := r.Context().Value(spanKey{}).(telemetry.ProviderSpan); ok {
		r = r.Clone(r.Context()) // a RoundTripper must not change its request
		span.SetTraceParent(r.Header)
	}
	return t.base.RoundTrip(r)
}

// endSpan ends the span of the call that answered, with its usage.
func endSpan(s served, resp *llm.Response, u llm.Usage, finish llm.FinishReason, code gwerr.Code) {
	if !s.span.Recording() {
		return
	}
	r := telemetry.ProviderResult{InputTokens: u.Input, OutputTokens: u.Output, HasUsage: true, Status: 200, Code: string(code)}
	if resp != nil {
		r.ResponseModel, r.ResponseID = resp.Model, resp.ID
	}
	if finish != "" {
		r.FinishReasons = []string{string(finish)}
	}
	s.span.End(r)
}
