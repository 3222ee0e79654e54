package aibudget

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	rl "github.com/sluicegw/sluice/internal/ratelimit"
)

// store is where an instance's spend lives: memory only, or Redis with a
// Breaker deciding when to fall back (to local memory when failing open,
// to a refusal when failing closed). It lives in plugin.State, so reloads
// that keep the instance's settings keep it.
type store struct {
	local  *memory // nil when failing closed on Redis
	remote *remote // nil for the memory backend
	br     *rl.Breaker
}

// spent returns key's spend in period sp, in micro-dollars. An error means
// it is not known: rl.ErrUnavailable (wrapped) while Redis is down and the
// store fails closed, or the context's error.
func (s *store) spent(ctx context.Context, key string, sp span) (int64, error) {
	if s.remote == nil {
		return s.local.spent(key, sp), nil
	}
	if s.br.UseRemote() {
		n, err := s.remote.spent(ctx, key, sp)
		if err == nil {
			s.br.Succeeded()
			return n, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		s.br.Failed(err)
		if ferr := s.br.FallBack(); ferr != nil {
			return 0, errors.Join(ferr, err)
		}
	} else if err := s.br.FallBack(); err != nil {
		return 0, err
	}
	return s.local.spent(key, sp), nil
}

// charge adds micro micro-dollars to key's spend in sp. While Redis is
// down, a store that fails open charges locally and one that fails closed
// drops the charge (its requests are refused meanwhile).
func (s *store) charge(ctx context.Context, key string, sp span, micro int64) {
	if s.remote == nil {
		s.local.charge(key, sp, micro)
		return
	}
	if s.br.UseRemote() {
		err := s.remote.charge(ctx, key, sp, micro)
		if err == nil {
			s.br.Succeeded()
			return
		}
		s.br.Failed(err)
	}
	if s.local != nil {
		s.br.FallBack()
		s.local.charge(key, sp, micro)
	}
}

// memory keeps spend in this process: per key, the current period's id and
// its spend. A key whose period is over is equivalent to no key; an insert
// that finds the map at twice its size after the last sweep drops them.
type memory struct {
	mu      sync.Mutex
	m       map[string]*spend
	sweepAt int
}

type spend struct {
	period string
	micro  int64
}

const memSweepFloor = 64

func newMemory() *memory { return &memory{m: map[string]*spend{}, sweepAt: memSweepFloor} }

func (m *memory) spent(key string, sp span) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.m[key]; e != nil && e.period == sp.id {
		return e.micro
	}
	return 0
}

func (m *memory) charge(key string, sp span, micro int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.m[key]
	if e == nil {
		if len(m.m) >= m.sweepAt {
			for k, v := range m.m {
				if v.period != sp.id {
					delete(m.m, k)
				}
			}
			m.sweepAt = max(2*len(m.m), memSweepFloor)
		}
		e = &spend{period: sp.id}
		m.m[key] = e
	}
	if e.period != sp.id {
		e.period, e.micro = sp.id, 0
	}
	e.micro += micro
}

// chargeScript adds ARGV[1] to KEYS[1] and makes it expire at ARGV[2] (unix
// ms), in one step, so no key is ever left without an expiry.
var chargeScript = redis.NewScript(`
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return v
`)

// expiryGrace keeps a period's key an hour past the period's end, for nodes
// whose clocks are a little behind.
const expiryGrace = time.Hour

// remote keeps spend in Redis: one integer key per budget and period.
type remote struct {
	client  redis.Cmdable
	prefix  string
	timeout time.Duration
}

func newRemote(client redis.Cmdable, prefix string, timeout time.Duration) *remote {
	if timeout == 0 {
		timeout = rl.DefaultRedisTimeout
	}
	return &remote{client: client, prefix: prefix, timeout: timeout}
}

func (r *remote) spent(ctx context.Context, key string, sp span) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	n, err := r.client.Get(ctx, r.prefix+key+":"+sp.id).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("redis ai-budget read: %w", err)
	}
	return n, nil
}

func (r *remote) charge(ctx context.Context, key string, sp span, micro int64) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	exp := sp.end.Add(expiryGrace).UnixMilli()
	if err := chargeScript.Run(ctx, r.client, []string{r.prefix + key + ":" + sp.id}, micro, exp).Err(); err != nil {
		return fmt.Errorf("redis ai-budget charge: %w", err)
	}
	return nil
}
