// Package airatelimit is the ai-rate-limit plugin: on AI routes it admits
// at most `requests` requests and `tokens` tokens per `window` for each
// value of a key (consumer, credential, client IP, a header or the route),
// and answers the rest with 429 rate_limited in the client's API format.
//
// Config:
//
//	ai-rate-limit:
//	  requests: 60          # requests per window; optional
//	  tokens: 100000        # tokens (input + output) per window; optional
//	                        # (at least one of requests and tokens, each ≥ 1)
//	  window: 1m            # a Go duration, 1s to 744h; default 1m
//	  by: consumer          # consumer (default) | credential | ip | header:NAME | route
//	  backend: redis        # memory | redis; default redis when a Redis URL is set, else memory
//	  redis_url: redis://127.0.0.1:6379/0   # default: the config's top-level redis.url
//	  redis_prefix: "sluice:ai-rl:"         # default; every Redis key starts with it
//	  redis_timeout: 50ms   # default; bound on each Redis call (1ms to 5s)
//	  fail: open            # open (default) | closed: what to do while Redis is unreachable
//
// # Algorithm
//
// Each limit is a token bucket kept as GCRA keeps it, as one theoretical
// arrival time (TAT) per key: the instant at which the bucket is full
// again. The request bucket is internal/ratelimit's GCRA exactly: a burst
// of `requests`, one back every window/requests. The token bucket holds
// `tokens` and refills one token every window/tokens, continuously (a
// sliding budget: never more than `tokens` plus what refilled in any
// interval, with no fixed window edge to burst across). Unlike a request,
// an AI call's cost is only known after it, so the token bucket is charged
// twice:
//
//   - Before any provider is called, the request's input tokens are
//     estimated (llm.EstimateInput: about four bytes a token, erring high)
//     and the request is admitted only if the bucket holds the estimate
//     (or, for an estimate above the whole limit, if the bucket is full, so
//     that no prompt is refused forever). So the limit binds on the very
//     request whose prompt would cross it. The estimate is charged at once,
//     so concurrent requests cannot all spend the same tokens. The request's
//     max output is not charged up front: it is an upper bound that most
//     answers stay far below, and reserving it would refuse requests the
//     budget can afford.
//   - When the request is over, the bucket is settled with the real usage
//     the provider reported (input + output; streamed answers included,
//     from the stream's usage; the tokens seen so far for a broken stream;
//     nothing when every provider failed): the difference from the
//     estimate is charged, or refunded when the estimate was high. A charge
//     is taken even if it empties the bucket and more: the tokens were
//     spent, so the key goes into debt (at most 100 windows' worth), and
//     the next request is refused until refills repay it. A refund never
//     fills the bucket beyond full.
//
// Both limits are decided in one atomic step: a request refused by one is
// charged to neither. The plugin runs after ai-prompt-guard and ai-budget
// (phase, then name order), so a request they refuse charges nothing. In Redis, admission and settlement are each one Lua
// script on a hash per key (fields r and t: the two TATs in µs of the
// server's clock), so every node sharing the Redis shares the buckets
// exactly; keys expire when their buckets are full again.
//
// # Keys, headers, failures
//
// Counters are per route and per key value, as in rate-limit: a counter is
// named by the plugin's scope (global, route:NAME or consumer:NAME), its
// requests, tokens, window and `by`, the matched route, and the key value.
// A request without the key value (no consumer, no credential, no header)
// is counted by its client IP in a counter of its own kind. A consumer's
// own ai-rate-limit config replaces the route's for that consumer. Counters
// live in plugin.State, so a reload keeps them while those settings and
// the backend settings are unchanged.
//
// Every AI request that reaches the plugin gets RateLimit-Limit,
// RateLimit-Remaining and RateLimit-Reset (seconds, rounded up, until the
// bucket is full again) for the binding limit: the one that refused, else
// the one with the smaller share left after the request's admission. A
// refused request gets 429 rate_limited with those, Retry-After (seconds,
// rounded up, at least 1: when the same request would pass) and a detail
// naming the limit, and never reaches a provider.
//
// With Redis, a call that Redis does not answer within redis_timeout marks
// it down (logged once, counted in internal/ratelimit.Totals). Failing open,
// requests are then decided on buckets local to the node; failing closed,
// they are refused with 429 rate_limited and Retry-After: 1. One request a
// second tries Redis again, and the first success switches back. A
// settlement that Redis does not take while failing closed is lost.
package airatelimit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/plugins/backend"
	"github.com/sluicegw/sluice/internal/proxy"
	rl "github.com/sluicegw/sluice/internal/ratelimit"
)

