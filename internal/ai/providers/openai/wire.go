// Package openai speaks the OpenAI Chat Completions and Embeddings wire
// format in both directions: as the gateway's inbound API (decoding client
// requests, encoding answers, streams and errors) and as a provider adapter
// for OpenAI and the servers that copy its API (Azure OpenAI, Mistral,
// Ollama, vLLM, Groq, DeepSeek, Together...).
package openai

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// chatRequest is a Chat Completions request body.
type chatRequest struct {
	// Model is empty (and left out) for Azure, whose URL names the
	// deployment.
	Model               string          `json:"model,omitempty"`
	Messages            []message       `json:"messages"`
	Tools               []tool          `json:"tools,omitempty"`
	ToolChoice          *toolChoice     `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	MaxTokens           int             `json:"max_tokens,omitempty"`
	MaxCompletionTokens int             `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	Stop                stringList      `json:"stop,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	RandomSeed          *int64          `json:"random_seed,omitempty"` // Mistral's name for seed
	ResponseFormat      *responseFormat `json:"response_format,omitempty"`
	User                string          `json:"user,omitempty"`
	N                   *int            `json:"n,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// message is one chat message. Content is a string or an array of parts
// on input; this package always writes a string when the content is text
// only.
type message struct {
	Role       string     `json:"role"`
	Content    content    `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []toolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Refusal    string     `json:"refusal,omitempty"`
	// ReasoningContent is the reasoning some OpenAI-compatible servers
	// (DeepSeek, vLLM, Ollama) return beside the answer; read, never sent.
	ReasoningContent string `json:"reasoning_content,omitempty"`
}

// content is a message's content: null, a string, or parts.
type content struct {
	Text  string
	Parts []contentPart
	// IsParts says the content was (or is to be written as) an array.
	IsParts bool
	Null    bool
}

type contentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
	Refusal  string    `json:"refusal,omitempty"`
}

type imageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

func (c content) MarshalJSON() ([]byte, error) {
	switch {
	case c.Null:
		return []byte("null"), nil
	case c.IsParts:
		return json.Marshal(c.Parts)
	}
	return json.Marshal(c.Text)
}

func (c *content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errors.New("empty content")
	case b[0] == 'n':
		*c = content{Null: true}
		return nil
	case b[0] == '"':
		*c = content{}
		return json.Unmarshal(b, &c.Text)
	case b[0] == '[':
		*c = content{IsParts: true}
		return json.Unmarshal(b, &c.Parts)
	}
	return errors.New("content must be a string or an array of parts")
}

type toolCall struct {
	Index    *int         `json:"index,omitempty"` // stream deltas only
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type tool struct {
	Type     string      `json:"type"`
	Function functionDef `json:"function"`
}

type functionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// toolChoice is "none", "auto", "required" or {"type":"function",
// "function":{"name":...}}.
type toolChoice struct {
	Mode string // set for the string forms
	Name string // set for the object form
}

func (t toolChoice) MarshalJSON() ([]byte, error) {
	if t.Name != "" {
		return json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": t.Name}})
	}
	return json.Marshal(t.Mode)
}

func (t *toolChoice) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &t.Mode)
	}
	var o struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	if o.Function.Name == "" {
		return errors.New("tool_choice.function.name is required")
	}
	t.Name = o.Function.Name
	return nil
}

// stringList is a string or an array of strings.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = stringList{one}
		return nil
	}
	if len(b) > 0 && b[0] == 'n' {
		*s = nil
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

type responseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *jsonSchema `json:"json_schema,omitempty"`
}

type jsonSchema struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema,omitempty"`
	Strict *bool           `json:"strict,omitempty"`
}

// chatAnswer is the Chat Completions answer the gateway writes to its
// clients: the fields OpenAI always sends are always there.
type chatAnswer struct {
	ID                string         `json:"id"`
	Object            string         `json:"object"`
	Created           int64          `json:"created"`
	Model             string         `json:"model"`
	Choices           []answerChoice `json:"choices"`
	Usage             *usage         `json:"usage,omitempty"`
	SystemFingerprint *string        `json:"system_fingerprint"`
}

type answerChoice struct {
	Index        int            `json:"index"`
	Message      *answerMessage `json:"message"`
	FinishReason string         `json:"finish_reason"`
	Logprobs     *struct{}      `json:"logprobs"`
}

// answerMessage is the assistant message of an answer; refusal is null
// when the model did not refuse, as OpenAI sends it.
type answerMessage struct {
	Role      string     `json:"role"`
	Content   content    `json:"content"`
	Refusal   *string    `json:"refusal"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
	// ReasoningContent is the model's reasoning text, where it gave one.
	ReasoningContent string `json:"reasoning_content,omitempty"`
}

type choice struct {
	Index        int       `json:"index"`
	Message      *message  `json:"message,omitempty"`
	Delta        *delta    `json:"delta,omitempty"`
	FinishReason *string   `json:"finish_reason"`
	Logprobs     *struct{} `json:"logprobs"`
}

// delta is a streamed choice's increment.
type delta struct {
	Role      string     `json:"role,omitempty"`
	Content   *string    `json:"content,omitempty"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
	Refusal   *string    `json:"refusal,omitempty"`
	// ReasoningContent: see message.
	ReasoningContent *string `json:"reasoning_content,omitempty"`
}

// chunk is one streamed Chat Completions event or, with messages in its
// choices rather than deltas, a whole answer.
type chunk struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	SystemFingerprint *string  `json:"system_fingerprint,omitempty"`
	Choices           []choice `json:"choices"`
	// Usage is null on every chunk but the last when usage was asked for.
	Usage *usage `json:"usage"`
	// Error is set by servers that report a failure inside the stream (or
	// in an answer with status 200).
	Error *errorBody `json:"error,omitempty"`
}

