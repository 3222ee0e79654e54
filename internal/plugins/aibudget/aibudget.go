// Package aibudget is the ai-budget plugin: on AI routes it caps what a
// consumer (or a route) spends on models per UTC calendar day or month, in
// US dollars, from the cost the AI route computes with the config's
// `ai.prices`, and refuses requests once the budget is spent with 429
// budget_exceeded in the client's API format.
//
// Config:
//
//	ai-budget:
//	  usd: 10               # required, > 0: the budget per period, in US dollars
//	  period: day           # day (default) | month: UTC calendar periods
//	  by: consumer          # consumer (default) | route
//	  backend: redis        # memory | redis; default redis when a Redis URL is set, else memory
//	  redis_url: redis://127.0.0.1:6379/0   # default: the config's top-level redis.url
//	  redis_prefix: "sluice:ai-budget:"     # default; every Redis key starts with it
//	  redis_timeout: 50ms   # default; bound on each Redis call (1ms to 5s)
//	  fail: open            # open (default) | closed: what to do while Redis is unreachable
//
// # Accounting
//
// A request's cost is known only when it is over, so a request is admitted
// while the period's spend is below the budget, and its cost is added when
// it ends (streamed answers from the stream's usage; a broken stream's
// tokens so far; nothing when every provider failed or the model has no
// price). So the request that crosses the budget is served, and the next
// is refused. Concurrent requests admitted while the budget was not yet
// spent all complete, so the overshoot is at most what the requests in
// flight at the crossing cost. Spend is counted in whole micro-dollars,
// each request's cost rounded to the nearest, and charged to the period in
// which the request ends.
//
// Periods are UTC calendar days (00:00 to 00:00) or months (the 1st at
// 00:00 to the next 1st), by the gateway's clock. A refusal carries
// Retry-After (seconds until the period ends, rounded up) and a detail such
// as "The AI budget of $10.00 per day for consumer alice is spent; it
// resets at 2026-11-26T00:00:00Z."
//
// # Counters
//
// A budget is named by the plugin's scope (global, route:NAME or
// consumer:NAME), its period and `by`, and the consumer's or the route's
// name; not by the route when by is consumer, so a global or consumer-level
// budget is one budget across every AI route, while one configured on a
// route counts that route's requests only. A consumer's own ai-budget
// config replaces the route's for that consumer. A request with no
// authenticated consumer under by: consumer is counted by its client IP.
// Changing `usd` on a reload keeps what was spent; changing the period, by
// or backend settings starts from zero.
//
// With Redis, each budget and period is one integer key, increased with
// INCRBY and set to expire an hour after the period ends, shared by every
// node. Redis failures are handled as rate-limit does: a call that Redis
// does not answer within redis_timeout marks it down (logged once);
// failing open, budgets are then kept on the node (counting from zero, as
// the node cannot know the shared spend); failing closed, requests are
// refused with 429 rate_limited and Retry-After: 1 (the budget is not
// known to be spent, so budget_exceeded would be wrong). One request a
// second tries Redis again.
package aibudget

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/plugins/backend"
	"github.com/sluicegw/sluice/internal/proxy"
	rl "github.com/sluicegw/sluice/internal/ratelimit"
)

// Name is the plugin's stable name.
const Name = "ai-budget"

func init() {
	plugin.Register(plugin.Spec{Name: Name, Phase: plugin.PhaseRateLimit, New: New})
}

// Defaults and bounds.
const (
	DefaultRedisPrefix = "sluice:ai-budget:"
	maxUSD             = 1e9
)

// settings is the plugin's configuration; see the package comment.
type settings struct {
	USD    float64 `json:"usd"`
	Period string  `json:"period"`
	By     string  `json:"by"`
	backend.Settings
}

// Budget is one configured instance of the plugin. It is immutable and
// safe for concurrent use.
type Budget struct {
	byRoute bool
	micro   int64 // the budget in micro-dollars
	usd     string
	period  period
	st      *store
}

var (
	_ plugin.AIAccess = (*Budget)(nil)
	_ plugin.AIUsage  = (*Budget)(nil)
)

