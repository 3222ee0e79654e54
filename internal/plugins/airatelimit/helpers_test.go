package airatelimit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	openaiopt "github.com/openai/openai-go/v3/option"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// Consumer keys of the test config.
const (
	aliceKey = "sk-alice-test"
	bobKey   = "sk-bob-test"
	carolKey = "sk-carol-test"
)

// aiConfig is a gateway config with AI route "ai" on /v1 behind key-auth,
// whose ai-rate-limit config is PLUGIN, consumers alice, bob (with his own
// config BOB when not empty) and carol, and models gpt (OpenAI mock) and
// claude (Anthropic mock). OA and AN are the mocks' URLs.
const aiConfig = `
routes:
  - name: ai
    match: { paths: ["/v1"] }
    ai: {}
    plugins:
      key-auth: {}
      ai-rate-limit: PLUGIN
consumers:
  - name: alice
    credentials: [{ type: key-auth, key: "sk-alice-test" }]
  - name: bob
    credentials: [{ type: key-auth, key: "sk-bob-test" }]
BOB
  - name: carol
    credentials: [{ type: key-auth, key: "sk-carol-test" }]
ai:
  providers:
    - { name: oa, type: openai, base_url: "OA/v1", api_keys: ["sk-oa-1"] }
    - { name: an, type: anthropic, base_url: "AN", api_keys: ["sk-an-1"] }
  models:
    - { name: gpt, targets: [{ provider: oa, model: gpt-4o }] }
    - { name: claude, targets: [{ provider: an, model: claude-sonnet-4-5 }] }
  prices:
    "oa/gpt-4o": { input: 2.5, output: 10 }
    "an/claude-sonnet-4-5": { input: 3, output: 15 }
`

// aiEnv is a gateway node in front of two mock providers.
type aiEnv struct {
	t      *testing.T
	g      *gatewaytest.Gateway
	oa, an *testkit.MockLLM
}

// startAI starts a node with the given ai-rate-limit config and, when bob
// is not "", bob's own. Extra YAML is appended (a top-level redis:).
func startAI(t *testing.T, plugin, bob, extra string) *aiEnv {
	t.Helper()
	e := &aiEnv{t: t, oa: testkit.StartMockLLM(t, "openai"), an: testkit.StartMockLLM(t, "anthropic")}
	e.g = gatewaytest.Start(t, e.yaml(plugin, bob)+extra)
	return e
}

// yaml renders aiConfig for this env's mocks.
func (e *aiEnv) yaml(plugin, bob string) string {
	if bob != "" {
		bob = "    plugins:\n      ai-rate-limit: " + bob
	}
	return strings.NewReplacer("PLUGIN", plugin, "BOB", bob, "OA", e.oa.URL, "AN", e.an.URL).Replace(aiConfig)
}

// also starts another node on the same config against the same mocks.
func (e *aiEnv) also(plugin, extra string) *aiEnv {
	return &aiEnv{t: e.t, oa: e.oa, an: e.an, g: gatewaytest.Start(e.t, e.yaml(plugin, "")+extra)}
}

func (e *aiEnv) openai(key string) *openai.Client {
	c := openai.NewClient(openaiopt.WithBaseURL(e.g.URL+"/v1/"), openaiopt.WithAPIKey(key), openaiopt.WithMaxRetries(0))
	return &c
}

func (e *aiEnv) anthropic(key string) *anthropic.Client {
	c := anthropic.NewClient(anthropicopt.WithBaseURL(e.g.URL), anthropicopt.WithAPIKey(key), anthropicopt.WithMaxRetries(0))
	return &c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// estimate is the gateway's input estimate of a one-message prompt.
func estimate(prompt string) int64 {
	return llm.EstimateInput(&llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: prompt}}}}})
}

// chat sends an OpenAI chat with one user message as key and returns the
// response headers and the error. After a success it waits until the
// gateway has finished the request (its access log line), so the usage is
// settled before the next request.
func (e *aiEnv) chat(key, model, prompt string) (http.Header, error) {
	e.t.Helper()
	var resp *http.Response
	_, err := e.openai(key).Chat.Completions.New(ctx(e.t), openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	}, openaiopt.WithResponseInto(&resp))
	if err != nil {
		var oe *openai.Error
		if !errors.As(err, &oe) {
			e.t.Fatalf("chat: not an API error: %v", err)
		}
		return oe.Response.Header, err
	}
	e.g.LogFor(resp.Header.Get("X-Request-Id"))
	return resp.Header, nil
}

// mustChat is chat that fails the test on an error.
func (e *aiEnv) mustChat(key, model, prompt string) http.Header {
	e.t.Helper()
	h, err := e.chat(key, model, prompt)
	if err != nil {
		e.t.Fatalf("chat as %s: %v", key, err)
	}
	return h
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

// retryAfter returns the Retry-After of h in seconds.
func retryAfter(t *testing.T, h http.Header) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(h.Get("Retry-After"), &n); err != nil {
		t.Fatalf("Retry-After %q: %v", h.Get("Retry-After"), err)
	}
	return n
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
