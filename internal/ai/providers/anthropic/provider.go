package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/config"
)

// DefaultBaseURL is the Anthropic API's root.
const DefaultBaseURL = "https://api.anthropic.com"

// DefaultMaxTokens is sent when the client gave no output bound, since the
// Messages API requires one.
const DefaultMaxTokens = 4096

// Provider is an adapter for one Anthropic account.
type Provider struct {
	base    string
	headers http.Header
	client  *http.Client
}

// New returns the adapter for cfg (type anthropic). base_url, from config
// only, is the API root without /v1.
func New(cfg config.Provider, opts llm.Options) (*Provider, error) {
	p := &Provider{base: strings.TrimRight(cfg.BaseURL, "/"), client: opts.Client}
	if p.base == "" {
		p.base = DefaultBaseURL
	}
	if u, err := url.Parse(p.base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("provider %q: base_url %q is not an http(s) URL", cfg.Name, cfg.BaseURL)
	}
	if p.client == nil {
		p.client = http.DefaultClient
	}
	p.headers = make(http.Header, len(cfg.Headers))
	for k, v := range cfg.Headers {
		p.headers.Set(k, v)
	}
	return p, nil
}

// Chat implements llm.Provider.
func (p *Provider) Chat(ctx context.Context, c *llm.Call) (*llm.Response, error) {
	resp, err := p.send(ctx, c, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := llm.ReadBody(resp, 64<<20)
	if err != nil {
		return nil, llm.TransportError(ctx, err, true)
	}
	var out messageResponse
	if err := decodeAnswer(data, &out); err != nil {
		return nil, llm.Errorf(llm.ClassBadResponse, "anthropic: bad answer: %v", err)
	}
	return decodeResponse(&out), nil
}

// Stream implements llm.Provider.
func (p *Provider) Stream(ctx context.Context, c *llm.Call) (llm.Stream, error) {
	resp, err := p.send(ctx, c, true)
	if err != nil {
		return nil, err
	}
	return newStream(ctx, resp.Body), nil
}

func (p *Provider) send(ctx context.Context, c *llm.Call, stream bool) (*http.Response, error) {
	body, err := encodeRequest(c, stream)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		return nil, llm.Errorf(llm.ClassCaller, "anthropic: %v", err)
	}
	for k, v := range p.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", Version)
	if c.Key != "" {
		req.Header.Set("X-Api-Key", c.Key)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, llm.TransportError(ctx, err, false)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, DecodeError(resp)
	}
	return resp, nil
}

// encodeRequest renders the canonical request as a Messages request:
// system messages hoisted to the top-level system prompt, tool results
// gathered into user turns, consecutive turns of one role merged (the API
// requires alternation).
func encodeRequest(c *llm.Call, stream bool) ([]byte, error) {
	r := c.Request
	thinking := PlanThinking(r)
	maxTokens := r.MaxTokens
	if maxTokens == 0 {
		maxTokens = DefaultMaxTokens // required here
	}
	s := thinking.Constrain(Sampling{MaxTokens: maxTokens, Temperature: r.Temperature, TopP: r.TopP, TopK: r.TopK})
	out := messagesRequest{Model: c.Model, MaxTokens: s.MaxTokens, StopSequences: r.Stop,
		Temperature: s.Temperature, TopP: s.TopP, TopK: s.TopK, Stream: stream}
	if thinking.Type != "" {
		out.Thinking = &thinkingConfig{Type: thinking.Type, BudgetTokens: thinking.Budget}
	}
	if r.User != "" {
		out.Metadata = &metadata{UserID: r.User}
	}
	var system []string
	for i := range r.Messages {
		m := &r.Messages[i]
		switch m.Role {
		case llm.RoleSystem:
			system = append(system, m.Text())
			continue
		case llm.RoleTool:
			tr := block{Type: "tool_result", ToolUseID: m.ToolCallID, IsError: m.IsError}
			var blocks []block
			for _, p := range m.Content {
				if p.Type == llm.PartText && p.Text == "" {
					continue // the API refuses empty text blocks
				}
				blocks = append(blocks, encodePart(p))
			}
			if len(blocks) > 0 {
				tr.Content = &content{IsArray: true, Blocks: blocks}
			}
			appendTurn(&out.Messages, "user", tr)
			continue
		}
		role := "user"
		if m.Role == llm.RoleAssistant {
			role = "assistant"
		}
		var blocks []block
		if m.Role == llm.RoleAssistant {
			// Reasoning first, as the model gave it (a tool-use loop with
			// thinking on needs it back).
			for _, t := range m.Thinking {
				if t.Redacted {
					blocks = append(blocks, block{Type: "redacted_thinking", Data: t.Text})
				} else {
					blocks = append(blocks, block{Type: "thinking", Thinking: t.Text, Signature: t.Signature})
				}
			}
		}
		for _, p := range m.Content {
			if p.Type == llm.PartText && p.Text == "" {
				continue // the API refuses empty text blocks
			}
			blocks = append(blocks, encodePart(p))
		}
		for _, tc := range m.ToolCalls {
			blocks = append(blocks, block{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: toolInput(tc.Arguments)})
		}
		appendTurn(&out.Messages, role, blocks...)
	}
	if len(system) > 0 {
		out.System = &systemPrompt{Text: strings.Join(system, "\n\n")}
	}
	for _, t := range r.Tools {
		schema := t.Parameters
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, tool{Name: t.Name, Description: t.Description, InputSchema: schema, Strict: t.Strict})
	}
	if tc := r.ToolChoice; tc != nil || r.ParallelToolCalls != nil {
		choice := &toolChoice{Type: "auto"}
		if tc != nil {
			switch tc.Mode {
			case llm.ToolRequired:
				choice.Type = "any"
			case llm.ToolNone:
				choice.Type = "none"
			case llm.ToolNamed:
				choice.Type, choice.Name = "tool", tc.Name
			}
		}
		if r.ParallelToolCalls != nil && choice.Type != "none" {
			disable := !*r.ParallelToolCalls
			choice.DisableParallelToolUse = &disable
		}
		if len(out.Tools) > 0 {
			out.ToolChoice = choice
		}
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case llm.FormatJSONSchema:
			out.OutputConfig = &outputConfig{Format: &outputFormat{Type: "json_schema", Schema: rf.Schema}}
		case llm.FormatJSONObject:
			out.OutputConfig = &outputConfig{Format: &outputFormat{Type: "json_schema", Schema: json.RawMessage(`{"type":"object","additionalProperties":true}`)}}
		}
	}
	if thinking.Effort != "" {
		if out.OutputConfig == nil {
			out.OutputConfig = &outputConfig{}
		}
		out.OutputConfig.Effort = thinking.Effort
	}
	if len(out.Messages) == 0 {
		return nil, &llm.ProviderError{Class: llm.ClassCaller, Message: "at least one user or assistant message is required"}
	}
	return json.Marshal(out)
}

