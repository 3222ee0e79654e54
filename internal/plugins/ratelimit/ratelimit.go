// Package ratelimit is the rate-limit plugin: it admits at most `limit`
// requests per `window` for each value of a key (consumer, credential,
// client IP, a header, the path or the route), with the semantics of
// internal/ratelimit (GCRA: a burst of `limit`, one unit back every
// window/limit), and answers the rest with 429 rate_limited.
//
// Config:
//
//	rate-limit:
//	  limit: 100            # required, ≥ 1: the burst and the units per window
//	  window: 1m            # required: a Go duration; window/limit ≥ 1µs
//	  by: consumer          # consumer (default) | credential | ip | header:NAME | path | route
//	  backend: redis        # memory | redis; default redis when a Redis URL is set, else memory
//	  redis_url: redis://127.0.0.1:6379/0   # default: the config's top-level redis.url
//	  redis_prefix: "sluice:rl:"            # default; every Redis key starts with it
//	  redis_timeout: 50ms   # default; bound on each Redis decision (1ms to 5s)
//	  fail: open            # open (default) | closed: what to do while Redis is unreachable
//
// Counters are per route and per key value: the counter of a request is
// named by the plugin's scope (global, route:NAME or consumer:NAME), its
// limit, window and `by`, the matched route, and the key value. A request
// without the key value (by: consumer with no authenticated consumer, by:
// credential with none, by: header with the header absent or empty) is
// counted by its client IP instead, in a counter of its own kind, so
// anonymous clients do not share one bucket. Key values over 128 bytes are
// replaced by a SHA-256 digest.
//
// Counters live in plugin.State, so a config reload keeps them when the
// plugin's scope, limit, window, by and backend settings are unchanged;
// changing any of those starts fresh counters.
//
// Every response of a rate-limited route carries RateLimit-Limit (the
// limit), RateLimit-Remaining (requests left now) and RateLimit-Reset
// (seconds, rounded up, until the full limit is available again), set just
// before the head is written so an upstream's own values cannot replace
// them. A refused request gets 429 rate_limited with those and Retry-After
// (seconds, rounded up, at least 1) and never reaches the upstream.
//
// With the Redis backend, a decision that Redis does not answer within
// redis_timeout marks Redis down (logged once, counted in
// internal/ratelimit.Totals). Failing open, requests are then decided by a
// limiter local to the node, with the same limit (so N nodes admit up to N
// times the limit while Redis is down); failing closed, they are refused
// with 429 rate_limited and Retry-After: 1, since the contract has no other
// code for it and clients already back off on 429. One request a second
// tries Redis again, and the first success switches back.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/plugins/backend"
	"github.com/sluicegw/sluice/internal/proxy"
	rl "github.com/sluicegw/sluice/internal/ratelimit"
)

// Name is the plugin's stable name.
const Name = "rate-limit"

func init() {
	plugin.Register(plugin.Spec{Name: Name, Phase: plugin.PhaseRateLimit, New: New})
}

// settings is the plugin's configuration; see the package comment.
type settings struct {
	Limit  int64           `json:"limit"`
	Window config.Duration `json:"window"`
	By     string          `json:"by"`
	backend.Settings
}

// DefaultRedisPrefix starts every Redis key of the plugin by default.
const DefaultRedisPrefix = "sluice:rl:"

// byKind is what a counter is keyed by.
type byKind uint8

const (
	byConsumer byKind = iota
	byCredential
	byIP
	byHeader
	byPath
	byRoute
)

// Limit is one configured instance of the plugin. It is immutable and safe
// for concurrent use.
type Limit struct {
	by     byKind
	header string // canonical header name, for by: header
	// Exactly one of mem and lim is set: mem for the memory backend, called
	// directly so a key built on the stack stays there.
	mem *rl.Memory
	lim rl.Limiter

	limitValue []string // the RateLimit-Limit value, built once
}

var (
	_ plugin.Access   = (*Limit)(nil)
	_ plugin.Response = (*Limit)(nil)
	_ plugin.Log      = (*Limit)(nil)
)

