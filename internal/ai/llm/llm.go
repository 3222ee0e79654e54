// Package llm is the AI gateway's canonical schema: one request, response
// and stream-event shape that every inbound format decodes into and every
// provider adapter translates from. It is a leaf package: the wire formats
// (internal/ai/providers/...) and the gateway (internal/ai) both import it.
//
// The schema is a superset of what the supported APIs share: chat turns with
// text and image parts, system prompts, tool definitions, tool calls and
// results, sampling settings, response formats and usage with cached and
// reasoning tokens. Fields an API cannot express are dropped by its adapter,
// never passed through verbatim.
package llm

import (
	"encoding/json"
	"strings"
)

// Role is who wrote a message.
type Role string

// The message roles. System messages may appear anywhere in Messages;
// adapters for APIs with a single top-level system prompt hoist them.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool" // a tool result, answering ToolCallID
)

// PartType is the kind of a content part.
type PartType string

// The content part kinds.
const (
	PartText  PartType = "text"
	PartImage PartType = "image"
)

// Part is one piece of a message's content.
type Part struct {
	Type PartType
	Text string
	// Image is set for PartImage.
	Image *Image
}

// Image is an image given by URL or inline as base64 data.
type Image struct {
	// URL is an http(s) URL; empty when Data is set.
	URL string
	// MediaType is the MIME type of inline data (image/png, image/jpeg...).
	MediaType string
	// Data is the base64-encoded image (not decoded: adapters pass it on).
	Data string
	// Detail is OpenAI's detail hint (auto, low, high); optional.
	Detail string
}

// DataURL returns the image as a data: URL when it is inline, else its URL.
func (im *Image) DataURL() string {
	if im.Data == "" {
		return im.URL
	}
	return "data:" + im.MediaType + ";base64," + im.Data
}

// Message is one turn of the conversation.
type Message struct {
	Role    Role
	Content []Part
	// ToolCalls are the tool invocations of an assistant turn.
	ToolCalls []ToolCall
	// ToolCallID is the call a RoleTool message answers.
	ToolCallID string
	// IsError marks a tool result that reports a failure.
	IsError bool
	// Name is an optional participant name (OpenAI).
	Name string
	// Thinking is an assistant turn's reasoning, as the model gave it.
	// Anthropic needs it back, signatures intact, in a tool-use loop with
	// thinking on; other providers drop it.
	Thinking []Thinking
}

// Thinking is one block of a model's reasoning.
type Thinking struct {
	// Text is the reasoning; for a redacted block, its encrypted data.
	Text string
	// Signature seals the block (Anthropic): it must come back unchanged.
	Signature string
	Redacted  bool
}

// Text returns the concatenated text parts of m.
func (m *Message) Text() string {
	if len(m.Content) == 1 && m.Content[0].Type == PartText {
		return m.Content[0].Text
	}
	var s string
	for _, p := range m.Content {
		if p.Type == PartText {
			s += p.Text
		}
	}
	return s
}

// ErrorResult returns a failed tool's result text as the JSON object
// {"error": value}: value is the text's JSON when it is JSON, else the
// text as a string. APIs with no flag for a failed tool result (OpenAI's,
// Gemini's) carry the failure this way, so the model still reads it as
// one.
func ErrorResult(text string) json.RawMessage {
	value := json.RawMessage(strings.TrimSpace(text))
	if len(value) == 0 || !json.Valid(value) {
		value, _ = json.Marshal(text)
	}
	out := make(json.RawMessage, 0, len(value)+len(`{"error":}`))
	out = append(out, `{"error":`...)
	out = append(out, value...)
	return append(out, '}')
}

// ToolCall is a model's request to run a tool.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is the JSON object of arguments, as text.
	Arguments string
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments object; nil means
	// no parameters.
	Parameters json.RawMessage
	// Strict asks the provider to hold the arguments to Parameters exactly
	// (OpenAI's function.strict, Anthropic's strict tool use); adapters
	// whose API cannot express it drop it.
	Strict bool
}

// ToolChoiceMode says whether and how the model must call tools.
type ToolChoiceMode string

// The tool choice modes.
const (
	ToolAuto     ToolChoiceMode = "auto"
	ToolNone     ToolChoiceMode = "none"
	ToolRequired ToolChoiceMode = "required" // some tool
	ToolNamed    ToolChoiceMode = "tool"     // the tool named by ToolChoice.Name
)

// ToolChoice constrains tool use.
type ToolChoice struct {
	Mode ToolChoiceMode
	Name string
}

// FormatType is the kind of output the caller asks for.
type FormatType string

