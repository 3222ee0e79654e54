package airatelimit_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/plugins/aiplugintest"
)

// The consumers' keys.
const (
	aliceKey = aiplugintest.AliceKey
	bobKey   = aiplugintest.BobKey
	carolKey = aiplugintest.CarolKey
)

// startAI starts a node with the given ai-rate-limit config (none when "") and,
// when bob is not "", bob's own. Extra YAML is appended (a top-level
// redis:).
func startAI(t *testing.T, plugin, bob, extra string) *aiplugintest.Env {
	t.Helper()
	return aiplugintest.Start(t, "ai-rate-limit", plugin, bob, extra)
}

var (
	ctx        = aiplugintest.Ctx
	retryAfter = aiplugintest.RetryAfter
)

// estimate is the gateway's input estimate of a one-message prompt.
func estimate(prompt string) int64 {
	return llm.EstimateInput(&llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: prompt}}}}})
}

// wantRateLimited checks that err is the OpenAI SDK's typed 429 with code
// rate_limited, and the headers of the refusal.
func wantRateLimited(t *testing.T, err error, h http.Header, limit, remaining string) {
	t.Helper()
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 429 || oe.Code != "rate_limited" || oe.Type != "rate_limit_error" {
		t.Fatalf("want a 429 rate_limited API error, got %v", err)
	}
	if h.Get("Sluice-Error") != "rate_limited" || h.Get("RateLimit-Limit") != limit || h.Get("RateLimit-Remaining") != remaining {
		t.Errorf("refusal headers: Sluice-Error %q RateLimit-Limit %q RateLimit-Remaining %q; want rate_limited %s %s",
			h.Get("Sluice-Error"), h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"), limit, remaining)
	}
}

// near reports whether got is within [want-slack, want].
func near(got, want, slack int64) bool { return got <= want && got >= want-slack }

// apiMessage returns the message of an OpenAI SDK error.
func apiMessage(err error) string {
	var oe *openai.Error
	if errors.As(err, &oe) {
		return oe.Message
	}
	return ""
}
