// Package anthropic speaks the Anthropic Messages wire format in both
// directions: as the gateway's inbound API (POST /v1/messages) and as the
// provider adapter for api.anthropic.com.
package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Version is the anthropic-version header the adapter sends.
const Version = "2023-06-01"

type messagesRequest struct {
	Model         string          `json:"model"`
	MaxTokens     int             `json:"max_tokens"`
	System        *systemPrompt   `json:"system,omitempty"`
	Messages      []message       `json:"messages"`
	Tools         []tool          `json:"tools,omitempty"`
	ToolChoice    *toolChoice     `json:"tool_choice,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	TopK          *int            `json:"top_k,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
	Metadata      *metadata       `json:"metadata,omitempty"`
	OutputConfig  *outputConfig   `json:"output_config,omitempty"`
	Thinking      *thinkingConfig `json:"thinking,omitempty"`
}

// thinkingConfig turns extended thinking on (enabled, with a budget, or
// adaptive) or off.
type thinkingConfig struct {
	Type         string `json:"type"` // enabled | adaptive | disabled
	BudgetTokens int    `json:"budget_tokens,omitempty"`
	Display      string `json:"display,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id,omitempty"`
}

type outputConfig struct {
	Effort string        `json:"effort,omitempty"`
	Format *outputFormat `json:"format,omitempty"`
}

type outputFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

// systemPrompt is a string or an array of text blocks.
type systemPrompt struct {
	Text   string
	Blocks []block
}

func (s systemPrompt) MarshalJSON() ([]byte, error) {
	if s.Blocks != nil {
		return json.Marshal(s.Blocks)
	}
	return json.Marshal(s.Text)
}

func (s *systemPrompt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &s.Text)
	}
	return json.Unmarshal(b, &s.Blocks)
}

type message struct {
	Role    string  `json:"role"`
	Content content `json:"content"`
}

// content is a string or an array of content blocks.
type content struct {
	Text    string
	Blocks  []block
	IsArray bool
}

func (c content) MarshalJSON() ([]byte, error) {
	if c.IsArray {
		if c.Blocks == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(c.Blocks)
	}
	return json.Marshal(c.Text)
}

func (c *content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		*c = content{}
		return json.Unmarshal(b, &c.Text)
	case len(b) > 0 && b[0] == '[':
		*c = content{IsArray: true}
		return json.Unmarshal(b, &c.Blocks)
	}
	return errors.New("content must be a string or an array of content blocks")
}

// block is a content block of any type; which fields are set depends on
// Type.
type block struct {
	Type string `json:"type"`
	// text
	Text string `json:"text,omitempty"`
	// image
	Source *imageSource `json:"source,omitempty"`
	// tool_use
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// tool_result
	ToolUseID string   `json:"tool_use_id,omitempty"`
	Content   *content `json:"content,omitempty"`
	IsError   bool     `json:"is_error,omitempty"`
	// thinking, redacted_thinking (Data)
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`
	// cache_control is accepted and dropped.
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// MarshalJSON writes the fields of b's type, with those the API requires
// even when empty: a text block's text and a tool_use block's input.
func (b block) MarshalJSON() ([]byte, error) {
	switch b.Type {
	case "text":
		return json.Marshal(struct {
			Type         string          `json:"type"`
			Text         string          `json:"text"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{b.Type, b.Text, b.CacheControl})
	case "tool_use":
		input := b.Input
		if len(bytes.TrimSpace(input)) == 0 {
			input = json.RawMessage("{}")
		}
		return json.Marshal(struct {
			Type         string          `json:"type"`
			ID           string          `json:"id"`
			Name         string          `json:"name"`
			Input        json.RawMessage `json:"input"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{b.Type, b.ID, b.Name, input, b.CacheControl})
	case "thinking":
		return json.Marshal(struct {
			Type      string `json:"type"`
			Thinking  string `json:"thinking"`
			Signature string `json:"signature"`
		}{b.Type, b.Thinking, b.Signature})
	}
	type plain block // without this method
	return json.Marshal(plain(b))
}

type imageSource struct {
	Type      string `json:"type"` // base64 | url
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
	Type        string          `json:"type,omitempty"`
	Strict      bool            `json:"strict,omitempty"`
}

type toolChoice struct {
	Type                   string `json:"type"` // auto | any | tool | none
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse *bool  `json:"disable_parallel_tool_use,omitempty"`
}

type messageResponse struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	Role         string  `json:"role"`
	Model        string  `json:"model"`
	Content      []block `json:"content"`
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        usage   `json:"usage"`
}

type usage struct {
	InputTokens              int64                `json:"input_tokens"`
	OutputTokens             int64                `json:"output_tokens"`
	CacheCreationInputTokens int64                `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64                `json:"cache_read_input_tokens"`
	OutputTokensDetails      *outputTokensDetails `json:"output_tokens_details,omitempty"`
}

type outputTokensDetails struct {
	ThinkingTokens int64 `json:"thinking_tokens"`
}

// streamEvent is any Messages stream event; which fields are set depends
// on Type.
type streamEvent struct {
	Type         string           `json:"type"`
	Message      *messageResponse `json:"message,omitempty"`
	Index        int              `json:"index"`
	ContentBlock *block           `json:"content_block,omitempty"`
	Delta        *streamDelta     `json:"delta,omitempty"`
	Usage        *usage           `json:"usage,omitempty"`
	Error        *errorBody       `json:"error,omitempty"`
}

type streamDelta struct {
	Type         string  `json:"type"` // text_delta | input_json_delta | thinking_delta | signature_delta
	Text         string  `json:"text"`
	PartialJSON  string  `json:"partial_json"`
	Thinking     string  `json:"thinking"`
	Signature    string  `json:"signature"`
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

type errorEnvelope struct {
	Type  string     `json:"type"`
	Error *errorBody `json:"error"`
}

type errorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}