// The response formats.
const (
	FormatText       FormatType = "text"
	FormatJSONObject FormatType = "json_object"
	FormatJSONSchema FormatType = "json_schema"
)

// ResponseFormat asks for JSON output, optionally matching a schema.
type ResponseFormat struct {
	Type   FormatType
	Name   string
	Schema json.RawMessage
	Strict bool
}

// Request is a chat request in canonical form.
type Request struct {
	// Model is the model name the client asked for (a configured name,
	// not the provider's).
	Model    string
	Messages []Message
	Tools    []Tool
	// ToolChoice is nil when the client did not say.
	ToolChoice *ToolChoice
	// ParallelToolCalls is nil when the client did not say.
	ParallelToolCalls *bool
	// MaxTokens bounds the output; 0 when the client did not say.
	MaxTokens   int
	Temperature *float64
	TopP        *float64
	TopK        *int
	Stop        []string
	Seed        *int64
	// ResponseFormat is nil for plain text.
	ResponseFormat *ResponseFormat
	// User is an end-user id for the provider's abuse tracking.
	User   string
	Stream bool
	// StreamUsage is whether the client asked for usage in the stream
	// (OpenAI stream_options.include_usage). Adapters always ask the
	// provider for usage; the inbound encoder drops it when this is false.
	StreamUsage bool
	// Reasoning asks a reasoning model to think first; nil when the
	// client did not say (the provider's default).
	Reasoning *Reasoning
}

// Reasoning is how much a model should think before it answers. Clients
// say it in their API's terms (OpenAI's reasoning_effort, Anthropic's
// thinking and output_config.effort); each adapter says it in its
// provider's, converting efforts and budgets where it must.
type Reasoning struct {
	Mode ReasoningMode
	// Effort is minimal, low, medium or high (Anthropic adds xhigh and
	// max; OpenAI none); "" when not given.
	Effort string
	// Budget is the reasoning token budget of ReasonBudget.
	Budget int
}

// ReasoningMode is the form a client asked for reasoning in.
type ReasoningMode uint8

// The reasoning modes.
const (
	// ReasonEffort thinks with an effort level (OpenAI reasoning_effort).
	ReasonEffort ReasoningMode = iota + 1
	// ReasonBudget thinks within Budget tokens (Anthropic thinking
	// enabled, Gemini thinkingBudget).
	ReasonBudget
	// ReasonAdaptive lets the model decide how much to think (Anthropic
	// adaptive thinking), at Effort if set.
	ReasonAdaptive
	// ReasonOutputEffort sets an effort without asking for thinking
	// (Anthropic output_config.effort alone).
	ReasonOutputEffort
)

// Off reports an effort that asks for no reasoning (OpenAI's "none").
func (r *Reasoning) Off() bool { return r.Effort == "none" }

// The budgets an effort stands for, and back: a budget's effort is the
// smallest whose budget covers it.
var effortBudgets = []struct {
	effort string
	budget int
}{{"minimal", 1024}, {"low", 2048}, {"medium", 8192}, {"high", 24576}}

// BudgetTokens returns the token budget: Budget, or Effort's (medium's
// when there is neither).
func (r *Reasoning) BudgetTokens() int {
	if r.Budget > 0 {
		return r.Budget
	}
	switch r.Effort {
	case "xhigh", "max":
		return 2 * effortBudgets[3].budget
	}
	for _, e := range effortBudgets {
		if e.effort == r.Effort {
			return e.budget
		}
	}
	return effortBudgets[2].budget
}

// EffortLevel returns the effort as OpenAI names it: Effort (xhigh and
// max are high), or the smallest from low up whose budget covers Budget;
// "" when there is neither.
func (r *Reasoning) EffortLevel() string {
	switch {
	case r.Effort == "xhigh" || r.Effort == "max":
		return "high"
	case r.Effort != "":
		return r.Effort
	case r.Budget == 0:
		return ""
	}
	for _, e := range effortBudgets[1:] { // not minimal: few models take it
		if r.Budget <= e.budget {
			return e.effort
		}
	}
	return "high"
}

// FinishReason is why the model stopped.
type FinishReason string

// The finish reasons.
const (
	FinishStop          FinishReason = "stop" // natural end or a stop sequence
	FinishLength        FinishReason = "length"
	FinishToolCalls     FinishReason = "tool_calls"
	FinishContentFilter FinishReason = "content_filter"
)

// Usage counts tokens. Input includes cached input; Output includes
// reasoning.
type Usage struct {
	Input int64
	// CachedInput is input read from the provider's prompt cache.
	CachedInput int64
	// CacheWrite is input written to the provider's prompt cache.
	CacheWrite int64
	Output     int64
	// Reasoning is output spent on hidden reasoning.
	Reasoning int64
}