// New is the plugin's factory: it validates raw and returns a *Budget
// whose counters come from env.State.
func New(raw map[string]any, env plugin.Env) (any, error) {
	var cfg settings
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	b := &Budget{}
	switch {
	case cfg.USD == 0:
		return nil, errors.New("usd: required (the budget per period in US dollars, above 0)")
	case cfg.USD < 0 || cfg.USD > maxUSD:
		return nil, fmt.Errorf("usd: %v is not between 0 and %v", cfg.USD, float64(maxUSD))
	}
	b.micro = int64(math.Round(cfg.USD * 1e6))
	if b.micro == 0 {
		return nil, fmt.Errorf("usd: %v is below one micro-dollar", cfg.USD)
	}
	b.usd = fmtUSD(cfg.USD)
	switch cfg.Period {
	case "", "day":
		b.period = day
	case "month":
		b.period = month
	default:
		return nil, fmt.Errorf("period: %q is not day or month", cfg.Period)
	}
	switch cfg.By {
	case "", "consumer":
	case "route":
		b.byRoute = true
	default:
		return nil, fmt.Errorf("by: %q is not consumer or route", cfg.By)
	}
	if env.State == nil {
		env.State = plugin.NewState()
	}
	kind, err := cfg.Resolve(env.RedisURL)
	if err != nil {
		return nil, err
	}
	by := "consumer"
	if b.byRoute {
		by = "route"
	}
	// The namespace of this instance's counters; see the package comment.
	ns := env.Scope + ":" + b.period.String() + ":" + by + ":"
	if kind == backend.Memory {
		b.st, err = backend.State(env.State, Name+"/memory|"+ns, func() (*store, error) { return &store{local: newMemory()}, nil })
	} else {
		b.st, err = redisStore(&cfg, env, ns)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// key returns the request's counter key within the instance's namespace
// and the words that name it in a refusal.
func (b *Budget) key(c *plugin.Ctx) (key, who string) {
	switch {
	case b.byRoute:
		return "route:" + c.Route, "route " + c.Route
	case c.Consumer != nil:
		return "consumer:" + c.Consumer.Name, "consumer " + c.Consumer.Name
	}
	ip := c.X.ClientIP.String()
	return "ip:" + ip, "client " + ip
}

// AIAccess refuses the request when the budget of its period is spent.
func (b *Budget) AIAccess(c *plugin.Ctx, _ *llm.Info) error {
	now := clock()
	sp := b.period.at(now)
	key, who := b.key(c)
	spent, err := b.st.spent(c.R.Context(), key, sp)
	if err != nil {
		if c.R.Context().Err() != nil && errors.Is(err, context.Canceled) {
			return proxy.ErrClientGone
		}
		c.W.Header()["Retry-After"] = []string{"1"}
		return gwerr.Newf(gwerr.RateLimited, err, "AI budget accounting is unavailable; retry later.")
	}
	if spent < b.micro {
		return nil
	}
	retry := max(int64((sp.end.Sub(now)+time.Second-1)/time.Second), 1)
	c.W.Header()["Retry-After"] = []string{strconv.FormatInt(retry, 10)}
	return gwerr.Newf(gwerr.BudgetExceeded, fmt.Errorf("spent %d µ$ of %d", spent, b.micro),
		"The AI budget of %s per %s for %s is spent; it resets at %s.", b.usd, b.period, who, sp.end.Format(time.RFC3339))
}

// settleTimeout bounds a charge whose context has no deadline; Redis
// calls have their own shorter bound.
const settleTimeout = 5 * time.Second

// AIUsage adds the request's cost to its period's spend.
func (b *Budget) AIUsage(c *plugin.Ctx, _ *llm.Info, _ llm.Usage, costUSD float64) {
	micro := int64(math.Round(costUSD * 1e6))
	if micro <= 0 || math.IsNaN(costUSD) {
		return
	}
	key, _ := b.key(c)
	// The client may be gone (a cut stream): the money was spent anyway.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.R.Context()), settleTimeout)
	defer cancel()
	b.st.charge(ctx, key, b.period.at(clock()), micro)
}

// fmtUSD formats an amount as $10.00: at least two decimals, more when
// cents do not say it ($0.005).
func fmtUSD(usd float64) string {
	s := strconv.FormatFloat(usd, 'f', -1, 64)
	switch i := strings.IndexByte(s, '.'); {
	case i < 0:
		s += ".00"
	case len(s)-i == 2:
		s += "0"
	}
	return "$" + s
}

// clockOffset shifts the plugin's clock, for tests of period ends.
var clockOffset atomic.Int64

// clock returns the current time as the plugin sees it.
func clock() time.Time { return time.Now().Add(time.Duration(clockOffset.Load())) }

// redisStore returns the Redis-backed store of an instance, kept in
// env.State with its local fallback and its up/down state.
func redisStore(cfg *settings, env plugin.Env, ns string) (*store, error) {
	client, err := cfg.Client(env)
	if err != nil {
		return nil, err
	}
	prefix := cfg.Prefix(DefaultRedisPrefix)
	closed, timeout := cfg.FailClosed(), cfg.RedisTimeout.D()
	return backend.State(env.State, cfg.StateKey(Name, prefix, ns), func() (*store, error) {
		s := &store{
			remote: newRemote(client, prefix+ns, timeout),
			br:     rl.NewBreaker(rl.BreakerOptions{FailClosed: closed, Log: env.Log, Name: Name + " " + env.Scope, Kind: "ai-budget backend"}),
		}
		if !closed {
			s.local = newMemory()
		}
		return s, nil
	})
}
