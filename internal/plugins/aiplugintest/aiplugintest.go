// Package aiplugintest runs gateways for the AI plugins' tests (ai-budget,
// ai-rate-limit): an AI route behind key-auth with the plugin under test,
// a second AI route without it, three consumers, and models on mock OpenAI
// and Anthropic providers, driven with the official SDKs.
package aiplugintest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	openaiopt "github.com/openai/openai-go/v3/option"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// The consumers' keys.
const (
	AliceKey = "sk-alice-test"
	BobKey   = "sk-bob-test"
	CarolKey = "sk-carol-test"
)

// config is a gateway config with AI route "ai" on /v1 behind key-auth
// with plugin NAME configured as PLUGIN, AI route "ai2" on /v2 behind
// key-auth alone, consumers alice, bob (with plugin config BOB of his own
// when not empty) and carol, and models gpt (OpenAI mock) and claude
// (Anthropic mock). OA and AN are the mocks' URLs.
const config = `
routes:
  - name: ai
    match: { paths: ["/v1"] }
    ai: {}
    plugins:
      key-auth: {}
      NAME: PLUGIN
  - name: ai2
    match: { paths: ["/v2"] }
    ai: {}
    plugins:
      key-auth: {}
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

// Env is a gateway node in front of two mock providers.
type Env struct {
	T      *testing.T
	G      *gatewaytest.Gateway
	OA, AN *testkit.MockLLM
	name   string
}

// Start starts a node whose route ai has plugin name configured as cfg
// (none when cfg is "") and, when bob is not "", bob's own config of it.
// Extra YAML is appended (a top-level redis:, say).
func Start(t *testing.T, name, cfg, bob, extra string) *Env {
	t.Helper()
	e := &Env{T: t, OA: testkit.StartMockLLM(t, "openai"), AN: testkit.StartMockLLM(t, "anthropic"), name: name}
	e.G = gatewaytest.Start(t, e.yaml(cfg, bob)+extra)
	return e
}

// Also starts another node on the same mocks, the plugin configured as
// cfg.
func (e *Env) Also(cfg, extra string) *Env {
	return &Env{T: e.T, OA: e.OA, AN: e.AN, name: e.name, G: gatewaytest.Start(e.T, e.yaml(cfg, "")+extra)}
}

func (e *Env) yaml(cfg, bob string) string {
	if bob != "" {
		bob = "    plugins:\n      " + e.name + ": " + bob
	}
	y := config
	if cfg == "" {
		y = strings.Replace(y, "      NAME: PLUGIN\n", "", 1)
	}
	return strings.NewReplacer("NAME", e.name, "PLUGIN", cfg, "BOB", bob, "OA", e.OA.URL, "AN", e.AN.URL).Replace(y)
}

// Reload rewrites the node's config file with the plugin configured as
// cfg, and extra YAML appended, and reloads it.
func (e *Env) Reload(cfg, extra string) {
	e.T.Helper()
	yaml := "server:\n  listen: \"127.0.0.1:0\"\n  admin_listen: \"127.0.0.1:0\"\n" + e.yaml(cfg, "") + extra
	if err := os.WriteFile(e.G.CfgPath, []byte(yaml), 0o600); err != nil {
		e.T.Fatal(err)
	}
	if err := e.G.App.Reload(); err != nil {
		e.T.Fatalf("reload: %v", err)
	}
}

// OpenAI is a client of route ai as key.
func (e *Env) OpenAI(key string) *openai.Client { return e.OpenAIOn("/v1/", key) }

// OpenAIOn is a client of the AI route at path (/v1/ or /v2/).
func (e *Env) OpenAIOn(path, key string) *openai.Client {
	c := openai.NewClient(openaiopt.WithBaseURL(e.G.URL+path), openaiopt.WithAPIKey(key), openaiopt.WithMaxRetries(0))
	return &c
}

// Anthropic is an Anthropic client of route ai as key.
func (e *Env) Anthropic(key string) *anthropic.Client {
	c := anthropic.NewClient(anthropicopt.WithBaseURL(e.G.URL), anthropicopt.WithAPIKey(key), anthropicopt.WithMaxRetries(0))
	return &c
}

// Ctx is a context for one call, ended with the test.
func Ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// Chat sends an OpenAI chat with one user message to route ai as key and
// returns the response headers and the error. After a success it waits
// until the gateway has finished the request (its access log line), so
// the usage is settled before the next request.
func (e *Env) Chat(key, model, prompt string) (http.Header, error) {
	e.T.Helper()
	return e.ChatOn("/v1/", key, model, prompt)
}

// ChatOn is Chat on the AI route at path.
func (e *Env) ChatOn(path, key, model, prompt string) (http.Header, error) {
	e.T.Helper()
	var resp *http.Response
	_, err := e.OpenAIOn(path, key).Chat.Completions.New(Ctx(e.T), openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	}, openaiopt.WithResponseInto(&resp))
	if err != nil {
		var oe *openai.Error
		if !errors.As(err, &oe) {
			e.T.Fatalf("chat: not an API error: %v", err)
		}
		return oe.Response.Header, err
	}
	e.G.LogFor(resp.Header.Get("X-Request-Id"))
	return resp.Header, nil
}

// MustChat is Chat that fails the test on an error.
func (e *Env) MustChat(key, model, prompt string) http.Header {
	e.T.Helper()
	h, err := e.Chat(key, model, prompt)
	if err != nil {
		e.T.Fatalf("chat as %s: %v", key, err)
	}
	return h
}

// RetryAfter returns the Retry-After of h in seconds.
func RetryAfter(t *testing.T, h http.Header) int64 {
	t.Helper()
	n, err := strconv.ParseInt(h.Get("Retry-After"), 10, 64)
	if err != nil {
		t.Fatalf("Retry-After %q: %v", h.Get("Retry-After"), err)
	}
	return n
}