type usage struct {
	PromptTokens            int64                `json:"prompt_tokens"`
	CompletionTokens        int64                `json:"completion_tokens"`
	TotalTokens             int64                `json:"total_tokens"`
	PromptTokensDetails     *promptTokensDetails `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *completionDetails   `json:"completion_tokens_details,omitempty"`
}

type promptTokensDetails struct {
	CachedTokens int64 `json:"cached_tokens"`
}

type completionDetails struct {
	ReasoningTokens int64 `json:"reasoning_tokens"`
}

// errorEnvelope is OpenAI's error body.
type errorEnvelope struct {
	Error *errorBody `json:"error"`
}

type errorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	// Code is a string for OpenAI; some compatible servers send a number.
	Code json.RawMessage `json:"code"`
}

// providerError classifies an error a server reported in a 200 answer or
// inside a stream: by its code and type, else as an overload.
func (e *errorBody) providerError() *llm.ProviderError {
	pe := &llm.ProviderError{Class: llm.ClassOverloaded, Message: e.Message, Type: e.codeString()}
	if pe.Type == "" {
		pe.Type = e.Type
	}
	pe.Class = refineClass(pe)
	return pe
}

// codeString returns the error code as text, whatever its JSON type.
func (e *errorBody) codeString() string {
	c := bytes.TrimSpace(e.Code)
	if len(c) == 0 || string(c) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(c, &s) == nil {
		return s
	}
	return string(c)
}

type embeddingsRequest struct {
	Model          string     `json:"model"`
	Input          stringList `json:"input"`
	Dimensions     int        `json:"dimensions,omitempty"`
	EncodingFormat string     `json:"encoding_format,omitempty"`
	User           string     `json:"user,omitempty"`
}

type embeddingsResponse struct {
	Object string      `json:"object"`
	Data   []embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  struct {
		PromptTokens int64 `json:"prompt_tokens"`
		TotalTokens  int64 `json:"total_tokens"`
	} `json:"usage"`
}

// embedding is one vector: an array of numbers, or base64 of little-endian
// float32s when the request asked for encoding_format "base64".
type embedding struct {
	Object    string          `json:"object"`
	Index     int             `json:"index"`
	Embedding json.RawMessage `json:"embedding"`
}
