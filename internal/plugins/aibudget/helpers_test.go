package aibudget_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/sluicegw/sluice/internal/plugins/aiplugintest"
)

// The consumers' keys.
const (
	aliceKey = aiplugintest.AliceKey
	bobKey   = aiplugintest.BobKey
	carolKey = aiplugintest.CarolKey
)

// startAI starts a node with the given ai-budget config (none when "") and,
// when bob is not "", bob's own. Extra YAML is appended (a top-level
// redis:).
func startAI(t *testing.T, plugin, bob, extra string) *aiplugintest.Env {
	t.Helper()
	return aiplugintest.Start(t, "ai-budget", plugin, bob, extra)
}

var (
	ctx        = aiplugintest.Ctx
	retryAfter = aiplugintest.RetryAfter
)

// wantBudgetExceeded checks that err is the OpenAI SDK's typed 429 with
// code budget_exceeded and returns its message.
func wantBudgetExceeded(t *testing.T, err error, h http.Header) string {
	t.Helper()
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 429 || oe.Code != "budget_exceeded" || oe.Type != "rate_limit_error" {
		t.Fatalf("want a 429 budget_exceeded API error, got %v", err)
	}
	if h.Get("Sluice-Error") != "budget_exceeded" {
		t.Errorf("Sluice-Error %q", h.Get("Sluice-Error"))
	}
	return oe.Message
}
