package openai

import (
	"encoding/json"

	"github.com/sluicegw/sluice/internal/jsonscan"
)

// decode decodes one stream chunk, or a whole answer (the same object
// with a message in place of a delta), into c. A stream is hundreds of
// chunks and encoding/json's reflection was most of the gateway's time on
// one, so what OpenAI and the servers copying it send (text, refusal,
// reasoning, tool calls, finish reasons, usage) is read by chunkScanner;
// whatever it does not take (errors, logprobs, content parts, anything
// unusual) goes to encoding/json. FuzzChunkScanner holds the scanner to
// encoding/json's answers.
func (cs *chunkScanner) decodeOr(data []byte, c *chunk) error {
	if cs.decode(data, c) {
		return nil
	}
	*c = chunk{}
	return json.Unmarshal(data, c)
}

// chunkScanner reads Chat Completions chunks and answers without
// reflection. decode reports false, with c in any state, for what it does
// not handle; the caller then decodes with encoding/json. Strings a
// stream repeats in every chunk (id, object, model, fingerprint) are
// allocated once.
type chunkScanner struct {
	p jsonscan.Scanner

	id, objectType, model, fingerprint string
}

// chunkKeys are the keys of the chunk types (see jsonscan.Scanner.Unknown).
var chunkKeys = []string{"id", "object", "model", "created", "system_fingerprint", "choices", "usage", "error",
	"index", "delta", "finish_reason", "logprobs", "message", "role", "content", "refusal", "reasoning_content",
	"tool_calls", "name", "tool_call_id", "type", "function", "arguments", "text", "image_url", "url", "detail",
	"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details",
	"cached_tokens", "reasoning_tokens"}

func (cs *chunkScanner) decode(data []byte, c *chunk) bool {
	*c = chunk{}
	p := &cs.p
	p.Reset(data)
	ok := p.Object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return p.Repeated(&c.ID, &cs.id)
		case "object":
			return p.Repeated(&c.Object, &cs.objectType)
		case "model":
			return p.Repeated(&c.Model, &cs.model)
		case "created":
			return p.Int64(&c.Created)
		case "system_fingerprint":
			if p.Null() {
				c.SystemFingerprint = nil
				return true
			}
			var fp string
			if !p.Repeated(&fp, &cs.fingerprint) {
				return false
			}
			c.SystemFingerprint = &fp
			return true
		case "choices":
			return choices(p, c)
		case "usage":
			return jsonscan.Opt(p, &c.Usage, func(v *usage) bool {
				return readUsage(p, v)
			})
		case "error":
			return p.Null() // a null leaves the field nil; more is left to encoding/json
		}
		return p.Unknown(key, chunkKeys)
	})
	return ok && p.End()
}

func choices(p *jsonscan.Scanner, c *chunk) bool {
	if p.Null() {
		c.Choices = nil
		return true
	}
	c.Choices = []choice{}
	return p.Array(func() bool {
		var ch choice
		ok := readChoice(p, &ch)
		c.Choices = append(c.Choices, ch)
		return ok
	})
}

func readChoice(p *jsonscan.Scanner, ch *choice) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "index":
			return p.Int(&ch.Index)
		case "delta":
			return jsonscan.Opt(p, &ch.Delta, func(d *delta) bool {
				return readDelta(p, d)
			})
		case "finish_reason":
			return p.OptString(&ch.FinishReason)
		case "logprobs":
			return p.Null()
		case "message":
			return jsonscan.Opt(p, &ch.Message, func(m *message) bool {
				return readMessage(p, m)
			})
		}
		return p.Unknown(key, chunkKeys)
	})
}