// Name is the plugin's stable name.
const Name = "ai-rate-limit"

func init() {
	plugin.Register(plugin.Spec{Name: Name, Phase: plugin.PhaseRateLimit, New: New})
}

// Defaults and bounds.
const (
	DefaultRedisPrefix = "sluice:ai-rl:"
	DefaultWindow      = time.Minute
	minWindow          = time.Second
	maxWindow          = 744 * time.Hour // 31 days
)

// settings is the plugin's configuration; see the package comment.
type settings struct {
	Requests int64           `json:"requests"`
	Tokens   int64           `json:"tokens"`
	Window   config.Duration `json:"window"`
	By       string          `json:"by"`
	backend.Settings
}

// byKind is what a counter is keyed by.
type byKind uint8

const (
	byConsumer byKind = iota
	byCredential
	byIP
	byHeader
	byRoute
)

// Limit is one configured instance of the plugin. It is immutable and safe
// for concurrent use.
type Limit struct {
	by       byKind
	header   string // canonical header name, for by: header
	requests int64
	tokens   int64
	window   time.Duration
	st       *store
}

var (
	_ plugin.AIAccess = (*Limit)(nil)
	_ plugin.AIUsage  = (*Limit)(nil)
)

// New is the plugin's factory: it validates raw and returns a *Limit whose
// buckets come from env.State.
func New(raw map[string]any, env plugin.Env) (any, error) {
	var cfg settings
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	p, err := cfg.parseBy()
	if err != nil {
		return nil, err
	}
	if err := cfg.validateLimits(); err != nil {
		return nil, err
	}
	p.requests, p.tokens, p.window = cfg.Requests, cfg.Tokens, cfg.window()
	if env.State == nil {
		env.State = plugin.NewState()
	}
	kind, err := cfg.Resolve(env.RedisURL)
	if err != nil {
		return nil, err
	}
	// The namespace of this instance's buckets; see the package comment.
	ns := fmt.Sprintf("%s:%dr,%dt/%s:%s:", env.Scope, cfg.Requests, cfg.Tokens, p.window, cfg.by())
	if kind == backend.Memory {
		p.st, err = backend.State(env.State, Name+"/memory|"+ns, func() (*store, error) {
			return &store{local: newMemory(p.requests, p.tokens, p.window, nil)}, nil
		})
	} else {
		p.st, err = redisStore(&cfg, env, ns, p)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// window returns the window with its default.
func (cfg *settings) window() time.Duration {
	if w := cfg.Window.D(); w != 0 {
		return w
	}
	return DefaultWindow
}

// validateLimits checks requests, tokens and window.
func (cfg *settings) validateLimits() error {
	switch {
	case cfg.Requests < 0:
		return fmt.Errorf("requests: must be at least 1, got %d", cfg.Requests)
	case cfg.Tokens < 0:
		return fmt.Errorf("tokens: must be at least 1, got %d", cfg.Tokens)
	case cfg.Requests == 0 && cfg.Tokens == 0:
		return errors.New("requests or tokens: at least one is required (a limit per window, at least 1)")
	}
	w := cfg.window()
	if w < minWindow || w > maxWindow {
		return fmt.Errorf("window: %s is not between %s and %s", w, minWindow, maxWindow)
	}
	for _, l := range []struct {
		key string
		n   int64
	}{{"requests", cfg.Requests}, {"tokens", cfg.Tokens}} {
		if l.n == 0 {
			continue
		}
		if err := (rl.Rate{Limit: l.n, Window: w}).Validate(); err != nil {
			return fmt.Errorf("%s: %w", l.key, err)
		}
	}
	return nil
}

// by returns the by setting with its default.
func (cfg *settings) by() string {
	if cfg.By == "" {
		return "consumer"
	}
	return cfg.By
}

// parseBy returns a Limit keyed as cfg.By says.
func (cfg *settings) parseBy() (*Limit, error) {
	switch by := cfg.by(); by {
	case "consumer":
		return &Limit{by: byConsumer}, nil
	case "credential":
		return &Limit{by: byCredential}, nil
	case "ip":
		return &Limit{by: byIP}, nil
	case "route":
		return &Limit{by: byRoute}, nil
	default:
		if name, ok := strings.CutPrefix(by, "header:"); ok {
			if !httpguts.ValidHeaderFieldName(name) {
				return nil, fmt.Errorf("by: %q is not a valid header name", name)
			}
			return &Limit{by: byHeader, header: http.CanonicalHeaderKey(name)}, nil
		}
		return nil, fmt.Errorf("by: %q is not one of consumer, credential, ip, header:NAME, route", by)
	}
}

// redisStore returns the Redis-backed store of an instance, kept in
// env.State with its local fallback and its up/down state.
func redisStore(cfg *settings, env plugin.Env, ns string, p *Limit) (*store, error) {
	client, err := cfg.Client(env)
	if err != nil {
		return nil, err
	}
	prefix := cfg.Prefix(DefaultRedisPrefix)
	closed, timeout := cfg.FailClosed(), cfg.RedisTimeout.D()
	return backend.State(env.State, cfg.StateKey(Name, prefix, ns), func() (*store, error) {
		s := &store{
			remote: newRemote(client, p.requests, p.tokens, p.window, prefix+ns, timeout),
			br:     rl.NewBreaker(rl.BreakerOptions{FailClosed: closed, Log: env.Log, Name: Name + " " + env.Scope, Kind: "ai-rate-limit backend"}),
		}
		if !closed {
			s.local = newMemory(p.requests, p.tokens, p.window, nil)
		}
		return s, nil
	})
}

// AIAccess admits the request or refuses it with 429 rate_limited; see the
// package comment.
func (p *Limit) AIAccess(c *plugin.Ctx, info *llm.Info) error {
	d, r, err := p.st.admit(c.R.Context(), p.key(c), max(info.EstimatedInput, 0))
	if err != nil {
		c.X.RateLimit = exchange.RateError
		return p.failed(c, err)
	}
	h := c.W.Header()
	limit, left, debt := r.remaining(&d)
	h[hdrLimit] = []string{strconv.FormatInt(limit, 10)}
	h[hdrRemaining] = []string{strconv.FormatInt(left, 10)}
	h[hdrReset] = []string{strconv.FormatInt(ceilSeconds(time.Duration(debt)*r.tick), 10)}
	if d.allowed {
		if c.X.RateLimit == exchange.RateNone {
			c.X.RateLimit = exchange.RateAllowed
		}
		return nil
	}
	c.X.RateLimit = exchange.RateLimited
	retry := max(ceilSeconds(time.Duration(d.retry)*r.tick), 1)
	h[hdrRetry] = []string{strconv.FormatInt(retry, 10)}
	if d.byTokens {
		return gwerr.Newf(gwerr.RateLimited, nil, "The AI token limit of %d tokens per %s is used up; retry in %d s.", p.tokens, fmtWindow(p.window), retry)
	}
	return gwerr.Newf(gwerr.RateLimited, nil, "The AI request limit of %d requests per %s is used up; retry in %d s.", p.requests, fmtWindow(p.window), retry)
}

// settleTimeout bounds a settlement whose context has no deadline: the
// memory store never waits, and Redis calls have their own shorter bound.
const settleTimeout = 5 * time.Second

// AIUsage settles the token bucket with the request's real usage.
func (p *Limit) AIUsage(c *plugin.Ctx, info *llm.Info, u llm.Usage, _ float64) {
	if p.tokens == 0 {
		return
	}
	delta := u.Input + u.Output - max(info.EstimatedInput, 0)
	if delta == 0 {
		return
	}
	// The client may be gone (a cut stream): the tokens were spent anyway.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.R.Context()), settleTimeout)
	defer cancel()
	p.st.settle(ctx, p.key(c), delta)
}

// failed answers a request that got no decision.
func (p *Limit) failed(c *plugin.Ctx, err error) error {
	if c.R.Context().Err() != nil && errors.Is(err, context.Canceled) {
		return proxy.ErrClientGone
	}
	c.W.Header()[hdrRetry] = []string{"1"}
	return gwerr.Newf(gwerr.RateLimited, err, "AI rate limiting is unavailable; retry later.")
}

// The response headers, in canonical form.
const (
	hdrLimit     = "Ratelimit-Limit"
	hdrRemaining = "Ratelimit-Remaining"
	hdrReset     = "Ratelimit-Reset"
	hdrRetry     = "Retry-After"
)

// ceilSeconds rounds d up to whole seconds.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// fmtWindow formats a window without zero units: 1m, 1h30m, 24h, 90s.
func fmtWindow(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
