// Package backend holds what the counting plugins (rate-limit,
// ai-rate-limit, ai-budget) share about where they count: the settings
// that choose memory or Redis and their checks, the process's shared Redis
// clients, and the plugin state their counters live in across reloads.
package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/plugin"
	rl "github.com/sluicegw/sluice/internal/ratelimit"
)

// MaxRedisTimeout bounds redis_timeout.
const MaxRedisTimeout = 5 * time.Second

// Kind is where a plugin counts.
type Kind string

// The kinds.
const (
	Memory Kind = "memory"
	Redis  Kind = "redis"
)

// Settings are the keys every counting plugin takes for its backend,
// embedded in its own settings:
//
//	backend: redis        # memory | redis; redis when a Redis URL is set
//	redis_url: redis://…  # default: the config's top-level redis.url
//	redis_prefix: "…"     # default: the plugin's own
//	redis_timeout: 50ms   # bound on each Redis call (1ms to 5s)
//	fail: open            # open | closed: what happens while Redis is down
type Settings struct {
	Backend      string          `json:"backend"`
	RedisURL     string          `json:"redis_url"`
	RedisPrefix  *string         `json:"redis_prefix"`
	RedisTimeout config.Duration `json:"redis_timeout"`
	Fail         string          `json:"fail"`
}

// Resolve applies the defaults (the config's top-level Redis URL,
// envRedisURL, unless the backend is memory) and checks the settings,
// returning where the plugin counts.
func (s *Settings) Resolve(envRedisURL string) (Kind, error) {
	if s.RedisURL == "" && s.Backend != string(Memory) {
		s.RedisURL = envRedisURL
	}
	k := Kind(s.Backend)
	if k == "" {
		k = Memory
		if s.RedisURL != "" {
			k = Redis
		}
	}
	switch k {
	case Memory:
		if s.RedisURL != "" || s.RedisPrefix != nil || s.RedisTimeout.D() != 0 || s.Fail != "" {
			return "", errors.New("backend: memory takes no redis_url, redis_prefix, redis_timeout or fail")
		}
	case Redis:
		if s.RedisURL == "" {
			return "", errors.New("backend: redis needs redis_url")
		}
	default:
		return "", fmt.Errorf("backend: %q is not memory or redis", s.Backend)
	}
	switch s.Fail {
	case "", "open", "closed":
	default:
		return "", fmt.Errorf("fail: %q is not open or closed", s.Fail)
	}
	if t := s.RedisTimeout.D(); t < 0 || t > MaxRedisTimeout || (t > 0 && t < time.Millisecond) {
		return "", fmt.Errorf("redis_timeout: %s is not between 1ms and %s", t, MaxRedisTimeout)
	}
	return k, nil
}

// Prefix returns redis_prefix, or def when it is not set.
func (s *Settings) Prefix(def string) string {
	if s.RedisPrefix != nil {
		return *s.RedisPrefix
	}
	return def
}

// FailClosed reports whether requests are refused while Redis is down.
func (s *Settings) FailClosed() bool { return s.Fail == "closed" }

// StateKey is the plugin-state key of a Redis-backed instance of plugin
// name counting under prefix+ns: instances that agree on all of it share
// their counters, local fallback and up/down state.
func (s *Settings) StateKey(name, prefix, ns string) string {
	return fmt.Sprintf("%s/redis|%s|%s%s|closed=%t|%s", name, s.RedisURL, prefix, ns, s.FailClosed(), s.RedisTimeout.D())
}

// Client returns the process's client for the settings' Redis URL,
// creating it; an error names redis_url (and never shows a password). The
// client lives as long as the plugin state: plugin.State cannot close it.
func (s *Settings) Client(env plugin.Env) (*redis.Client, error) {
	routeRedisLogs(env.Log)
	type entry struct {
		c   *redis.Client
		err error
	}
	e, _ := State(env.State, "redis-client|"+s.RedisURL, func() (*entry, error) {
		c, err := rl.NewRedisClient(s.RedisURL)
		return &entry{c: c, err: err}, nil
	})
	if e.err != nil {
		return nil, fmt.Errorf("redis_url: %w", e.err)
	}
	return e.c, nil
}

// State returns the value kept in st under key, creating it with create
// (whose error is returned, and nothing kept, when it fails).
func State[T any](st *plugin.State, key string, create func() (T, error)) (T, error) {
	var err error
	v := st.Get(key, func() any {
		var t T
		t, err = create()
		if err != nil {
			return nil
		}
		return t
	})
	t, ok := v.(T)
	if !ok && err == nil {
		err = fmt.Errorf("plugin state %q holds a %T", key, v)
	}
	return t, err
}

var redisLogOnce sync.Once

// routeRedisLogs sends go-redis's own log lines (a failed dial, for one),
// which it otherwise prints raw on stderr for every failure, to the
// gateway's structured log at debug level: the plugins' failovers already
// log each outage once.
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