// New is the plugin's factory: it validates cfg and returns a *Limit whose
// counters come from env.State.
func New(raw map[string]any, env plugin.Env) (any, error) {
	var cfg settings
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	p, err := cfg.parseBy()
	if err != nil {
		return nil, err
	}
	rate := rl.Rate{Limit: cfg.Limit, Window: cfg.Window.D()}
	switch {
	case cfg.Limit == 0:
		return nil, errors.New("limit: required (requests per window, at least 1)")
	case cfg.Window.D() == 0:
		return nil, errors.New("window: required (a duration like 1m)")
	}
	if err := rate.Validate(); err != nil {
		return nil, err
	}
	p.limitValue = []string{fmt.Sprint(cfg.Limit)}
	if env.State == nil {
		env.State = plugin.NewState()
	}
	// The namespace of this instance's counters; see the package comment.
	ns := env.Scope + ":" + rate.String() + ":" + cfg.by() + ":"
	kind, err := cfg.Resolve(env.RedisURL)
	if err != nil {
		return nil, err
	}
	if kind == backend.Memory {
		p.mem, err = backend.State(env.State, Name+"/memory|"+ns, func() (*rl.Memory, error) {
			return rl.NewMemory(rate, rl.MemoryOptions{})
		})
	} else {
		p.lim, err = redisLimiter(&cfg, env, ns, rate)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
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
	by := cfg.by()
	switch by {
	case "consumer":
		return &Limit{by: byConsumer}, nil
	case "credential":
		return &Limit{by: byCredential}, nil
	case "ip":
		return &Limit{by: byIP}, nil
	case "path":
		return &Limit{by: byPath}, nil
	case "route":
		return &Limit{by: byRoute}, nil
	}
	if name, ok := strings.CutPrefix(by, "header:"); ok {
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, fmt.Errorf("by: %q is not a valid header name", name)
		}
		return &Limit{by: byHeader, header: http.CanonicalHeaderKey(name)}, nil
	}
	return nil, fmt.Errorf("by: %q is not one of consumer, credential, ip, header:NAME, path, route", by)
}

// Access decides the request: it passes, or it stops with 429.
func (p *Limit) Access(c *plugin.Ctx) error {
	var buf [keyBufSize]byte
	key := p.appendKey(buf[:0], c)
	var (
		d   rl.Decision
		err error
	)
	if p.mem != nil {
		d, err = p.mem.AllowBytes(c.R.Context(), key, 1)
	} else {
		d, err = p.lim.Allow(c.R.Context(), string(key), 1)
	}
	if err != nil {
		c.X.RateLimit = exchange.RateError
		return p.failed(c, err)
	}
	if !d.Allowed {
		c.X.RateLimit = exchange.RateLimited
		p.setHeaders(c.W.Header(), &d)
		return errRateLimited
	}
	if c.X.RateLimit == exchange.RateNone {
		c.X.RateLimit = exchange.RateAllowed
	}
	decisions.put(c, d)
	return nil
}

// errRateLimited is the answer to a refused request; it is never changed.
var errRateLimited = gwerr.New(gwerr.RateLimited, nil)

// failed answers a request that got no decision.
func (p *Limit) failed(c *plugin.Ctx, err error) error {
	if c.R.Context().Err() != nil && errors.Is(err, context.Canceled) {
		return proxy.ErrClientGone
	}
	c.W.Header()["Retry-After"] = number(1)
	return gwerr.Newf(gwerr.RateLimited, err, "Rate limiting is unavailable; retry later.")
}

// Response sets the RateLimit headers of an admitted request.
func (p *Limit) Response(c *plugin.Ctx, _ int, h http.Header) {
	if d, ok := decisions.get(c); ok {
		p.setHeaders(h, &d)
	}
}

// Log forgets the request's decision.
func (p *Limit) Log(c *plugin.Ctx) { decisions.drop(c) }

// The response headers, in canonical form.
const (
	hdrLimit     = "Ratelimit-Limit"
	hdrRemaining = "Ratelimit-Remaining"
	hdrReset     = "Ratelimit-Reset"
	hdrRetry     = "Retry-After"
)

// setHeaders writes d as the RateLimit headers, and Retry-After for a
// refusal.
func (p *Limit) setHeaders(h http.Header, d *rl.Decision) {
	h[hdrLimit] = p.limitValue
	h[hdrRemaining] = number(d.Remaining)
	h[hdrReset] = number(ceilSeconds(d.ResetAfter))
	if !d.Allowed {
		h[hdrRetry] = number(max(ceilSeconds(d.RetryAfter), 1))
	}
}

// ceilSeconds rounds d up to whole seconds.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
