package anthropic

import (
	"encoding/json"

	"github.com/sluicegw/sluice/internal/jsonscan"
)

// decodeEvent decodes one stream event into e. The events and answers
// the Messages API sends (text, tool use, thinking, usage) are read by
// jsonscan, without reflection; anything else (errors, content blocks of
// requests, unusual documents) by encoding/json. FuzzEventScanner and
// FuzzMessageScanner hold the two to the same answers.
func (s *stream) decodeEvent(data []byte, e *streamEvent) error {
	if scanEvent(&s.scan, data, e) {
		return nil
	}
	*e = streamEvent{}
	return json.Unmarshal(data, e)
}

// decodeAnswer decodes a whole answer into m, as decodeEvent does.
func decodeAnswer(data []byte, m *messageResponse) error {
	var p jsonscan.Scanner
	p.Reset(data)
	if scanMessage(&p, m) && p.End() {
		return nil
	}
	*m = messageResponse{}
	return json.Unmarshal(data, m)
}

// eventKeys are the keys of the event types (see jsonscan.Scanner.Unknown).
var eventKeys = []string{"type", "message", "index", "content_block", "delta", "usage", "error",
	"text", "partial_json", "thinking", "signature", "stop_reason", "stop_sequence",
	"id", "role", "model", "content", "name", "input", "data", "source", "tool_use_id", "is_error", "cache_control",
	"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
	"output_tokens_details", "thinking_tokens", "media_type", "url"}

// scanEvent reads e from data, or reports false for what it leaves to
// encoding/json.
func scanEvent(p *jsonscan.Scanner, data []byte, e *streamEvent) bool {
	*e = streamEvent{}
	p.Reset(data)
	ok := p.Object(func(key []byte) bool {
		switch string(key) {
		case "type":
			return p.String(&e.Type)
		case "index":
			return p.Int(&e.Index)
		case "delta":
			return jsonscan.Opt(p, &e.Delta, func(d *streamDelta) bool { return scanDelta(p, d) })
		case "message":
			return jsonscan.Opt(p, &e.Message, func(m *messageResponse) bool { return scanMessage(p, m) })
		case "content_block":
			return jsonscan.Opt(p, &e.ContentBlock, func(b *block) bool { return scanBlock(p, b) })
		case "usage":
			return jsonscan.Opt(p, &e.Usage, func(u *usage) bool { return scanUsage(p, u) })
		case "error":
			return p.Null() // more is left to encoding/json
		}
		return p.Unknown(key, eventKeys)
	})
	return ok && p.End()
}

func scanDelta(p *jsonscan.Scanner, d *streamDelta) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "type":
			return p.String(&d.Type)
		case "text":
			return p.String(&d.Text)
		case "partial_json":
			return p.String(&d.PartialJSON)
		case "thinking":
			return p.String(&d.Thinking)
		case "signature":
			return p.String(&d.Signature)
		case "stop_reason":
			return p.OptString(&d.StopReason)
		case "stop_sequence":
			return p.OptString(&d.StopSequence)
		}
		return p.Unknown(key, eventKeys)
	})
}

// scanMessage reads an answer (or a stream's message_start message).
func scanMessage(p *jsonscan.Scanner, m *messageResponse) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return p.String(&m.ID)
		case "type":
			return p.String(&m.Type)
		case "role":
			return p.String(&m.Role)
		case "model":
			return p.String(&m.Model)
		case "content":
			return scanBlocks(p, &m.Content)
		case "stop_reason":
			return p.OptString(&m.StopReason)
		case "stop_sequence":
			return p.OptString(&m.StopSequence)
		case "usage":
			if p.Null() {
				return true // a null leaves a struct as it is
			}
			return scanUsage(p, &m.Usage)
		}
		return p.Unknown(key, eventKeys)
	})
}

func scanBlocks(p *jsonscan.Scanner, dst *[]block) bool {
	if p.Null() {
		*dst = nil
		return true
	}
	*dst = []block{}
	return scanBlockList(p, dst)
}

// scanBlockList reads an array of blocks, appending them to *dst.
func scanBlockList(p *jsonscan.Scanner, dst *[]block) bool {
	return p.Array(func() bool {
		var b block
		ok := scanBlock(p, &b)
		*dst = append(*dst, b)
		return ok
	})
}

// scanBlock reads a content block of any type, of a request or an answer.
func scanBlock(p *jsonscan.Scanner, b *block) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "type":
			return p.String(&b.Type)
		case "text":
			return p.String(&b.Text)
		case "id":
			return p.String(&b.ID)
		case "name":
			return p.String(&b.Name)
		case "input":
			return p.Raw(&b.Input)
		case "thinking":
			return p.String(&b.Thinking)
		case "signature":
			return p.String(&b.Signature)
		case "data":
			return p.String(&b.Data)
		case "tool_use_id":
			return p.String(&b.ToolUseID)
		case "is_error":
			return p.Bool(&b.IsError)
		case "cache_control":
			return p.Raw(&b.CacheControl)
		case "content":
			return jsonscan.Opt(p, &b.Content, func(v *content) bool {
				return scanContent(p, v)
			})
		case "source":
			return jsonscan.Opt(p, &b.Source, func(src *imageSource) bool {
				return p.Object(func(key []byte) bool {
					switch string(key) {
					case "type":
						return p.String(&src.Type)
					case "media_type":
						return p.String(&src.MediaType)
					case "data":
						return p.String(&src.Data)
					case "url":
						return p.String(&src.URL)
					}
					return p.Unknown(key, eventKeys)
				})
			})
		}
		return p.Unknown(key, eventKeys)
	})
}

// scanContent reads a message's (or a tool result's) content: a string or
// an array of blocks; anything else (null too) is left to encoding/json,
// which refuses it.
func scanContent(p *jsonscan.Scanner, c *content) bool {
	*c = content{}
	if p.Null() {
		return false
	}
	if p.String(&c.Text) {
		return true
	}
	*c = content{IsArray: true, Blocks: []block{}}
	return scanBlockList(p, &c.Blocks)
}

// scanUsage reads token counts; the breakdowns Anthropic adds beside them
// (cache_creation, server_tool_use, service_tier) are skipped.
func scanUsage(p *jsonscan.Scanner, u *usage) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "input_tokens":
			return p.Int64(&u.InputTokens)
		case "output_tokens":
			return p.Int64(&u.OutputTokens)
		case "cache_creation_input_tokens":
			return p.Int64(&u.CacheCreationInputTokens)
		case "cache_read_input_tokens":
			return p.Int64(&u.CacheReadInputTokens)
		case "output_tokens_details":
			return jsonscan.Opt(p, &u.OutputTokensDetails, func(d *outputTokensDetails) bool {
				return p.Object(func(key []byte) bool {
					if string(key) == "thinking_tokens" {
						return p.Int64(&d.ThinkingTokens)
					}
					return p.Unknown(key, eventKeys)
				})
			})
		}
		return p.Unknown(key, eventKeys)
	})
}
