package airatelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	rl "github.com/sluicegw/sluice/internal/ratelimit"
)

// The Lua scripts are rates.admit and rates.settle run inside Redis, so
// that reading and writing a key's state is one atomic step for every
// node. A key is a hash with fields r (request TAT) and t (token TAT), in
// microseconds of the server's clock (TIME), so node clocks do not matter.
// Numbers are written with %d (Lua would print a 16-digit TAT as a rounded
// float); every write sets a TTL that ends no earlier than the later TAT,
// after which the key is equivalent to no key, and a key left with no debt
// is deleted.

// admitScript: KEYS[1] the key; ARGV reqPeriod, reqCap, tokPeriod, tokCap,
// tokLimit, est, maxDebt (ticks and tokens; a period of 0 is no limit).
// Returns {allowed 0|1, reqDebt, tokDebt, retry, byTokens 0|1}.
var admitScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rp, rc = tonumber(ARGV[1]), tonumber(ARGV[2])
local tp, tc, tl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local est, maxdebt = tonumber(ARGV[6]), tonumber(ARGV[7])
local st = redis.call('HMGET', KEYS[1], 'r', 't')
local r = tonumber(st[1]) or now
local k = tonumber(st[2]) or now
if r < now then r = now end
if k < now then k = now end
local ok, retry, bytok = true, 0, 0
if rp > 0 and r + rp - now > rc then
  ok, retry = false, r + rp - rc - now
end
if tp > 0 then
  local c = est
  if c > tl then c = tl end
  local nxt = k + c * tp
  if nxt - now > tc then
    local w = nxt - tc - now
    if ok or w > retry then retry, bytok = w, 1 end
    ok = false
  end
end
if not ok then return {0, r - now, k - now, retry, bytok} end
if rp > 0 then r = r + rp end
if tp > 0 then
  local n = est
  if n > 100 * tl then n = 100 * tl end
  k = k + n * tp
  if k - now > maxdebt then k = now + maxdebt end
end
local ttl = math.max(r, k) - now
if ttl > 0 then
  redis.call('HSET', KEYS[1], 'r', string.format('%d', r), 't', string.format('%d', k))
  redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil(ttl / 1000)))
end
return {1, r - now, k - now, 0, 0}
`)

// settleScript: KEYS[1] the key; ARGV tokPeriod, tokLimit, delta, maxDebt.
// Returns the token debt after the settlement.
var settleScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tp, tl = tonumber(ARGV[1]), tonumber(ARGV[2])
local delta, maxdebt = tonumber(ARGV[3]), tonumber(ARGV[4])
local st = redis.call('HMGET', KEYS[1], 'r', 't')
local r = tonumber(st[1]) or 0
local k = tonumber(st[2]) or now
if k < now then k = now end
if delta > 100 * tl then delta = 100 * tl end
if delta < -100 * tl then delta = -100 * tl end
k = k + delta * tp
if k < now then k = now end
if k - now > maxdebt then k = now + maxdebt end
local ttl = math.max(r, k) - now
if ttl > 0 then
  redis.call('HSET', KEYS[1], 't', string.format('%d', k))
  redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil(ttl / 1000)))
else
  redis.call('DEL', KEYS[1])
end
return k - now
`)

// remote keeps the buckets in Redis, shared by every node that uses the
// same prefix and limits.
type remote struct {
	client  redis.Scripter
	r       rates
	prefix  string
	timeout time.Duration
}

func newRemote(client redis.Scripter, requests, tokens int64, window time.Duration, prefix string, timeout time.Duration) *remote {
	if timeout == 0 {
		timeout = rl.DefaultRedisTimeout
	}
	return &remote{client: client, r: newRates(requests, tokens, window, time.Microsecond), prefix: prefix, timeout: timeout}
}

func (s *remote) admit(ctx context.Context, key string, est int64) (decision, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	r := &s.r
	res, err := admitScript.Run(ctx, s.client, []string{s.prefix + key},
		r.reqPeriod, r.reqCap, r.tokPeriod, r.tokCap, r.tokLimit, est, r.maxDebt).Int64Slice()
	if err != nil {
		return decision{}, fmt.Errorf("redis ai-rate-limit script: %w", err)
	}
	if len(res) != 5 {
		return decision{}, fmt.Errorf("redis ai-rate-limit script returned %d values, want 5", len(res))
	}
	return decision{allowed: res[0] == 1, reqDebt: res[1], tokDebt: res[2], retry: res[3], byTokens: res[4] == 1}, nil
}

func (s *remote) settle(ctx context.Context, key string, delta int64) error {
	if delta == 0 || s.r.tokLimit == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	r := &s.r
	if err := settleScript.Run(ctx, s.client, []string{s.prefix + key}, r.tokPeriod, r.tokLimit, delta, r.maxDebt).Err(); err != nil {
		return fmt.Errorf("redis ai-rate-limit settle script: %w", err)
	}
	return nil
}
