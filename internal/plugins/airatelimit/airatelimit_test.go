package airatelimit_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"

	"github.com/sluicegw/sluice/internal/ratelimit/redistest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// The prompts of the token tests and their estimates.
var (
	short = strings.Repeat("x", 400)  // estimate 107
	long  = strings.Repeat("y", 3000) // estimate 757
)

// backends runs f on the memory backend and on Redis (skipped loudly
// without Redis, failing under CI=true).
func backends(t *testing.T, f func(t *testing.T, redis string)) {
	t.Run("memory", func(t *testing.T) { f(t, "") })
	t.Run("redis", func(t *testing.T) {
		c := redistest.Client(t)
		f(t, fmt.Sprintf(`, redis_url: "redis://%s/0", redis_prefix: %q, redis_timeout: 2s`, redistest.Addr(), redistest.Prefix(t, c)))
	})
}

// TestTokenLimit walks one consumer through a token budget of 1000 a day
// (one token back every 86.4s, so nothing refills during the test): the
// estimate is charged up front, the real usage settles it, a prompt whose
// estimate does not fit is refused, the request whose output crosses the
// limit is served and the next one refused.
func TestTokenLimit(t *testing.T) {
	backends(t, func(t *testing.T, redis string) {
		e := startAI(t, `{ tokens: 1000, window: 24h`+redis+` }`, "", "")
		es, el := estimate(short), estimate(long)

		// 1. The estimate is charged: the header shows 1000 - est; the
		// real usage (300) then replaces it.
		e.OA.Push(testkit.LLMReply{Text: "ok", Usage: testkit.LLMUsage{Input: 100, Output: 200}})
		h := e.MustChat(aliceKey, "gpt", short)
		if got, want := h.Get("RateLimit-Remaining"), fmt.Sprint(1000-es); got != want || h.Get("RateLimit-Limit") != "1000" {
			t.Fatalf("after the first admission: RateLimit-Remaining %s, want %s; RateLimit-Limit %s", got, want, h.Get("RateLimit-Limit"))
		}

		// 2. 700 left: a prompt estimated at 757 is refused on its own
		// estimate, charged nothing, and never reaches the provider.
		calls := len(e.OA.Requests())
		h, err := e.Chat(aliceKey, "gpt", long)
		wantRateLimited(t, err, h, "1000", "700")
		// 57 tokens short, one token per 86.4s.
		if ra, want := retryAfter(t, h), int64(float64(el-700)*86.4+1); !near(ra, want, 5) {
			t.Errorf("Retry-After %d, want about %d", ra, want)
		}
		if msg := apiMessage(err); !strings.Contains(msg, "token limit of 1000 tokens per 24h") {
			t.Errorf("detail %q does not name the limit", msg)
		}
		if n := len(e.OA.Requests()); n != calls {
			t.Fatalf("a refused request reached the provider")
		}

		// 3. A short prompt fits (700 ≥ est) and is served; its answer
		// (100 in + 800 out) crosses the limit: 700 - 900 = 200 in debt.
		e.OA.Push(testkit.LLMReply{Text: "a long answer", Usage: testkit.LLMUsage{Input: 100, Output: 800}})
		h = e.MustChat(aliceKey, "gpt", short)
		if got, want := h.Get("RateLimit-Remaining"), fmt.Sprint(700-es); got != want {
			t.Errorf("crossing request: RateLimit-Remaining %s, want %s", got, want)
		}

		// 4. The next request, however small, is refused until the debt
		// is repaid: 200 + its estimate, at 86.4s a token.
		h, err = e.Chat(aliceKey, "gpt", "hi")
		wantRateLimited(t, err, h, "1000", "0")
		if ra, want := retryAfter(t, h), int64(float64(200+estimate("hi"))*86.4+1); !near(ra, want, 5) {
			t.Errorf("Retry-After %d, want about %d", ra, want)
		}
		if got, want := h.Get("RateLimit-Reset"), int64(1200*86.4); !near(retryAfter(t, map[string][]string{"Retry-After": {got}}), want+1, 5) {
			t.Errorf("RateLimit-Reset %s, want about %d", got, want)
		}

		// Other consumers have their own buckets. Bob's estimate (757) is
		// high; his answer uses 15 tokens, so 742 are refunded.
		e.OA.Push(testkit.LLMReply{Text: "ok", Usage: testkit.LLMUsage{Input: 10, Output: 5}})
		if h = e.MustChat(bobKey, "gpt", long); h.Get("RateLimit-Remaining") != fmt.Sprint(1000-el) {
			t.Errorf("bob's first: RateLimit-Remaining %s, want %d", h.Get("RateLimit-Remaining"), 1000-el)
		}
		if h = e.MustChat(bobKey, "gpt", short); h.Get("RateLimit-Remaining") != fmt.Sprint(1000-15-es) {
			t.Errorf("after the refund: RateLimit-Remaining %s, want %d", h.Get("RateLimit-Remaining"), 1000-15-es)
		}
	})
}

