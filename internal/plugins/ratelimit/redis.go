package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/sluicegw/sluice/internal/plugin"
	rl "github.com/sluicegw/sluice/internal/ratelimit"
)

// redisLimiter returns the Redis-backed limiter of an instance, stored in
// env.State so that it, its local fallback counters and its up/down state
// survive reloads. The go-redis client is shared by every instance of the
// process that names the same URL.
func redisLimiter(cfg *settings, env plugin.Env, ns string, rate rl.Rate) (rl.Limiter, error) {
	client, err := sharedClient(env, cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("redis_url: %w", err)
	}
	prefix := DefaultRedisPrefix
	if cfg.RedisPrefix != nil {
		prefix = *cfg.RedisPrefix
	}
	closed := cfg.Fail == "closed"
	key := fmt.Sprintf("rate-limit/redis|%s|%s%s|closed=%t|%s", cfg.RedisURL, prefix, ns, closed, cfg.RedisTimeout.D())
	var buildErr error
	v := env.State.Get(key, func() any {
		f, err := newFailover(client, rate, failoverSpec{prefix: prefix + ns, cfg: cfg, closed: closed, env: env})
		buildErr = err
		return f
	})
	f, _ := v.(*rl.Failover)
	if f == nil && buildErr == nil {
		buildErr = fmt.Errorf("plugin state %q holds a %T", key, v)
	}
	return f, buildErr
}

// failoverSpec is what newFailover needs beyond the client and rate.
type failoverSpec struct {
	prefix string
	cfg    *settings
	closed bool
	env    plugin.Env
}

func newFailover(client *redis.Client, rate rl.Rate, s failoverSpec) (*rl.Failover, error) {
	remote, err := rl.NewRedis(client, rate, rl.RedisOptions{Prefix: s.prefix, Timeout: s.cfg.RedisTimeout.D()})
	if err != nil {
		return nil, err
	}
	opts := rl.FailoverOptions{FailClosed: s.closed, Log: s.env.Log, Name: s.env.Scope}
	if !s.closed {
		if opts.Local, err = rl.NewMemory(rate, rl.MemoryOptions{}); err != nil {
			return nil, err
		}
	}
	return rl.NewFailover(remote, opts)
}

// clientEntry is a shared client, or why it could not be made.
type clientEntry struct {
	c   *redis.Client
	err error
}

// sharedClient returns the process's client for url, creating it. It lives
// as long as the plugin State: plugin.State has no way to close it.
func sharedClient(env plugin.Env, url string) (*redis.Client, error) {
	routeRedisLogs(env.Log)
	e := env.State.Get("redis-client|"+url, func() any {
		c, err := rl.NewRedisClient(url)
		return &clientEntry{c: c, err: err}
	}).(*clientEntry)
	return e.c, e.err
}

var redisLogOnce sync.Once

// routeRedisLogs sends go-redis's own log lines (a failed dial, for one),
// which it otherwise prints raw on stderr for every failure, to the
// gateway's structured log at debug level: the failover already logs each
// outage once.
func routeRedisLogs(l *slog.Logger) {
	if l == nil {
		return
	}
	redisLogOnce.Do(func() { redis.SetLogger(redisLogger{l}) })
}

type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
