package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// CallerError is a request the gateway refuses before any provider sees
// it; Message is safe to show the client.
type CallerError struct{ Message string }

func (e *CallerError) Error() string { return e.Message }

func callerErrorf(format string, args ...any) *CallerError {
	return &CallerError{Message: fmt.Sprintf(format, args...)}
}

// DecodeMessages decodes a Messages request body into the canonical form.
// Errors are *CallerError.
func DecodeMessages(body []byte) (*llm.Request, error) {
	var in messagesRequest
	if err := decodeRequest(body, &in); err != nil {
		return nil, err
	}
	switch {
	case in.Model == "":
		return nil, callerErrorf("model: Field required")
	case in.MaxTokens <= 0:
		return nil, callerErrorf("max_tokens: Field required (a positive integer)")
	case len(in.Messages) == 0:
		return nil, callerErrorf("messages: at least one message is required")
	}
	r := &llm.Request{
		Model: in.Model, MaxTokens: in.MaxTokens, Stop: in.StopSequences,
		Temperature: in.Temperature, TopP: in.TopP, TopK: in.TopK, Stream: in.Stream,
		StreamUsage: true, // usage is part of every Messages stream
	}
	if in.Metadata != nil {
		r.User = in.Metadata.UserID
	}
	if s := in.System; s != nil {
		text := s.Text
		for _, b := range s.Blocks {
			if b.Type != "text" {
				return nil, callerErrorf("system: only text blocks are supported")
			}
			if text != "" {
				text += "\n\n"
			}
			text += b.Text
		}
		if text != "" {
			r.Messages = append(r.Messages, llm.Message{Role: llm.RoleSystem, Content: []llm.Part{{Type: llm.PartText, Text: text}}})
		}
	}
	turns := 0
	for i := range in.Messages {
		msgs, err := decodeMessage(&in.Messages[i], i)
		if err != nil {
			return nil, err
		}
		r.Messages = append(r.Messages, msgs...)
		turns += len(msgs)
	}
	if turns == 0 {
		return nil, callerErrorf("messages: at least one message needs content")
	}
	for i, t := range in.Tools {
		if t.Type != "" && t.Type != "custom" {
			return nil, callerErrorf("tools.%d: server tool %q is not supported", i, t.Type)
		}
		if t.Name == "" {
			return nil, callerErrorf("tools.%d.name: Field required", i)
		}
		r.Tools = append(r.Tools, llm.Tool{Name: t.Name, Description: t.Description, Parameters: t.InputSchema, Strict: t.Strict})
	}
	if tc := in.ToolChoice; tc != nil {
		switch tc.Type {
		case "auto":
			r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolAuto}
		case "any":
			r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolRequired}
		case "none":
			r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolNone}
		case "tool":
			if tc.Name == "" {
				return nil, callerErrorf("tool_choice.name: Field required")
			}
			r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolNamed, Name: tc.Name}
		default:
			return nil, callerErrorf("tool_choice.type: %q is not valid", tc.Type)
		}
		if tc.DisableParallelToolUse != nil {
			parallel := !*tc.DisableParallelToolUse
			r.ParallelToolCalls = &parallel
		}
	}
	reasoning, err := decodeThinking(in.Thinking, in.OutputConfig)
	if err != nil {
		return nil, err
	}
	r.Reasoning = reasoning
	if oc := in.OutputConfig; oc != nil && oc.Format != nil {
		if oc.Format.Type != "json_schema" {
			return nil, callerErrorf("output_config.format.type: %q is not valid", oc.Format.Type)
		}
		r.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: oc.Format.Schema, Strict: true}
	}
	return r, nil
}

