package bedrock

import (
	"bytes"
	"encoding/json"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// converseResponse is the Converse answer (the fields this adapter reads).
type converseResponse struct {
	Output struct {
		Message *struct {
			Role    string          `json:"role"`
			Content []responseBlock `json:"content"`
		} `json:"message"`
	} `json:"output"`
	StopReason string      `json:"stopReason"`
	Usage      *tokenUsage `json:"usage"`
}

// responseBlock is an answer content block; blocks of other kinds
// (citationsContent…) are skipped.
type responseBlock struct {
	Text    *string `json:"text"`
	ToolUse *struct {
		ToolUseID string          `json:"toolUseId"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
	} `json:"toolUse"`
	ReasoningContent *reasoningContentBlock `json:"reasoningContent"`
}

// tokenUsage is Bedrock's TokenUsage. inputTokens counts only the input
// that was neither read from nor written to the prompt cache: the cache
// counts come beside it, and totalTokens is the sum of all four. It has
// no reasoning count (outputTokens includes the reasoning), so canonical
// usage reports Reasoning 0.
type tokenUsage struct {
	InputTokens           int64 `json:"inputTokens"`
	OutputTokens          int64 `json:"outputTokens"`
	TotalTokens           int64 `json:"totalTokens"`
	CacheReadInputTokens  int64 `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int64 `json:"cacheWriteInputTokens"`
}

// canonical returns the usage in canonical form, whose Input counts all
// input tokens, cached reads and cache writes included.
func (u *tokenUsage) canonical() llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	return llm.Usage{
		Input:       u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens,
		CachedInput: u.CacheReadInputTokens,
		CacheWrite:  u.CacheWriteInputTokens,
		Output:      u.OutputTokens,
	}
}

// decodeResponse translates a Converse answer; id and model fill the
// fields Converse does not carry (the request id, the model asked).
func decodeResponse(data []byte, id, model string) (*llm.Response, error) {
	var cr converseResponse
	if err := json.Unmarshal(data, &cr); err != nil {
		return nil, llm.Errorf(llm.ClassBadResponse, "bedrock: decoding the Converse answer: %w", err)
	}
	if cr.Output.Message == nil || cr.StopReason == "" {
		return nil, llm.Errorf(llm.ClassBadResponse, "bedrock: the Converse answer has no output message or stop reason")
	}
	resp := &llm.Response{ID: id, Model: model, FinishReason: finishReason(cr.StopReason), Usage: cr.Usage.canonical()}
	var text []byte
	for _, b := range cr.Output.Message.Content {
		switch {
		case b.Text != nil:
			text = append(text, *b.Text...)
		case b.ToolUse != nil:
			args := "{}"
			if in := bytes.TrimSpace(b.ToolUse.Input); len(in) > 0 && string(in) != "null" {
				var c bytes.Buffer
				if err := json.Compact(&c, in); err == nil {
					args = c.String()
				}
			}
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name, Arguments: args})
		case b.ReasoningContent != nil:
			if t, ok := b.ReasoningContent.thinking(); ok {
				resp.Thinking = append(resp.Thinking, t)
			}
		}
	}
	resp.Text = string(text)
	return resp, nil
}

// finishReason maps a Converse stopReason. A model_context_window_exceeded
// stop is an answer cut by the context limit, so it is "length"; the
// malformed_* stops and reasons unknown to this adapter are "stop".
func finishReason(r string) llm.FinishReason {
	switch r {
	case "tool_use":
		return llm.FinishToolCalls
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "guardrail_intervened", "content_filtered":
		return llm.FinishContentFilter
	}
	return llm.FinishStop
}
