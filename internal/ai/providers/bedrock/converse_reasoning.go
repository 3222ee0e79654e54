package bedrock

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/ai/providers/anthropic"
)

// Reasoning ("extended thinking") on Bedrock. Converse has no reasoning
// setting of its own: a model takes one in additionalModelRequestFields,
// in its own terms. Anthropic's models take the Messages API's thinking
// and output_config.effort there, and give their reasoning back as
// reasoningContent blocks (reasoningText with its signature, or
// redactedContent), which a tool-use loop with thinking on must send back
// unchanged, before the turn's text and tool uses.
//
// Other families are left alone: each spells reasoning its own way
// (Nova's reasoningConfig, gpt-oss's reasoning_effort, DeepSeek-R1 always
// reasoning) and rejects keys it does not know, so a canonical Reasoning
// is not sent to them, nor is an assistant turn's thinking, rather than
// risk a 400 on every such request. Their reasoningContent output is
// still decoded.

// anthropicFields are the additionalModelRequestFields an Anthropic model
// takes: fields of the Messages API request that Converse lacks.
type anthropicFields struct {
	TopK         *int            `json:"top_k,omitempty"`
	Thinking     *thinkingConfig `json:"thinking,omitempty"`
	OutputConfig *effortConfig   `json:"output_config,omitempty"`
}

// encode returns f as JSON, or nil when it holds nothing.
func (f anthropicFields) encode() json.RawMessage {
	if f == (anthropicFields{}) {
		return nil
	}
	b, _ := json.Marshal(f) // ints and strings: it cannot fail
	return b
}

// thinkingConfig turns Anthropic's extended thinking on: with a budget
// (enabled) or at the model's discretion (adaptive).
type thinkingConfig struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens,omitempty"`
}

type effortConfig struct {
	Effort string `json:"effort"`
}

// encodeAnthropicFields returns the inference settings and the
// additionalModelRequestFields of a request to an Anthropic model: its
// reasoning planned, and the settings constrained, as the Anthropic
// adapter does for the Messages API.
func encodeAnthropicFields(r *llm.Request, ic inferenceConfig) (inferenceConfig, json.RawMessage) {
	t := anthropic.PlanThinking(r)
	s := t.Constrain(anthropic.Sampling{MaxTokens: ic.MaxTokens, Temperature: ic.Temperature, TopP: ic.TopP, TopK: r.TopK})
	ic.MaxTokens, ic.Temperature, ic.TopP = s.MaxTokens, s.Temperature, s.TopP
	f := anthropicFields{TopK: s.TopK}
	if t.Type != "" {
		f.Thinking = &thinkingConfig{Type: t.Type, BudgetTokens: t.Budget}
	}
	if t.Effort != "" {
		f.OutputConfig = &effortConfig{Effort: t.Effort}
	}
	return ic, f.encode()
}

// reasoningContentBlock is a ReasoningContentBlock union: reasoning text
// with its signature, or reasoning the provider encrypted.
type reasoningContentBlock struct {
	ReasoningText *reasoningText `json:"reasoningText,omitempty"`
	// RedactedContent is a blob, base64 in the JSON protocol: the
	// canonical Thinking.Text of a redacted block, which holds it as it
	// arrived, goes through unchanged.
	RedactedContent string `json:"redactedContent,omitempty"`
}

type reasoningText struct {
	Text      string `json:"text"`
	Signature string `json:"signature,omitempty"`
}

// appendThinking appends an assistant turn's thinking (message i) to
// blocks as reasoningContent blocks, in order. Blocks without text,
// signature or data say nothing and are skipped; redacted data that is
// not standard base64 is a caller fault, for Converse would refuse it.
func appendThinking(blocks []contentBlock, thinking []llm.Thinking, i int) ([]contentBlock, error) {
	for _, t := range thinking {
		switch {
		case t.Redacted && t.Text == "":
		case t.Redacted:
			if _, err := base64.StdEncoding.DecodeString(t.Text); err != nil {
				return nil, callerError("message " + strconv.Itoa(i) + ": the data of a redacted thinking block is not base64, as Bedrock needs it")
			}
			blocks = append(blocks, contentBlock{ReasoningContent: &reasoningContentBlock{RedactedContent: t.Text}})
		case t.Text == "" && t.Signature == "":
		default:
			blocks = append(blocks, contentBlock{ReasoningContent: &reasoningContentBlock{ReasoningText: &reasoningText{Text: t.Text, Signature: t.Signature}}})
		}
	}
	return blocks, nil
}

// thinking returns the canonical form of a reasoningContent block of an
// answer; ok is false for an empty block (or one of a kind unknown here).
// Redacted data is kept as the base64 text it arrived as.
func (b *reasoningContentBlock) thinking() (llm.Thinking, bool) {
	switch {
	case b.ReasoningText != nil:
		return llm.Thinking{Text: b.ReasoningText.Text, Signature: b.ReasoningText.Signature}, true
	case b.RedactedContent != "":
		return llm.Thinking{Text: b.RedactedContent, Redacted: true}, true
	}
	return llm.Thinking{}, false
}