// decodeMessage turns one Messages turn into canonical messages: a user
// turn's tool_result blocks become tool messages (first, as Anthropic
// requires them first), its other blocks one user message.
func decodeMessage(in *message, i int) ([]llm.Message, error) {
	var role llm.Role
	switch in.Role {
	case "user":
		role = llm.RoleUser
	case "assistant":
		role = llm.RoleAssistant
	default:
		return nil, callerErrorf("messages.%d.role: %q is not valid (user or assistant)", i, in.Role)
	}
	if !in.Content.IsArray {
		return []llm.Message{{Role: role, Content: []llm.Part{{Type: llm.PartText, Text: in.Content.Text}}}}, nil
	}
	var out []llm.Message
	m := llm.Message{Role: role}
	for j := range in.Content.Blocks {
		b := &in.Content.Blocks[j]
		switch b.Type {
		case "text":
			m.Content = append(m.Content, llm.Part{Type: llm.PartText, Text: b.Text})
		case "image":
			im, err := decodeImage(b.Source)
			if err != nil {
				return nil, callerErrorf("messages.%d.content.%d.source: %v", i, j, err)
			}
			m.Content = append(m.Content, llm.Part{Type: llm.PartImage, Image: im})
		case "tool_use":
			if role != llm.RoleAssistant {
				return nil, callerErrorf("messages.%d.content.%d: tool_use blocks belong to assistant turns", i, j)
			}
			if b.ID == "" || b.Name == "" {
				return nil, callerErrorf("messages.%d.content.%d: a tool_use block needs an id and a name", i, j)
			}
			args := strings.TrimSpace(string(b.Input))
			switch {
			case args == "" || args == "null":
				args = "{}"
			case args[0] != '{':
				return nil, callerErrorf("messages.%d.content.%d.input: Input should be an object", i, j)
			}
			m.ToolCalls = append(m.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		case "tool_result":
			if role != llm.RoleUser {
				return nil, callerErrorf("messages.%d.content.%d: tool_result blocks belong to user turns", i, j)
			}
			if b.ToolUseID == "" {
				return nil, callerErrorf("messages.%d.content.%d.tool_use_id: Field required", i, j)
			}
			t := llm.Message{Role: llm.RoleTool, ToolCallID: b.ToolUseID, IsError: b.IsError}
			if c := b.Content; c != nil {
				if !c.IsArray {
					t.Content = []llm.Part{{Type: llm.PartText, Text: c.Text}}
				}
				for k := range c.Blocks {
					switch cb := &c.Blocks[k]; cb.Type {
					case "text":
						t.Content = append(t.Content, llm.Part{Type: llm.PartText, Text: cb.Text})
					case "image":
						im, err := decodeImage(cb.Source)
						if err != nil {
							return nil, callerErrorf("messages.%d.content.%d.content.%d.source: %v", i, j, k, err)
						}
						t.Content = append(t.Content, llm.Part{Type: llm.PartImage, Image: im})
					}
				}
			}
			out = append(out, t)
		case "thinking", "redacted_thinking":
			// Reasoning from an earlier turn: Anthropic needs it back in
			// a tool-use loop with thinking on; other providers drop it.
			if role == llm.RoleAssistant {
				if b.Type == "thinking" {
					m.Thinking = append(m.Thinking, llm.Thinking{Text: b.Thinking, Signature: b.Signature})
				} else {
					m.Thinking = append(m.Thinking, llm.Thinking{Text: b.Data, Redacted: true})
				}
			}
		default:
			return nil, callerErrorf("messages.%d.content.%d.type: %q is not supported", i, j, b.Type)
		}
	}
	if len(m.Content) > 0 || len(m.ToolCalls) > 0 || len(m.Thinking) > 0 {
		out = append(out, m)
	}
	return out, nil
}

// decodeThinking reads the thinking settings and output_config.effort.
func decodeThinking(t *thinkingConfig, oc *outputConfig) (*llm.Reasoning, error) {
	effort := ""
	if oc != nil {
		switch oc.Effort {
		case "", "low", "medium", "high", "xhigh", "max":
			effort = oc.Effort
		default:
			return nil, callerErrorf("output_config.effort: %q is not valid (low, medium, high, xhigh or max)", oc.Effort)
		}
	}
	switch {
	case t == nil || t.Type == "disabled":
		if effort != "" {
			return &llm.Reasoning{Mode: llm.ReasonOutputEffort, Effort: effort}, nil
		}
		return nil, nil
	case t.Type == "enabled":
		if t.BudgetTokens < 1024 {
			return nil, callerErrorf("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
		}
		return &llm.Reasoning{Mode: llm.ReasonBudget, Budget: t.BudgetTokens, Effort: effort}, nil
	case t.Type == "adaptive":
		return &llm.Reasoning{Mode: llm.ReasonAdaptive, Effort: effort}, nil
	}
	return nil, callerErrorf("thinking.type: %q is not supported (enabled, adaptive or disabled)", t.Type)
}

func decodeImage(s *imageSource) (*llm.Image, error) {
	if s == nil {
		return nil, errors.New("an image needs a source")
	}
	switch s.Type {
	case "base64":
		if !strings.HasPrefix(s.MediaType, "image/") || s.Data == "" {
			return nil, errors.New("a base64 image needs media_type image/... and data")
		}
		return &llm.Image{MediaType: s.MediaType, Data: s.Data}, nil
	case "url":
		if !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "http://") {
			return nil, errors.New("an image url must be http(s)")
		}
		return &llm.Image{URL: s.URL}, nil
	}
	return nil, fmt.Errorf("image source type %q is not supported", s.Type)
}

// EncodeMessage renders a complete answer as a Messages response; id and
// model are what the client sees.
func EncodeMessage(resp *llm.Response, id, model string) []byte {
	out := messageResponse{ID: id, Type: "message", Role: "assistant", Model: model, Content: []block{}, Usage: encodeUsage(resp.Usage)}
	for _, t := range resp.Thinking {
		if t.Redacted {
			out.Content = append(out.Content, block{Type: "redacted_thinking", Data: t.Text})
		} else {
			out.Content = append(out.Content, block{Type: "thinking", Thinking: t.Text, Signature: t.Signature})
		}
	}
	if resp.Text != "" || len(resp.ToolCalls) == 0 && resp.Refusal == "" {
		out.Content = append(out.Content, block{Type: "text", Text: resp.Text})
	}
	if resp.Refusal != "" {
		out.Content = append(out.Content, block{Type: "text", Text: resp.Refusal})
	}
	for _, tc := range resp.ToolCalls {
		out.Content = append(out.Content, block{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: toolInput(tc.Arguments)})
	}
	sr := stopReason(resp.FinishReason)
	out.StopReason = &sr
	b, _ := json.Marshal(out)
	return b
}

// toolInput returns tool-call arguments as a JSON object; arguments that
// are not an object (a model's malformed output) are wrapped so the
// client still gets valid JSON.
func toolInput(args string) json.RawMessage {
	raw := json.RawMessage(strings.TrimSpace(args))
	if len(raw) == 0 {
		return json.RawMessage("{}")
	}
	var obj map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil { // "null" unmarshals too
		wrapped, _ := json.Marshal(map[string]string{"_raw": args})
		return wrapped
	}
	return raw
}

func stopReason(f llm.FinishReason) string {
	switch f {
	case llm.FinishLength:
		return "max_tokens"
	case llm.FinishToolCalls:
		return "tool_use"
	case llm.FinishContentFilter:
		return "refusal"
	}
	return "end_turn"
}

// encodeUsage splits canonical usage the Anthropic way: input_tokens
// excludes cache reads and writes.
func encodeUsage(u llm.Usage) usage {
	out := usage{InputTokens: max(u.Input-u.CachedInput-u.CacheWrite, 0), OutputTokens: u.Output,
		CacheReadInputTokens: u.CachedInput, CacheCreationInputTokens: u.CacheWrite}
	if u.Reasoning > 0 {
		out.OutputTokensDetails = &outputTokensDetails{ThinkingTokens: u.Reasoning}
	}
	return out
}

// ErrorType maps an HTTP status to the Anthropic error type the SDKs
// expect.
func ErrorType(status int) string {
	switch status {
	case 400, 422:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 529:
		return "overloaded_error"
	case 504:
		return "timeout_error"
	}
	return "api_error"
}

// EncodeError renders {"type":"error","error":{type,message}}.
func EncodeError(status int, message string) []byte {
	b, _ := json.Marshal(errorEnvelope{Type: "error", Error: &errorBody{Type: ErrorType(status), Message: message}})
	return b
}