// TestStreamsAreSettled streams answers in both client formats: the usage
// reported in the stream settles the bucket, and the refusal comes in the
// client's own error format.
func TestStreamsAreSettled(t *testing.T) {
	backends(t, func(t *testing.T, redis string) {
		e := startAI(t, `{ tokens: 1000, window: 24h`+redis+` }`, "", "")

		// OpenAI client, Anthropic provider: 100 in + 950 out.
		e.AN.Push(testkit.LLMReply{Text: "one two three", Usage: testkit.LLMUsage{Input: 100, Output: 950}})
		s := e.OpenAI(aliceKey).Chat.Completions.NewStreaming(ctx(t), openai.ChatCompletionNewParams{
			Model: "claude", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count")},
		})
		var id string
		for s.Next() {
			id = s.Current().ID
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		e.G.LogFor(strings.TrimPrefix(id, "chatcmpl-"))
		h, err := e.Chat(aliceKey, "gpt", "hi")
		wantRateLimited(t, err, h, "1000", "0")

		// Anthropic client, OpenAI provider: the stream's usage (only in
		// its last chunk) crosses the limit; the refusal is Anthropic's.
		e.OA.Push(testkit.LLMReply{Text: "un deux trois", Usage: testkit.LLMUsage{Input: 30, Output: 990}})
		as := e.Anthropic(bobKey).Messages.NewStreaming(ctx(t), anthropic.MessageNewParams{
			Model: "gpt", MaxTokens: 2000, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("count"))},
		})
		var msg anthropic.Message
		for as.Next() {
			if err := msg.Accumulate(as.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := as.Err(); err != nil {
			t.Fatal(err)
		}
		if msg.Usage.OutputTokens != 990 {
			t.Fatalf("streamed usage %+v", msg.Usage)
		}
		e.G.LogFor(strings.TrimPrefix(msg.ID, "msg_"))
		_, err = e.Anthropic(bobKey).Messages.New(ctx(t), anthropic.MessageNewParams{
			Model: "gpt", MaxTokens: 10, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		})
		var ae *anthropic.Error
		if !errors.As(err, &ae) || ae.StatusCode != 429 || !strings.Contains(ae.RawJSON(), `"type":"rate_limit_error"`) {
			t.Fatalf("anthropic client: want a typed 429 rate_limit_error, got %v", err)
		}
		if ae.Response.Header.Get("Sluice-Error") != "rate_limited" || ae.Response.Header.Get("Retry-After") == "" {
			t.Errorf("anthropic refusal headers %v", ae.Response.Header)
		}
		// A stream that breaks is settled with the usage seen so far: the
		// Anthropic provider reports its input (900) at the start.
		e.AN.Push(testkit.LLMReply{Text: "a b c d e f", Chunks: 6, CutAfter: 4, Usage: testkit.LLMUsage{Input: 900, Output: 40}})
		cs := e.OpenAI(carolKey).Chat.Completions.NewStreaming(ctx(t), openai.ChatCompletionNewParams{
			Model: "claude", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count")},
		})
		for cs.Next() {
			id = cs.Current().ID
		}
		e.G.LogFor(strings.TrimPrefix(id, "chatcmpl-"))
		// Seen before the cut: 900 input and 1 output token (message_start).
		h = e.MustChat(carolKey, "gpt", "hi")
		if got, want := h.Get("RateLimit-Remaining"), fmt.Sprint(1000-901-estimate("hi")); got != want {
			t.Errorf("after a broken stream that read 901 tokens: RateLimit-Remaining %s, want %s", got, want)
		}
	})
}

// TestRequestsPerWindow limits requests alone, and a consumer's own config
// replaces the route's.
func TestRequestsPerWindow(t *testing.T) {
	backends(t, func(t *testing.T, redis string) {
		e := startAI(t, `{ requests: 3, window: 1m`+redis+` }`, `{ requests: 1, window: 1h`+redis+` }`, "")
		for i := range 3 {
			h := e.MustChat(aliceKey, "gpt", "hi")
			if h.Get("RateLimit-Limit") != "3" || h.Get("RateLimit-Remaining") != fmt.Sprint(2-i) {
				t.Errorf("request %d: RateLimit-Limit %s Remaining %s", i, h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"))
			}
		}
		calls := len(e.OA.Requests())
		h, err := e.Chat(aliceKey, "gpt", "hi")
		wantRateLimited(t, err, h, "3", "0")
		// One request comes back every 20s.
		if ra := retryAfter(t, h); !near(ra, 20, 3) {
			t.Errorf("Retry-After %d, want about 20", ra)
		}
		if len(e.OA.Requests()) != calls {
			t.Errorf("a refused request reached the provider")
		}
		// Bob's own config: 1 an hour.
		h = e.MustChat(bobKey, "gpt", "hi")
		if h.Get("RateLimit-Limit") != "1" {
			t.Errorf("bob's RateLimit-Limit %s, want his own 1", h.Get("RateLimit-Limit"))
		}
		h, err = e.Chat(bobKey, "gpt", "hi")
		wantRateLimited(t, err, h, "1", "0")
		if ra := retryAfter(t, h); !near(ra, 3600, 3) {
			t.Errorf("bob's Retry-After %d, want about 3600", ra)
		}
		// Carol still has the route's 3.
		e.MustChat(carolKey, "gpt", "hi")
	})
}

// TestBothLimits: the headers name the binding limit (the smaller share
// left, or the one that refused) and each refusal names its limit.
func TestBothLimits(t *testing.T) {
	e := startAI(t, `{ requests: 5, tokens: 1000, window: 24h }`, "", "")
	// 4 of 5 requests left (80%) against 1000 - 107 tokens (89%). The
	// mock's answer reports no usage: the estimate is refunded.
	h := e.MustChat(aliceKey, "gpt", short)
	if h.Get("RateLimit-Limit") != "5" || h.Get("RateLimit-Remaining") != "4" {
		t.Errorf("binding limit: %s of %s, want the requests' 4 of 5", h.Get("RateLimit-Remaining"), h.Get("RateLimit-Limit"))
	}
	e.OA.Push(testkit.LLMReply{Text: "ok", Usage: testkit.LLMUsage{Input: 10, Output: 1500}})
	e.MustChat(aliceKey, "gpt", "hi")
	h, err := e.Chat(aliceKey, "gpt", "hi")
	wantRateLimited(t, err, h, "1000", "0")
	if !strings.Contains(apiMessage(err), "token limit of 1000 tokens per 24h") {
		t.Errorf("refusal %v does not name the token limit", err)
	}
	// Bob spends his 5 requests with no tokens to speak of.
	for range 5 {
		e.MustChat(bobKey, "gpt", "hi")
	}
	h, err = e.Chat(bobKey, "gpt", "hi")
	wantRateLimited(t, err, h, "5", "0")
	if !strings.Contains(apiMessage(err), "request limit of 5 requests per 24h") {
		t.Errorf("refusal %v does not name the request limit", err)
	}
}

// TestReloadKeepsBuckets reloads with an unrelated change (buckets kept),
// then with a new limit (fresh buckets).
func TestReloadKeepsBuckets(t *testing.T) {
	e := startAI(t, `{ requests: 2, window: 1h }`, "", "")
	reload := func(plugin string) {
		t.Helper()
		e.Reload(plugin, "plugins:\n  cors: { origins: [\"https://app.example.com\"] }\n")
	}
	e.MustChat(aliceKey, "gpt", "hi")
	reload(`{ requests: 2, window: 1h }`)
	e.MustChat(aliceKey, "gpt", "hi")
	h, err := e.Chat(aliceKey, "gpt", "hi")
	wantRateLimited(t, err, h, "2", "0")
	reload(`{ requests: 3, window: 1h }`)
	for range 3 {
		e.MustChat(aliceKey, "gpt", "hi")
	}
	h, err = e.Chat(aliceKey, "gpt", "hi")
	wantRateLimited(t, err, h, "3", "0")
}
