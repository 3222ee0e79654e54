package ratelimit

import (
	"github.com/redis/go-redis/v9"

	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/plugins/backend"
	rl "github.com/sluicegw/sluice/internal/ratelimit"
)

// redisLimiter returns the Redis-backed limiter of an instance, stored in
// env.State so that it, its local fallback counters and its up/down state
// survive reloads. The go-redis client is shared by every instance of the
// process that names the same URL.
func redisLimiter(cfg *settings, env plugin.Env, ns string, rate rl.Rate) (rl.Limiter, error) {
	client, err := cfg.Client(env)
	if err != nil {
		return nil, err
	}
	prefix := cfg.Prefix(DefaultRedisPrefix)
	return backend.State(env.State, cfg.StateKey(Name, prefix, ns), func() (*rl.Failover, error) {
		return newFailover(client, rate, failoverSpec{prefix: prefix + ns, cfg: cfg, closed: cfg.FailClosed(), env: env})
	})
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
