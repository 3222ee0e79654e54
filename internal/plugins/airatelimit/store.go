package airatelimit

import (
	"context"
	"errors"

	rl "github.com/sluicegw/sluice/internal/ratelimit"
)

// store is where an instance's buckets live: memory only, or Redis with a
// Breaker deciding when to fall back (to local memory when failing open,
// to a refusal when failing closed). It lives in plugin.State, so reloads
// that keep the instance's settings keep it.
type store struct {
	local  *memory // nil when failing closed on Redis
	remote *remote // nil for the memory backend
	br     *rl.Breaker
}

// admit decides a request of est estimated input tokens for key. An error
// means no decision: rl.ErrUnavailable (wrapped) when Redis is down and the
// store fails closed, or the context's error when the client went away.
func (s *store) admit(ctx context.Context, key string, est int64) (decision, *rates, error) {
	if s.remote == nil {
		return s.local.admit(key, est), &s.local.r, nil
	}
	if s.br.UseRemote() {
		d, err := s.remote.admit(ctx, key, est)
		if err == nil {
			s.br.Succeeded()
			return d, &s.remote.r, nil
		}
		if ctx.Err() != nil {
			return decision{}, nil, ctx.Err()
		}
		s.br.Failed(err)
		if ferr := s.br.FallBack(); ferr != nil {
			return decision{}, nil, errors.Join(ferr, err)
		}
	} else if err := s.br.FallBack(); err != nil {
		return decision{}, nil, err
	}
	return s.local.admit(key, est), &s.local.r, nil
}

// settle charges (delta > 0) or refunds (delta < 0) key's token bucket.
// ctx must outlive the client: settling happens after the answer. While
// Redis is down, a store that fails open settles locally and one that
// fails closed drops the settlement (its requests are refused meanwhile,
// and a settlement is not a request, so it is not counted as refused).
func (s *store) settle(ctx context.Context, key string, delta int64) {
	if delta == 0 {
		return
	}
	if s.remote == nil {
		s.local.settle(key, delta)
		return
	}
	if s.br.UseRemote() {
		err := s.remote.settle(ctx, key, delta)
		if err == nil {
			s.br.Succeeded()
			return
		}
		s.br.Failed(err)
	}
	if s.local != nil {
		s.br.FallBack()
		s.local.settle(key, delta)
	}
}
