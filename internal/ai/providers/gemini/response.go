package gemini

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// decodeResponse translates a whole generateContent answer. Only the first
// candidate is read (the adapter never asks for more).
func (p *Provider) decodeResponse(model string, w *wireResponse) (*llm.Response, error) {
	if w.Error != nil {
		return nil, statusError(0, nil, w.Error)
	}
	out := &llm.Response{ID: w.ResponseID, Model: w.ModelVersion}
	if out.Model == "" {
		out.Model = model
	}
	if w.UsageMetadata != nil {
		out.Usage = usage(w.UsageMetadata)
	}
	if len(w.Candidates) == 0 {
		if w.PromptFeedback != nil && w.PromptFeedback.BlockReason != "" {
			out.FinishReason = llm.FinishContentFilter
			return out, nil
		}
		return nil, llm.Errorf(llm.ClassBadResponse, "gemini: response without candidates")
	}
	cand := &w.Candidates[0]
	ids := newCallIDs(w.ResponseID)
	var text strings.Builder
	if cand.Content != nil {
		for i := range cand.Content.Parts {
			part := &cand.Content.Parts[i]
			switch {
			case part.Thought:
				// A thought summary: not part of the answer.
			case part.FunctionCall != nil:
				tc := p.toolCall(model, ids, part)
				out.ToolCalls = append(out.ToolCalls, tc)
			case part.Text != "":
				text.WriteString(part.Text)
			}
		}
	}
	out.Text = text.String()
	fr, err := finishReason(cand.FinishReason, cand.FinishMessage, len(out.ToolCalls) > 0)
	if err != nil {
		return nil, err
	}
	out.FinishReason = fr
	return out, nil
}

// toolCall converts a functionCall part, remembering its thought
// signature for the turn that replays it.
func (p *Provider) toolCall(model string, ids *callIDs, part *wirePart) llm.ToolCall {
	fc := part.FunctionCall
	tc := llm.ToolCall{ID: ids.next(fc.ID), Name: fc.Name, Arguments: "{}"}
	if len(fc.Args) > 0 && fc.Args[0] == '{' {
		var buf bytes.Buffer
		if json.Compact(&buf, fc.Args) == nil {
			tc.Arguments = buf.String()
		}
	}
	if part.ThoughtSignature != "" {
		p.sigs.put(model, tc.ID, part.ThoughtSignature)
	}
	return tc
}

// callIDs names the tool calls of one response.
type callIDs struct {
	tag string
	n   int
}

func newCallIDs(responseID string) *callIDs {
	var tag strings.Builder
	for _, r := range responseID {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			tag.WriteRune(r)
			if tag.Len() == 24 {
				break
			}
		}
	}
	if tag.Len() == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		tag.WriteString(hex.EncodeToString(b[:]))
	}
	return &callIDs{tag: tag.String()}
}

// next returns the canonical id of the response's next call: Gemini's own
// id under nativeIDPrefix, else "call_<tag>_<n>".
func (c *callIDs) next(native string) string {
	n := c.n
	c.n++
	if native != "" {
		return nativeIDPrefix + native
	}
	return "call_" + c.tag + "_" + strconv.Itoa(n)
}

// finishReason maps a candidate's finishReason. A finish with function
// calls is tool_calls. MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL and
// TOO_MANY_TOOL_CALLS leave no usable answer: they are ClassBadResponse
// errors (a retry samples anew).
func finishReason(reason, message string, hasCalls bool) (llm.FinishReason, error) {
	switch reason {
	case "MAX_TOKENS":
		return llm.FinishLength, nil
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return llm.FinishContentFilter, nil
	case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS":
		return "", &llm.ProviderError{Class: llm.ClassBadResponse, Status: 200, Type: reason, Message: message}
	}
	if hasCalls {
		return llm.FinishToolCalls, nil
	}
	return llm.FinishStop, nil
}

// usage maps usageMetadata. Gemini counts thoughts apart from the
// candidates, so Output is candidates + thoughts and Reasoning the
// thoughts; promptTokenCount already includes the cached tokens, and
// tokens of server-side tool results count as input.
func usage(u *wireUsage) llm.Usage {
	return llm.Usage{
		Input:       u.PromptTokenCount + u.ToolUsePromptTokenCount,
		CachedInput: u.CachedContentTokenCount,
		Output:      u.CandidatesTokenCount + u.ThoughtsTokenCount,
		Reasoning:   u.ThoughtsTokenCount,
	}
}
