package aibudget_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"

	"github.com/sluicegw/sluice/internal/plugins/aibudget"
	"github.com/sluicegw/sluice/internal/ratelimit/redistest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// A gpt answer of 1000 input and 500 output tokens costs, at $2.50 and $10
// per million, $0.0075.
var answer = testkit.LLMReply{Text: "ok", Usage: testkit.LLMUsage{Input: 1000, Output: 500}}

// backends runs f on the memory backend and on Redis (skipped loudly
// without Redis, failing under CI=true); redis is extra plugin settings.
func backends(t *testing.T, f func(t *testing.T, redis string)) {
	t.Run("memory", func(t *testing.T) { f(t, "") })
	t.Run("redis", func(t *testing.T) {
		c := redistest.Client(t)
		f(t, fmt.Sprintf(`, redis_url: "redis://%s/0", redis_prefix: %q, redis_timeout: 2s`, redistest.Addr(), redistest.Prefix(t, c)))
	})
}

// nextMidnight is the end of the UTC day holding t.
func nextMidnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// TestBudgetCrossing spends a budget of one cent a day: two requests of
// $0.0075 pass (the second crosses), the third is refused with the reset
// time, and the next day the budget is whole again.
func TestBudgetCrossing(t *testing.T) {
	backends(t, func(t *testing.T, redis string) {
		e := startAI(t, `{ usd: 0.01, period: day`+redis+` }`, "", "")
		e.OA.Push(answer, answer)
		e.MustChat(aliceKey, "gpt", "hi")
		e.MustChat(aliceKey, "gpt", "hi") // $0.015 spent: crossed
		calls := len(e.OA.Requests())

		before := time.Now()
		h, err := e.Chat(aliceKey, "gpt", "hi")
		msg := wantBudgetExceeded(t, err, h)
		reset := nextMidnight(before)
		// The day may end between before and now; either reset is right.
		refusal := func(at time.Time) string {
			return "The AI budget of $0.01 per day for consumer alice is spent; it resets at " + at.Format(time.RFC3339) + "."
		}
		if msg != refusal(reset) && msg != refusal(nextMidnight(time.Now())) {
			t.Errorf("message %q, want %q", msg, refusal(reset))
		}
		if ra, until := retryAfter(t, h), int64(time.Until(reset)/time.Second); ra < until-2 || ra > until+2 {
			t.Errorf("Retry-After %d, want about %d (until %s)", ra, until, reset)
		}
		if len(e.OA.Requests()) != calls {
			t.Errorf("a refused request reached the provider")
		}
		// Bob has his own budget.
		e.MustChat(bobKey, "gpt", "hi")

		// The next UTC day, alice's budget is whole again.
		aibudget.AdvanceClock(t, time.Until(reset)+time.Minute)
		e.OA.Push(answer)
		e.MustChat(aliceKey, "gpt", "hi")
	})
}

// TestStreamedCostCounts: a streamed answer's cost (from the stream's
// usage) is charged, and the refusal comes in the Anthropic format.
func TestStreamedCostCounts(t *testing.T) {
	backends(t, func(t *testing.T, redis string) {
		e := startAI(t, `{ usd: 0.01`+redis+` }`, "", "")
		// Claude at $3/$15: 1000 in + 600 out = $0.012, over the budget.
		e.AN.Push(testkit.LLMReply{Text: "a b c", Usage: testkit.LLMUsage{Input: 1000, Output: 600}})
		c := e.Anthropic(aliceKey)
		s := c.Messages.NewStreaming(ctx(t), anthropic.MessageNewParams{
			Model: "claude", MaxTokens: 1000, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("count"))},
		})
		var msg anthropic.Message
		for s.Next() {
			if err := msg.Accumulate(s.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		e.G.LogFor(strings.TrimPrefix(msg.ID, "msg_"))
		_, err := c.Messages.New(ctx(t), anthropic.MessageNewParams{
			Model: "claude", MaxTokens: 10, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		})
		var ae *anthropic.Error
		if !errors.As(err, &ae) || ae.StatusCode != 429 || !strings.Contains(ae.RawJSON(), `"type":"rate_limit_error"`) ||
			!strings.Contains(ae.RawJSON(), "The AI budget of $0.01 per day for consumer alice is spent") {
			t.Fatalf("want a typed Anthropic 429 naming the budget, got %v", err)
		}
		if ae.Response.Header.Get("Sluice-Error") != "budget_exceeded" || ae.Response.Header.Get("Retry-After") == "" {
			t.Errorf("refusal headers %v", ae.Response.Header)
		}
		// The OpenAI client streaming from the OpenAI provider: its usage
		// arrives in the last chunk only.
		e.OA.Push(testkit.LLMReply{Text: "x y", Usage: testkit.LLMUsage{Input: 2000, Output: 600}}) // $0.011
		os := e.OpenAI(bobKey).Chat.Completions.NewStreaming(ctx(t), openai.ChatCompletionNewParams{
			Model: "gpt", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count")},
		})
		var id string
		for os.Next() {
			id = os.Current().ID
		}
		if err := os.Err(); err != nil {
			t.Fatal(err)
		}
		e.G.LogFor(strings.TrimPrefix(id, "chatcmpl-"))
		h, err := e.Chat(bobKey, "gpt", "hi")
		wantBudgetExceeded(t, err, h)
	})
}