// Add adds u2 to u.
func (u *Usage) Add(u2 Usage) {
	u.Input += u2.Input
	u.CachedInput += u2.CachedInput
	u.CacheWrite += u2.CacheWrite
	u.Output += u2.Output
	u.Reasoning += u2.Reasoning
}

// Response is a complete (non-streamed) chat answer.
type Response struct {
	// ID is the provider's response id.
	ID string
	// Model is the provider model that answered.
	Model     string
	Text      string
	ToolCalls []ToolCall
	// Refusal is a model's refusal message (OpenAI), when it refused.
	Refusal string
	// Thinking is the model's reasoning, before its answer.
	Thinking     []Thinking
	FinishReason FinishReason
	Usage        Usage
}

// EventType is the kind of a stream event.
type EventType uint8

// The stream events, in the order a stream may carry them: one Start, then
// text and tool-call deltas interleaved, then Finish, then Usage (which may
// also come earlier, and more than once: adapters report cumulative totals
// and the last one wins).
const (
	EventStart EventType = iota + 1
	// EventText carries Text, a piece of the answer.
	EventText
	// EventToolStart opens tool call Index with its ID and Name.
	EventToolStart
	// EventToolArgs carries Text, a piece of tool call Index's arguments.
	EventToolArgs
	// EventFinish carries the FinishReason.
	EventFinish
	// EventUsage carries the usage so far (cumulative).
	EventUsage
	// EventThinking carries Text, a piece of the model's reasoning. It
	// opens a thinking block if none is open; reasoning comes before the
	// answer.
	EventThinking
	// EventThinkingEnd closes the open thinking block with its Signature
	// (in Text; may be empty).
	EventThinkingEnd
	// EventRedactedThinking is a whole redacted thinking block, its data
	// in Text.
	EventRedactedThinking
)

// Event is one step of a streamed answer. Index numbers tool calls from
// 0 in the order they start.
type Event struct {
	Type   EventType
	Text   string
	Index  int
	ID     string // EventStart: response id; EventToolStart: call id
	Name   string // EventToolStart: tool name
	Model  string // EventStart: provider model
	Finish FinishReason
	Usage  Usage
}

// Stream yields a streamed answer's events. Next returns io.EOF after the
// last event of a complete stream; any other error means the stream broke
// (a *ProviderError for an error the provider reported in the stream).
// Close releases the connection and may be called at any time.
type Stream interface {
	Next() (Event, error)
	Close() error
}

// EmbeddingsRequest asks for vector embeddings of Input.
type EmbeddingsRequest struct {
	Model      string
	Input      []string
	Dimensions int
	// EncodingFormat is "float" (default) or "base64".
	EncodingFormat string
	User           string
}

// EmbeddingsResponse holds one vector per input, in order.
type EmbeddingsResponse struct {
	Model   string
	Vectors [][]float64
	Usage   Usage
}

// Info is what AI plugins (ai-rate-limit, ai-budget, ai-prompt-guard) see
// of one AI request: who asks, for which model, and the decoded request.
type Info struct {
	Consumer string
	// Model is the model name the client asked for.
	Model string
	// Chat is the chat request; nil for embeddings.
	Chat *Request
	// Embeddings is the embeddings request; nil for chats.
	Embeddings *EmbeddingsRequest
	// EstimatedInput is the input tokens estimated before the call (see
	// EstimateInput); limits charge it up front and settle with the real
	// usage afterwards.
	EstimatedInput int64
}

// EstimateInput estimates a chat's input tokens without a tokenizer:
// about four bytes of text per token, a few tokens of framing per message
// and tool, and a flat cost per image. It errs on the high side for
// English text, which is what a limit that charges up front wants.
func EstimateInput(r *Request) int64 {
	var n int64
	for i := range r.Messages {
		m := &r.Messages[i]
		n += 4
		for _, p := range m.Content {
			if p.Type == PartImage {
				n += 765 // a 1024×1024 image at OpenAI's high detail
			} else {
				n += int64(len(p.Text)+3) / 4
			}
		}
		for _, tc := range m.ToolCalls {
			n += int64(len(tc.Name)+len(tc.Arguments)+3)/4 + 4
		}
	}
	for _, t := range r.Tools {
		n += int64(len(t.Name)+len(t.Description)+len(t.Parameters)+3)/4 + 8
	}
	return n + 3
}

// EstimateEmbeddingsInput estimates an embeddings request's input tokens.
func EstimateEmbeddingsInput(r *EmbeddingsRequest) int64 {
	var n int64
	for _, s := range r.Input {
		n += int64(len(s)+3)/4 + 1
	}
	return n
}
