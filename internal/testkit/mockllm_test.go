package testkit

import (
	"context"
	"errors"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	openaiopt "github.com/openai/openai-go/v3/option"
)

// The mock providers' replies decode with the official SDKs: a mock that
// drifts from the real wire format fails here, not in a gateway test.

func TestMockOpenAIDecodesWithSDK(t *testing.T) {
	m := StartMockLLM(t, "openai")
	c := openai.NewClient(openaiopt.WithBaseURL(m.URL+"/v1/"), openaiopt.WithAPIKey("k"), openaiopt.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	params := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}}

	m.Push(LLMReply{Text: "done", Usage: LLMUsage{Input: 5, Output: 2, Cached: 1, Reasoning: 1}})
	r, err := c.Chat.Completions.New(ctx, params)
	if err != nil || r.Choices[0].Message.Content != "done" || r.Usage.PromptTokensDetails.CachedTokens != 1 || r.Usage.CompletionTokensDetails.ReasoningTokens != 1 {
		t.Fatalf("completion = %+v, %v", r, err)
	}

	m.Push(LLMReply{Text: "ab", ToolCalls: []LLMToolCall{{ID: "c1", Name: "f", Args: `{"x":1}`, ArgChunk: 2}, {ID: "c2", Name: "g", Args: `{}`}},
		Usage: LLMUsage{Input: 3, Output: 7}})
	s := c.Chat.Completions.NewStreaming(ctx, params)
	acc := openai.ChatCompletionAccumulator{}
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	tc := acc.Choices[0].Message.ToolCalls
	if acc.Choices[0].Message.Content != "ab" || len(tc) != 2 || tc[0].Function.Arguments != `{"x":1}` || tc[1].Function.Name != "g" ||
		acc.Usage.CompletionTokens != 7 || acc.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("stream = %+v", acc.ChatCompletion)
	}

	m.Push(LLMReply{Status: 429, ErrType: "rate_limit_exceeded", ErrMessage: "slow down"})
	_, err = c.Chat.Completions.New(ctx, params)
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 429 || oe.Code != "rate_limit_exceeded" || oe.Message != "slow down" {
		t.Fatalf("error = %v", err)
	}

	m.Push(LLMReply{Text: "x", StreamError: "boom"})
	s = c.Chat.Completions.NewStreaming(ctx, params)
	for s.Next() {
	}
	if s.Err() == nil {
		t.Fatal("an in-stream error did not reach the SDK")
	}
}

func TestMockAnthropicDecodesWithSDK(t *testing.T) {
	m := StartMockLLM(t, "anthropic")
	c := anthropic.NewClient(anthropicopt.WithBaseURL(m.URL), anthropicopt.WithAPIKey("k"), anthropicopt.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}

	m.Push(LLMReply{Text: "done", Usage: LLMUsage{Input: 10, Cached: 4, Output: 2}})
	msg, err := c.Messages.New(ctx, params)
	if err != nil || msg.Content[0].Text != "done" || msg.Usage.InputTokens != 6 || msg.Usage.CacheReadInputTokens != 4 || msg.StopReason != anthropic.StopReasonEndTurn {
		t.Fatalf("message = %+v, %v", msg, err)
	}

	m.Push(LLMReply{Text: "ab", ToolCalls: []LLMToolCall{{ID: "t1", Name: "f", Args: `{"x":1}`, ArgChunk: 2}}, Usage: LLMUsage{Input: 3, Output: 7}})
	s := c.Messages.NewStreaming(ctx, params)
	var acc anthropic.Message
	for s.Next() {
		if err := acc.Accumulate(s.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Content) != 2 || acc.Content[0].Text != "ab" || string(acc.Content[1].Input) != `{"x":1}` || acc.Usage.OutputTokens != 7 || acc.StopReason != anthropic.StopReasonToolUse {
		t.Fatalf("stream = %+v", acc)
	}

	m.Push(LLMReply{Status: 529, ErrType: "overloaded_error", ErrMessage: "Overloaded"})
	_, err = c.Messages.New(ctx, params)
	var ae *anthropic.Error
	if !errors.As(err, &ae) || ae.StatusCode != 529 {
		t.Fatalf("error = %v", err)
	}

	m.Push(LLMReply{Text: "x", StreamError: "boom"})
	s = c.Messages.NewStreaming(ctx, params)
	for s.Next() {
	}
	if !errors.As(s.Err(), &ae) {
		t.Fatalf("in-stream error = %v", s.Err())
	}
}
