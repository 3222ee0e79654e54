package openai

import (
	"encoding/json"
	"strconv"

	"github.com/sluicegw/sluice/internal/jsonenc"
)

// appendAnswer appends a as encoding/json writes it, without reflection:
// every unary OpenAI answer is encoded once. TestAnswerEncoding and the
// golden files hold the two to the same bytes.
func appendAnswer(b []byte, a *chatAnswer) []byte {
	b = append(b, `{"id":`...)
	b = jsonenc.AppendStd(b, a.ID)
	b = append(b, `,"object":`...)
	b = jsonenc.AppendStd(b, a.Object)
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, a.Created, 10)
	b = append(b, `,"model":`...)
	b = jsonenc.AppendStd(b, a.Model)
	b = append(b, `,"choices":`...)
	if a.Choices == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range a.Choices {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAnswerChoice(b, &a.Choices[i])
		}
		b = append(b, ']')
	}
	if a.Usage != nil {
		b = append(b, `,"usage":`...)
		b = appendUsage(b, a.Usage)
	}
	b = append(b, `,"system_fingerprint":`...)
	b = appendOptString(b, a.SystemFingerprint)
	return append(b, '}')
}

func appendAnswerChoice(b []byte, c *answerChoice) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(c.Index), 10)
	b = append(b, `,"message":`...)
	if m := c.Message; m == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"role":`...)
		b = jsonenc.AppendStd(b, m.Role)
		b = append(b, `,"content":`...)
		b = appendContent(b, &m.Content)
		b = append(b, `,"refusal":`...)
		b = appendOptString(b, m.Refusal)
		if len(m.ToolCalls) > 0 {
			b = append(b, `,"tool_calls":[`...)
			for i := range m.ToolCalls {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendToolCall(b, &m.ToolCalls[i])
			}
			b = append(b, ']')
		}
		if m.ReasoningContent != "" {
			b = append(b, `,"reasoning_content":`...)
			b = jsonenc.AppendStd(b, m.ReasoningContent)
		}
		b = append(b, '}')
	}
	b = append(b, `,"finish_reason":`...)
	b = jsonenc.AppendStd(b, c.FinishReason)
	b = append(b, `,"logprobs":`...)
	if c.Logprobs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, "{}"...)
	}
	return append(b, '}')
}

// appendContent appends content as its MarshalJSON writes it.
func appendContent(b []byte, c *content) []byte {
	switch {
	case c.Null:
		return append(b, "null"...)
	case c.IsParts:
		parts, _ := json.Marshal(c.Parts) // rare in answers: left to encoding/json
		return append(b, parts...)
	}
	return jsonenc.AppendStd(b, c.Text)
}

func appendToolCall(b []byte, tc *toolCall) []byte {
	b = append(b, '{')
	sep := func() {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
	}
	if tc.Index != nil {
		b = append(b, `"index":`...)
		b = strconv.AppendInt(b, int64(*tc.Index), 10)
	}
	if tc.ID != "" {
		sep()
		b = append(b, `"id":`...)
		b = jsonenc.AppendStd(b, tc.ID)
	}
	if tc.Type != "" {
		sep()
		b = append(b, `"type":`...)
		b = jsonenc.AppendStd(b, tc.Type)
	}
	sep()
	b = append(b, `"function":{`...)
	if tc.Function.Name != "" {
		b = append(b, `"name":`...)
		b = jsonenc.AppendStd(b, tc.Function.Name)
		b = append(b, ',')
	}
	b = append(b, `"arguments":`...)
	b = jsonenc.AppendStd(b, tc.Function.Arguments)
	return append(b, "}}"...)
}

// appendUsage appends u as encoding/json writes it (also the last chunk
// of a stream whose client asked for usage).
func appendUsage(b []byte, u *usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.TotalTokens, 10)
	if d := u.PromptTokensDetails; d != nil {
		b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
		b = strconv.AppendInt(b, d.CachedTokens, 10)
		b = append(b, '}')
	}
	if d := u.CompletionTokensDetails; d != nil {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, d.ReasoningTokens, 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return jsonenc.AppendStd(b, *s)
}
