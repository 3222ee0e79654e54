package openai

import (
	"encoding/json"

	"github.com/sluicegw/sluice/internal/jsonscan"
)

// decodeChunk decodes one stream chunk into c. A stream is hundreds of
// chunks and encoding/json's reflection was most of the gateway's time on
// one, so the common chunks (role, text, refusal and reasoning deltas,
// finish reasons) are read by chunkScanner; whatever it does not take
// (tool calls, usage, errors, logprobs, anything unusual) goes to
// encoding/json. FuzzChunkScanner holds the scanner to encoding/json's
// answers.
func (s *stream) decodeChunk(data []byte, c *chunk) error {
	if s.scan.decode(data, c) {
		return nil
	}
	*c = chunk{}
	return json.Unmarshal(data, c)
}

// chunkScanner reads the common Chat Completions chunks without
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
	"tool_calls"}

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
		case "usage", "error":
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
	if !p.Consume('[') {
		return false
	}
	c.Choices = c.Choices[:0]
	if p.Consume(']') {
		if c.Choices == nil {
			c.Choices = []choice{}
		}
		return true
	}
	for {
		var ch choice
		if !readChoice(p, &ch) {
			return false
		}
		c.Choices = append(c.Choices, ch)
		if p.Consume(']') {
			return true
		}
		if !p.Consume(',') {
			return false
		}
	}
}

func readChoice(p *jsonscan.Scanner, ch *choice) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "index":
			var n int64
			if !p.Int64(&n) || int64(int(n)) != n {
				return false
			}
			ch.Index = int(n)
			return true
		case "delta":
			if p.Null() {
				ch.Delta = nil
				return true
			}
			d := new(delta)
			ch.Delta = d
			return readDelta(p, d)
		case "finish_reason":
			return p.OptString(&ch.FinishReason)
		case "logprobs":
			return p.Null()
		case "message":
			return false
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
			return false
		}
		return p.Unknown(key, chunkKeys)
	})
}
