package ai_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	openaiopt "github.com/openai/openai-go/v3/option"

	"github.com/sluicegw/sluice/internal/testkit"
)

func hello() []openai.ChatCompletionMessageParamUnion {
	return []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}
}

// attemptsOf returns the access log's attempts of a request as
// "target code" strings.
func attemptsOf(t *testing.T, e *aiEnv, resp *http.Response) []string {
	t.Helper()
	line := e.g.LogFor(resp.Header.Get("X-Request-Id"))
	var out []string
	as, _ := line["attempts"].([]any)
	for _, a := range as {
		m := a.(map[string]any)
		out = append(out, fmt.Sprint(m["target"], " ", m["code"]))
	}
	return out
}

// TestAIKeyPoolRotatesOn429 checks that a 429 cools the key down and the
// next key answers at once, and that the cooled key is skipped afterwards.
func TestAIKeyPoolRotatesOn429(t *testing.T) {
	pool := testkit.StartMockLLM(t, "openai")
	e2 := startAI(t, fmt.Sprintf("    - { name: pool, type: openai, base_url: %q, api_keys: [k1, k2] }", pool.URL+"/v1"),
		"    - { name: pooled, targets: [{ provider: pool, model: m }] }", "")
	// Whichever key goes first gets a 429 with Retry-After 120s.
	pool.Push(testkit.LLMReply{Status: 429, Header: map[string]string{"Retry-After": "120"}, ErrType: "rate_limit_exceeded", ErrMessage: "slow down"},
		testkit.LLMReply{Text: "from the second key"})
	var resp *http.Response
	out, err := e2.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "pooled", Messages: hello()}, openaiopt.WithResponseInto(&resp))
	if err != nil || out.Choices[0].Message.Content != "from the second key" {
		t.Fatalf("answer = %v, %v", out, err)
	}
	reqs := pool.Requests()
	first, second := reqs[0].Header.Get("Authorization"), reqs[1].Header.Get("Authorization")
	if first == second {
		t.Fatalf("the same key was used twice: %s", first)
	}
	if got := attemptsOf(t, e2, resp); len(got) != 2 || got[0] != "pool/m provider_rate_limited" || got[1] != "pool/m <nil>" {
		t.Fatalf("attempts = %v", got)
	}
	// The cooled key is not used for the next requests.
	for i := 0; i < 4; i++ {
		if _, err := e2.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "pooled", Messages: hello()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range pool.Requests()[2:] {
		if r.Header.Get("Authorization") == first {
			t.Fatalf("a cooling key was used: %s", first)
		}
	}
}

// TestAIFallbackChain checks retries on a failing target, then the
// fallback model, and all_providers_failed with the chain of codes.
func TestAIFallbackChain(t *testing.T) {
	e := startAI(t, "",
		"    - { name: primary, targets: [{ provider: oa, model: big }], fallbacks: [claude] }", "  retries: 1")
	e.oa.Push(testkit.LLMReply{Status: 503, ErrType: "server_error", ErrMessage: "overloaded"},
		testkit.LLMReply{Status: 500, ErrType: "server_error", ErrMessage: "boom"})
	e.an.Push(testkit.LLMReply{Text: "fallback answer"})
	var resp *http.Response
	out, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "primary", Messages: hello()}, openaiopt.WithResponseInto(&resp))
	if err != nil || out.Choices[0].Message.Content != "fallback answer" || out.Model != "primary" {
		t.Fatalf("answer = %+v, %v", out, err)
	}
	if resp.Header.Get("Sluice-Provider") != "an/claude-sonnet-4-5" {
		t.Fatalf("served by %q", resp.Header.Get("Sluice-Provider"))
	}
	want := []string{"oa/big provider_overloaded", "oa/big provider_overloaded", "an/claude-sonnet-4-5 <nil>"}
	if got := attemptsOf(t, e, resp); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("attempts = %v, want %v", got, want)
	}

	// A context-window failure skips straight to the fallback (no retry).
	e.oa.Push(testkit.LLMReply{Status: 400, ErrType: "context_length_exceeded", ErrMessage: "This model's maximum context length is 8192 tokens"})
	e.an.Push(testkit.LLMReply{Text: "bigger window"})
	out, err = e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "primary", Messages: hello()}, openaiopt.WithResponseInto(&resp))
	if err != nil || out.Choices[0].Message.Content != "bigger window" {
		t.Fatalf("context window fallback = %v, %v", out, err)
	}

	// Everything fails: 502 all_providers_failed listing the codes.
	e.oa.Push(testkit.LLMReply{Status: 503}, testkit.LLMReply{Status: 503})
	e.an.Push(testkit.LLMReply{Status: 529, ErrType: "overloaded_error", ErrMessage: "Overloaded"}, testkit.LLMReply{Status: 529, ErrType: "overloaded_error", ErrMessage: "Overloaded"})
	_, err = e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "primary", Messages: hello()})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 502 || oe.Code != "all_providers_failed" ||
		!strings.Contains(oe.Message, "provider_overloaded, provider_overloaded, provider_overloaded, provider_overloaded") {
		t.Fatalf("all failed: %v", err)
	}
	if strings.Contains(oe.Message, "127.0.0.1") {
		t.Fatalf("the public error names an address: %s", oe.Message)
	}
	line := e.g.LogFor(oe.Response.Header.Get("X-Request-Id"))
	if line["code"] != "all_providers_failed" || len(line["attempts"].([]any)) != 4 {
		t.Fatalf("log = %v", line)
	}
}