// readMessage reads a message: a request's, or an answer's.
func readMessage(p *jsonscan.Scanner, m *message) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "role":
			return p.String(&m.Role)
		case "content":
			if p.Null() {
				m.Content = content{Null: true}
				return true
			}
			m.Content = content{}
			if p.String(&m.Content.Text) {
				return true
			}
			m.Content = content{IsParts: true, Parts: []contentPart{}}
			return p.Array(func() bool {
				var cp contentPart
				ok := readPart(p, &cp)
				m.Content.Parts = append(m.Content.Parts, cp)
				return ok
			})
		case "name":
			return p.String(&m.Name)
		case "tool_call_id":
			return p.String(&m.ToolCallID)
		case "refusal":
			return p.String(&m.Refusal)
		case "reasoning_content":
			return p.String(&m.ReasoningContent)
		case "tool_calls":
			return readToolCalls(p, &m.ToolCalls)
		}
		return p.Unknown(key, chunkKeys)
	})
}

// readPart reads a content part: text, an image or a refusal.
func readPart(p *jsonscan.Scanner, cp *contentPart) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "type":
			return p.String(&cp.Type)
		case "text":
			return p.String(&cp.Text)
		case "refusal":
			return p.String(&cp.Refusal)
		case "image_url":
			return jsonscan.Opt(p, &cp.ImageURL, func(v *imageURL) bool {
				return p.Object(func(key []byte) bool {
					switch string(key) {
					case "url":
						return p.String(&v.URL)
					case "detail":
						return p.String(&v.Detail)
					}
					return p.Unknown(key, chunkKeys)
				})
			})
		}
		return p.Unknown(key, chunkKeys)
	})
}

// readToolCalls reads an array of tool calls: an answer's, or a delta's
// pieces of them (with an index).
func readToolCalls(p *jsonscan.Scanner, dst *[]toolCall) bool {
	if p.Null() {
		*dst = nil
		return true
	}
	*dst = []toolCall{}
	return p.Array(func() bool {
		var tc toolCall
		ok := p.Object(func(key []byte) bool {
			switch string(key) {
			case "index":
				return p.OptInt(&tc.Index)
			case "id":
				return p.String(&tc.ID)
			case "type":
				return p.String(&tc.Type)
			case "function":
				if p.Null() {
					return true
				}
				return p.Object(func(key []byte) bool {
					switch string(key) {
					case "name":
						return p.String(&tc.Function.Name)
					case "arguments":
						return p.String(&tc.Function.Arguments)
					}
					return p.Unknown(key, chunkKeys)
				})
			}
			return p.Unknown(key, chunkKeys)
		})
		*dst = append(*dst, tc)
		return ok
	})
}

// readUsage reads token counts, with the details OpenAI adds (the
// details' other counts, audio and predictions, are skipped).
func readUsage(p *jsonscan.Scanner, u *usage) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "prompt_tokens":
			return p.Int64(&u.PromptTokens)
		case "completion_tokens":
			return p.Int64(&u.CompletionTokens)
		case "total_tokens":
			return p.Int64(&u.TotalTokens)
		case "prompt_tokens_details":
			return jsonscan.Opt(p, &u.PromptTokensDetails, func(d *promptTokensDetails) bool {
				return p.Object(func(key []byte) bool {
					if string(key) == "cached_tokens" {
						return p.Int64(&d.CachedTokens)
					}
					return p.Unknown(key, chunkKeys)
				})
			})
		case "completion_tokens_details":
			return jsonscan.Opt(p, &u.CompletionTokensDetails, func(d *completionDetails) bool {
				return p.Object(func(key []byte) bool {
					if string(key) == "reasoning_tokens" {
						return p.Int64(&d.ReasoningTokens)
					}
					return p.Unknown(key, chunkKeys)
				})
			})
		}
		return p.Unknown(key, chunkKeys)
	})
}

func readDelta(p *jsonscan.Scanner, d *delta) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "role":
			return p.String(&d.Role)
		case "content":
			return p.OptString(&d.Content)
		case "refusal":
			return p.OptString(&d.Refusal)
		case "reasoning_content":
			return p.OptString(&d.ReasoningContent)
		case "tool_calls":
			return readToolCalls(p, &d.ToolCalls)
		}
		return p.Unknown(key, chunkKeys)
	})
}
