package llmmock_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	openaiopt "github.com/openai/openai-go/v3/option"

	"github.com/sluicegw/sluice/bench/llmmock"
)

func start(t *testing.T, m *llmmock.Mock) (openai.Client, anthropic.Client) {
	t.Helper()
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return openai.NewClient(openaiopt.WithBaseURL(srv.URL+"/v1/"), openaiopt.WithAPIKey("sk-test"), openaiopt.WithMaxRetries(0)),
		anthropic.NewClient(anthropicopt.WithBaseURL(srv.URL), anthropicopt.WithAPIKey("sk-test"), anthropicopt.WithMaxRetries(0))
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestAnswersDecodeWithOfficialSDKs checks that the canned answers are
// what the official SDKs accept, complete and streamed.
func TestAnswersDecodeWithOfficialSDKs(t *testing.T) {
	for _, flushEach := range []bool{true, false} {
		oa, an := start(t, llmmock.New(llmmock.Config{Chunks: 5, Token: "hi ", FlushEach: flushEach}))
		want := strings.Repeat("hi ", 5)

		resp, err := oa.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{
			Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != want || resp.Choices[0].FinishReason != "stop" || resp.Usage.CompletionTokens != 5 {
			t.Fatalf("openai answer = %+v", resp)
		}

		stream := oa.Chat.Completions.NewStreaming(ctx(t), openai.ChatCompletionNewParams{
			Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
		acc := openai.ChatCompletionAccumulator{}
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if acc.Choices[0].Message.Content != want || acc.Choices[0].FinishReason != "stop" || acc.Usage.TotalTokens != 17 {
			t.Fatalf("openai stream = %+v", acc.ChatCompletion)
		}

		msg, err := an.Messages.New(ctx(t), anthropic.MessageNewParams{
			Model: "claude-sonnet-4-5", MaxTokens: 64, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))}})
		if err != nil {
			t.Fatal(err)
		}
		if msg.Content[0].Text != want || msg.StopReason != "end_turn" || msg.Usage.OutputTokens != 5 {
			t.Fatalf("anthropic answer = %+v", msg)
		}

		as := an.Messages.NewStreaming(ctx(t), anthropic.MessageNewParams{
			Model: "claude-sonnet-4-5", MaxTokens: 64, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))}})
		var m anthropic.Message
		for as.Next() {
			if err := m.Accumulate(as.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := as.Err(); err != nil {
			t.Fatal(err)
		}
		if m.Content[0].Text != want || m.StopReason != "end_turn" || m.Usage.OutputTokens != 5 {
			t.Fatalf("anthropic stream = %+v", m)
		}
	}
}

// TestHoldRelease checks that held streams wait after their first events
// and finish on Release.
func TestHoldRelease(t *testing.T) {
	m := llmmock.New(llmmock.Config{Chunks: 3, FlushEach: true})
	m.Hold(2)
	oa, _ := start(t, m)
	done := make(chan string, 1)
	go func() {
		stream := oa.Chat.Completions.NewStreaming(ctx(t), openai.ChatCompletionNewParams{
			Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")}})
		text := ""
		for stream.Next() {
			if c := stream.Current(); len(c.Choices) > 0 {
				text += c.Choices[0].Delta.Content
			}
		}
		if err := stream.Err(); err != nil {
			text = err.Error()
		}
		done <- text
	}()
	deadline := time.Now().Add(5 * time.Second)
	for m.Held.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the stream was not held")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case text := <-done:
		t.Fatalf("a held stream ended: %q", text)
	case <-time.After(50 * time.Millisecond):
	}
	m.Release()
	if text := <-done; text != strings.Repeat("token ", 3) {
		t.Fatalf("released stream = %q", text)
	}
	if m.Held.Load() != 0 || m.Requests.Load() != 1 {
		t.Fatalf("held %d, requests %d", m.Held.Load(), m.Requests.Load())
	}
}

// TestRejects checks the mock's refusals: another method, another path.
func TestRejects(t *testing.T) {
	srv := httptest.NewServer(llmmock.New(llmmock.Config{}))
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		status       int
	}{{"GET", "/v1/chat/completions", 400}, {"POST", "/v1/embeddings", 404}} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
}