// TestAIRetryAfterHonoured checks that a 503 with a short Retry-After is
// retried after that pause on the same target.
func TestAIRetryAfterHonoured(t *testing.T) {
	e := startAI(t, "", "", "")
	e.oa.Push(testkit.LLMReply{Status: 503, Header: map[string]string{"Retry-After": "1"}}, testkit.LLMReply{Text: "after the pause"})
	start := time.Now()
	out, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "gpt", Messages: hello()})
	if err != nil || out.Choices[0].Message.Content != "after the pause" {
		t.Fatalf("answer = %v, %v", out, err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("retried after %v, before Retry-After", d)
	}
}

// TestAIStreamBrokenMidway checks that a provider cutting a stream (or
// sending an error in it) gives the client a terminal error event, which
// the SDKs raise, never a clean end; and the log says so.
// transports runs f with the mock providers over cleartext HTTP/1.1
// (h1client: the relay reads on the request's goroutine) and over TLS
// with HTTP/2 (net/http: the relay uses a reader goroutine).
func transports(t *testing.T, f func(t *testing.T, overTLS bool)) {
	t.Run("cleartext", func(t *testing.T) { f(t, false) })
	t.Run("tls", func(t *testing.T) { f(t, true) })
}

func TestAIStreamBrokenMidway(t *testing.T) { transports(t, testAIStreamBrokenMidway) }

func testAIStreamBrokenMidway(t *testing.T, overTLS bool) {
	e := startAIOver(t, overTLS, "", "", "")
	for _, tc := range []struct {
		name  string
		reply testkit.LLMReply
	}{
		{"cut", testkit.LLMReply{Text: "a long answer that never ends", Chunks: 6, CutAfter: 3}},
		{"error event", testkit.LLMReply{Text: "partial", StreamError: "the model crashed"}},
	} {
		t.Run("openai client/"+tc.name, func(t *testing.T) {
			e.an.Push(tc.reply)
			stream := e.openai.Chat.Completions.NewStreaming(ctx(t), openai.ChatCompletionNewParams{Model: "claude", Messages: hello()})
			n := 0
			for stream.Next() {
				n++
			}
			if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "provider_stream_broken") {
				t.Fatalf("stream error = %v after %d chunks", err, n)
			}
		})
		t.Run("anthropic client/"+tc.name, func(t *testing.T) {
			e.oa.Push(tc.reply)
			stream := e.anthropic.Messages.NewStreaming(ctx(t), anthropic.MessageNewParams{Model: "gpt", MaxTokens: 10,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
			var msg anthropic.Message
			for stream.Next() {
				msg.Accumulate(stream.Current())
			}
			var ae *anthropic.Error
			if err := stream.Err(); !errors.As(err, &ae) || !strings.Contains(ae.RawJSON(), "mid-stream") {
				t.Fatalf("stream error = %v", err)
			}
		})
	}
	// Lines are written once each handler returns, just after its client
	// got the error event.
	broken := 0
	for deadline := time.Now().Add(5 * time.Second); broken < 4 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		broken = 0
		for _, l := range e.g.AccessLog() {
			if l["code"] == "provider_stream_broken" {
				broken++
				if ai := l["ai"].(map[string]any); ai["partial"] != true {
					t.Fatalf("a broken stream is not marked partial: %v", l)
				}
			}
		}
	}
	if broken != 4 {
		t.Fatalf("%d broken streams logged, want 4", broken)
	}
}

