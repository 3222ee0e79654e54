package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// DefaultRedisTimeout bounds one Redis decision when RedisOptions sets no
// Timeout: the most a Redis limiter adds to a request's latency.
const DefaultRedisTimeout = 50 * time.Millisecond

// gcraScript is gcra.decide run inside Redis, so that reading and writing
// a key's TAT is one atomic step for every node. Time comes from the
// server (TIME, in microseconds), so node clocks do not matter. Numbers
// written back are formatted with %d: Lua would print a TAT of 16 digits
// as a rounded float. Every write sets a TTL that ends no earlier than the
// TAT, after which the key is equivalent to no key.
//
// KEYS[1] the key; ARGV period and capacity in µs, cost in units.
// Returns {allowed 0|1, debt µs (TAT - now after the decision), retry µs}.
var gcraScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local nxt = tat + cost * period
if nxt - now <= capacity then
  if nxt > tat then
    redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', string.format('%d', math.ceil((nxt - now) / 1000)))
  end
  return {1, nxt - now, 0}
end
return {0, tat - now, nxt - capacity - now}
`)

// Redis is a Limiter whose state lives in Redis, shared by every node that
// uses the same key prefix and Rate. Each decision is one script call
// (EVALSHA, falling back to EVAL when the server lacks the script) bounded
// by the limiter's timeout; it fails with the cause when Redis does not
// answer in time.
type Redis struct {
	client  redis.Scripter
	g       gcra
	prefix  string
	timeout time.Duration
}

// RedisOptions configure a Redis limiter.
type RedisOptions struct {
	// Prefix is prepended to every key; limiters with different Rates or
	// purposes must not share one.
	Prefix string
	// Timeout bounds each decision; 0 means DefaultRedisTimeout.
	Timeout time.Duration
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter enforcing r in Redis through client, which the
// caller owns (and may share between limiters).
func NewRedis(client redis.Scripter, r Rate, opts RedisOptions) (*Redis, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("redis timeout must not be negative, got %s", opts.Timeout)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultRedisTimeout
	}
	return &Redis{client: client, g: newGCRA(r, time.Microsecond), prefix: opts.Prefix, timeout: opts.Timeout}, nil
}

// Timeout returns the bound on one decision.
func (l *Redis) Timeout() time.Duration { return l.timeout }

// Allow implements Limiter. The decision is made in Redis under the key
// Prefix+key.
func (l *Redis) Allow(ctx context.Context, key string, cost int64) (Decision, error) {
	if err := l.g.checkCost(cost); err != nil {
		return Decision{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	res, err := gcraScript.Run(ctx, l.client, []string{l.prefix + key}, l.g.period, l.g.capacity, cost).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("redis rate limit script: %w", err)
	}
	if len(res) != 3 {
		return Decision{}, fmt.Errorf("redis rate limit script returned %d values, want 3", len(res))
	}
	d := Decision{Allowed: res[0] == 1, RetryAfter: time.Duration(res[2]) * time.Microsecond}
	l.g.fill(&d, res[1])
	return d, nil
}

// NewRedisClient returns a go-redis client for a redis:// or rediss:// URL,
// set up for rate limiting: deadlines come from each call's context, a
// failed command is not retried (a script that may have run must not run
// twice), and no extra commands are sent on connect. It does not connect.
// The error never contains the URL, which may hold a password.
func NewRedisClient(rawURL string) (*redis.Client, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a valid redis URL: %v", err)
	}
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = -1
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	// Upper bounds for calls whose context has no deadline; limiters pass
	// their own, shorter one.
	opt.DialTimeout = time.Second
	opt.ReadTimeout = time.Second
	opt.WriteTimeout = time.Second
	opt.PoolTimeout = time.Second
	// Within a limiter's budget a second dial would never start.
	opt.DialerRetries = 1
	return redis.NewClient(opt), nil
}