// appendTurn adds blocks to the last turn when it has the same role, else
// starts a new turn.
func appendTurn(msgs *[]message, role string, blocks ...block) {
	if len(blocks) == 0 {
		return
	}
	if n := len(*msgs); n > 0 && (*msgs)[n-1].Role == role {
		last := &(*msgs)[n-1]
		last.Content.Blocks = append(last.Content.Blocks, blocks...)
		return
	}
	*msgs = append(*msgs, message{Role: role, Content: content{IsArray: true, Blocks: blocks}})
}

func encodePart(p llm.Part) block {
	if p.Type == llm.PartImage {
		if p.Image.Data != "" {
			return block{Type: "image", Source: &imageSource{Type: "base64", MediaType: p.Image.MediaType, Data: p.Image.Data}}
		}
		return block{Type: "image", Source: &imageSource{Type: "url", URL: p.Image.URL}}
	}
	return block{Type: "text", Text: p.Text}
}

func decodeResponse(in *messageResponse) *llm.Response {
	out := &llm.Response{ID: in.ID, Model: in.Model, Usage: decodeUsage(&in.Usage)}
	for _, b := range in.Content {
		switch b.Type {
		case "text":
			out.Text += b.Text
		case "thinking":
			out.Thinking = append(out.Thinking, llm.Thinking{Text: b.Thinking, Signature: b.Signature})
		case "redacted_thinking":
			out.Thinking = append(out.Thinking, llm.Thinking{Text: b.Data, Redacted: true})
		case "tool_use":
			args := string(b.Input)
			if args == "" {
				args = "{}"
			}
			out.ToolCalls = append(out.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		}
	}
	if in.StopReason != nil {
		out.FinishReason = decodeStop(*in.StopReason)
	}
	return out
}

func decodeStop(s string) llm.FinishReason {
	switch s {
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "refusal":
		return llm.FinishContentFilter
	}
	return llm.FinishStop
}

// decodeUsage gives canonical usage, whose Input counts cache reads and
// writes too.
func decodeUsage(u *usage) llm.Usage {
	out := llm.Usage{Input: u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens, CachedInput: u.CacheReadInputTokens,
		CacheWrite: u.CacheCreationInputTokens, Output: u.OutputTokens}
	if u.OutputTokensDetails != nil {
		out.Reasoning = u.OutputTokensDetails.ThinkingTokens
	}
	return out
}

// DecodeError turns an error response into a classified *llm.ProviderError.
func DecodeError(resp *http.Response) *llm.ProviderError {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &llm.ProviderError{Status: resp.StatusCode, Class: llm.ClassifyStatus(resp.StatusCode), RetryAfter: llm.RetryAfter(resp.Header)}
	var env errorEnvelope
	if json.Unmarshal(raw, &env) == nil && env.Error != nil {
		e.Type, e.Message = env.Error.Type, env.Error.Message
	}
	e.Class = classify(e)
	return e
}

func classify(e *llm.ProviderError) llm.Class {
	switch e.Type {
	case "overloaded_error", "api_error":
		return llm.ClassOverloaded
	case "rate_limit_error":
		return llm.ClassRateLimit
	case "authentication_error", "permission_error":
		return llm.ClassAuth
	case "request_too_large":
		return llm.ClassContextWindow
	case "timeout_error":
		return llm.ClassTimeout
	}
	if e.Class == llm.ClassCaller {
		m := strings.ToLower(e.Message)
		if strings.Contains(m, "prompt is too long") || strings.Contains(m, "context window") || strings.Contains(m, "context length") ||
			strings.Contains(m, "context limit") {
			return llm.ClassContextWindow
		}
	}
	return e.Class
}