// TestAIStreamKeepaliveAndNoBuffering checks that events reach the client
// as the provider sends them, and that a quiet stream gets keepalives.
func TestAIStreamKeepaliveAndNoBuffering(t *testing.T) {
	transports(t, testAIStreamKeepaliveAndNoBuffering)
}

func testAIStreamKeepaliveAndNoBuffering(t *testing.T, overTLS bool) {
	e := startAIOver(t, overTLS, "", "", "  keepalive: 1s")
	e.oa.Push(testkit.LLMReply{Text: "slow words here", Chunks: 3, ChunkDelay: 1500 * time.Millisecond})
	conn, err := net.Dial("tcp", e.g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", aiKey, len(body), body)
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	start := time.Now()
	var firstText, keepalive time.Duration
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if strings.Contains(line, `"content":"slow `) && firstText == 0 {
			firstText = time.Since(start)
		}
		if strings.HasPrefix(line, ": keepalive") && keepalive == 0 {
			keepalive = time.Since(start)
		}
		if strings.HasPrefix(line, "data: [DONE]") {
			break
		}
	}
	// The first word arrives long before the whole answer (3 s of delays).
	if firstText == 0 || firstText > 2500*time.Millisecond {
		t.Fatalf("first text after %v: the stream was buffered", firstText)
	}
	if keepalive == 0 {
		t.Fatal("no keepalive on a stream quiet for 1.5 s with keepalive 1s")
	}
}

// TestAIClientDisconnectCancelsProvider checks that a client going away
// mid-stream cancels the provider request at once.
func TestAIClientDisconnectCancelsProvider(t *testing.T) {
	transports(t, testAIClientDisconnectCancelsProvider)
}

func testAIClientDisconnectCancelsProvider(t *testing.T, overTLS bool) {
	e := startAIOver(t, overTLS, "", "", "")
	e.oa.Push(testkit.LLMReply{Text: "a b c d e f g h i j", Chunks: 10, ChunkDelay: 500 * time.Millisecond})
	c, cancel := context.WithCancel(context.Background())
	stream := e.openai.Chat.Completions.NewStreaming(c, openai.ChatCompletionNewParams{Model: "gpt", Messages: hello()})
	if !stream.Next() {
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	cancel()
	stream.Close()
	// The gateway logs client_closed with partial usage well before the
	// provider's 5 s answer would have ended.
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range e.g.AccessLog() {
			if l["code"] == "client_closed" {
				if ai := l["ai"].(map[string]any); ai["partial"] != true {
					t.Fatalf("not partial: %v", l)
				}
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no client_closed in the log: %v", e.g.AccessLog())
}

// TestAIStreamIdleTimeout checks that a provider going quiet mid-stream
// for longer than ai.stream_idle_timeout ends the stream with a terminal
// error (keepalives to the client do not count as the provider's
// events), logged as the provider's timeout.
func TestAIStreamIdleTimeout(t *testing.T) { transports(t, testAIStreamIdleTimeout) }

func testAIStreamIdleTimeout(t *testing.T, overTLS bool) {
	e := startAIOver(t, overTLS, "", "", "  stream_idle_timeout: 2s\n  keepalive: 1s")
	e.oa.Push(testkit.LLMReply{Text: "a b c d", Chunks: 4, StallAfter: 2})
	start := time.Now()
	stream := e.openai.Chat.Completions.NewStreaming(ctx(t), openai.ChatCompletionNewParams{Model: "gpt", Messages: hello()})
	n := 0
	for stream.Next() {
		n++
	}
	elapsed := time.Since(start)
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "provider_stream_broken") {
		t.Fatalf("stream error = %v after %d chunks", err, n)
	}
	if n == 0 || elapsed < 2*time.Second || elapsed > 15*time.Second {
		t.Fatalf("%d chunks, ended after %v; want some chunks, then the end after the 2s idle limit", n, elapsed)
	}
	// The line is written once the handler returns, just after the client
	// got the error event.
	var line map[string]any
	for deadline := time.Now().Add(5 * time.Second); line == nil && time.Now().Before(deadline); {
		for _, l := range e.g.AccessLog() {
			if l["code"] == "provider_stream_broken" {
				line = l
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if line == nil {
		t.Fatalf("no provider_stream_broken in the log: %v", e.g.AccessLog())
	}
	as, _ := line["attempts"].([]any)
	last, _ := as[len(as)-1].(map[string]any)
	if last["code"] != "provider_timeout" || !strings.Contains(fmt.Sprint(last["error"]), "mid-stream") {
		t.Fatalf("last attempt %v, want a mid-stream provider_timeout", last)
	}
}