// TestScopes: a consumer's own budget replaces the route's; a month budget
// by route names the route and the first of next month; a global budget by
// consumer is one budget across AI routes.
func TestScopes(t *testing.T) {
	e := startAI(t, `{ usd: 1 }`, `{ usd: 0.005 }`, "")
	e.OA.Push(answer)
	e.MustChat(bobKey, "gpt", "hi") // $0.0075 > his $0.005
	h, err := e.Chat(bobKey, "gpt", "hi")
	if msg := wantBudgetExceeded(t, err, h); !strings.HasPrefix(msg, "The AI budget of $0.005 per day for consumer bob is spent") {
		t.Errorf("bob's refusal %q", msg)
	}
	e.OA.Push(answer)
	e.MustChat(aliceKey, "gpt", "hi") // the route's $1

	e = startAI(t, `{ usd: 0.001, period: month, by: route }`, "", "")
	e.OA.Push(answer)
	e.MustChat(aliceKey, "gpt", "hi")
	h, err = e.Chat(carolKey, "gpt", "hi") // another consumer, the same route
	msg := wantBudgetExceeded(t, err, h)
	now := time.Now().UTC()
	first := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	if !strings.HasPrefix(msg, "The AI budget of $0.001 per month for route ai is spent; it resets at "+first) {
		t.Errorf("month refusal %q, want the reset at %s", msg, first)
	}

	e = startAI(t, "", "", "plugins:\n  ai-budget: { usd: 0.005 }\n")
	e.OA.Push(answer)
	if _, err := e.ChatOn("/v2/", aliceKey, "gpt", "hi"); err != nil {
		t.Fatal(err)
	}
	h, err = e.ChatOn("/v1/", aliceKey, "gpt", "hi")
	wantBudgetExceeded(t, err, h)
}

// TestTwoNodesShareRedis: two gateways on one Redis share a budget, whose
// key expires an hour after the period.
func TestTwoNodesShareRedis(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	plugin := fmt.Sprintf(`{ usd: 0.01, redis_prefix: %q, redis_timeout: 2s }`, prefix)
	extra := fmt.Sprintf("redis: { url: \"redis://%s/0\" }\n", redistest.Addr())
	a := startAI(t, plugin, "", extra)
	b := a.Also(plugin, extra)
	a.OA.Push(answer, answer)
	a.MustChat(aliceKey, "gpt", "hi")
	b.MustChat(aliceKey, "gpt", "hi")
	h, err := a.Chat(aliceKey, "gpt", "hi")
	wantBudgetExceeded(t, err, h)
	h, err = b.Chat(aliceKey, "gpt", "hi")
	wantBudgetExceeded(t, err, h)

	keys, err := redistest.Keys(context.Background(), c, prefix)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().Format("2006-01-02")
	if len(keys) != 1 || keys[0] != prefix+"route:ai:day:consumer:consumer:alice:"+day {
		t.Fatalf("Redis keys %q", keys)
	}
	if v := c.Get(context.Background(), keys[0]).Val(); v != "15000" {
		t.Errorf("spend %s µ$, want 15000", v)
	}
	want := time.Until(nextMidnight(time.Now()).Add(time.Hour))
	if ttl := c.PTTL(context.Background(), keys[0]).Val(); ttl > want+time.Second || ttl < want-10*time.Second {
		t.Errorf("TTL %s, want about %s", ttl, want)
	}
}

// TestRedisOutage: failing open, a node keeps local budgets; failing
// closed, requests are refused with rate_limited, not budget_exceeded.
func TestRedisOutage(t *testing.T) {
	for _, fail := range []string{"open", "closed"} {
		t.Run(fail, func(t *testing.T) {
			prefix := redistest.Prefix(t, redistest.Client(t))
			p := redistest.NewProxy(t)
			e := startAI(t, fmt.Sprintf(`{ usd: 0.01, redis_url: %q, redis_prefix: %q, redis_timeout: 1s, fail: %s }`, p.URL(), prefix, fail), "", "")
			e.OA.Push(answer, answer)
			e.MustChat(aliceKey, "gpt", "hi")
			e.MustChat(aliceKey, "gpt", "hi")
			p.Cut()
			h, err := e.Chat(aliceKey, "gpt", "hi")
			if fail == "open" {
				// The node's own counters know nothing of the $0.015.
				if err != nil {
					t.Fatalf("failing open: %v", err)
				}
			} else {
				var oe *openai.Error
				if !errors.As(err, &oe) || oe.StatusCode != 429 || oe.Code != "rate_limited" || h.Get("Retry-After") != "1" {
					t.Fatalf("failing closed: %v (Retry-After %q)", err, h.Get("Retry-After"))
				}
			}
			p.Restore()
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(e.G.RawLogs(), "ai-budget backend recovered") {
				if time.Now().After(deadline) {
					t.Fatal("no recovery within 5s")
				}
				e.Chat(carolKey, "gpt", "hi")
				time.Sleep(50 * time.Millisecond)
			}
			// Back on Redis, alice's spend there is still over.
			h, err = e.Chat(aliceKey, "gpt", "hi")
			wantBudgetExceeded(t, err, h)
		})
	}
}

// TestReloadKeepsSpend raises the budget on a reload: what was spent still
// counts.
func TestReloadKeepsSpend(t *testing.T) {
	e := startAI(t, `{ usd: 0.01 }`, "", "")
	e.OA.Push(answer, answer)
	e.MustChat(aliceKey, "gpt", "hi")
	e.MustChat(aliceKey, "gpt", "hi") // $0.015
	h, err := e.Chat(aliceKey, "gpt", "hi")
	wantBudgetExceeded(t, err, h)

	e.Reload(`{ usd: 0.02 }`, "")
	e.OA.Push(answer)
	e.MustChat(aliceKey, "gpt", "hi") // $0.015 < $0.02: served, now $0.0225
	h, err = e.Chat(aliceKey, "gpt", "hi")
	if msg := wantBudgetExceeded(t, err, h); !strings.HasPrefix(msg, "The AI budget of $0.02 per day") {
		t.Errorf("after the reload: %q", msg)
	}
}
