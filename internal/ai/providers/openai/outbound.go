package openai

import (
	"encoding/json"
	"strings"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// encodeChat renders the canonical request in this flavor's dialect.
func (p *Provider) encodeChat(c *llm.Call, stream bool) []byte {
	r := c.Request
	out := chatRequest{
		Model:             c.Model,
		ParallelToolCalls: r.ParallelToolCalls,
		Temperature:       r.Temperature,
		TopP:              r.TopP,
		Stop:              r.Stop,
		User:              r.User,
		Stream:            stream,
	}
	switch p.flavor {
	case FlavorAzure:
		out.Model = "" // the deployment in the URL names the model
	case FlavorMistral:
		out.User = "" // refused as an extra input (422)
	}
	switch p.flavor {
	case FlavorOpenAI, FlavorAzure:
		// max_tokens is refused by reasoning models.
		out.MaxCompletionTokens = r.MaxTokens
	default:
		out.MaxTokens = r.MaxTokens
	}
	if r.Seed != nil {
		if p.flavor == FlavorMistral {
			out.RandomSeed = r.Seed
		} else {
			out.Seed = r.Seed
		}
	}
	if rs := r.Reasoning; rs != nil && (p.flavor == FlavorOpenAI || p.flavor == FlavorAzure) {
		// Others may refuse the field (Mistral answers 422 to unknown
		// ones); their reasoning models think by themselves.
		if rs.Off() {
			out.ReasoningEffort = "none"
		} else {
			out.ReasoningEffort = rs.EffortLevel()
		}
	}
	if stream && p.flavor != FlavorMistral {
		// Always ask for usage: the gateway accounts for it even when the
		// client did not ask (the chunk is then dropped). Mistral sends
		// usage on its last chunk unasked and refuses unknown fields.
		out.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	out.Messages = p.encodeMessages(r.Messages)
	for _, t := range r.Tools {
		params := t.Parameters
		if len(params) == 0 {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		fd := functionDef{Name: t.Name, Description: t.Description, Parameters: params}
		if t.Strict {
			fd.Strict = &t.Strict
		}
		out.Tools = append(out.Tools, tool{Type: "function", Function: fd})
	}
	if tc := r.ToolChoice; tc != nil {
		switch tc.Mode {
		case llm.ToolNamed:
			out.ToolChoice = &toolChoice{Name: tc.Name}
		case llm.ToolRequired:
			mode := "required"
			if p.flavor == FlavorMistral {
				mode = "any"
			}
			out.ToolChoice = &toolChoice{Mode: mode}
		default:
			out.ToolChoice = &toolChoice{Mode: string(tc.Mode)}
		}
	}
	if len(out.Tools) == 0 {
		out.ParallelToolCalls, out.ToolChoice = nil, nil // refused without tools
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case llm.FormatJSONObject:
			out.ResponseFormat = &responseFormat{Type: "json_object"}
		case llm.FormatJSONSchema:
			strict := rf.Strict
			name := rf.Name
			if name == "" {
				name = "response"
			}
			out.ResponseFormat = &responseFormat{Type: "json_schema", JSONSchema: &jsonSchema{Name: name, Schema: rf.Schema, Strict: &strict}}
		}
	}
	b, _ := json.Marshal(out)
	return b
}

// encodeMessages renders the canonical messages. Tool results cannot
// carry images in this API, so the images of a run of tool results follow
// it in a user message; nor can they say the tool failed, so a failed
// tool's result is {"error": result} (llm.ErrorResult).
func (p *Provider) encodeMessages(msgs []llm.Message) []message {
	out := make([]message, 0, len(msgs))
	var images []contentPart // of the current run of tool results
	for i := range msgs {
		m := &msgs[i]
		if m.Role != llm.RoleTool && len(images) > 0 {
			out = append(out, message{Role: "user", Content: content{IsParts: true, Parts: images}})
			images = nil
		}
		if m.Role == llm.RoleTool {
			tm := *m
			tm.Content = nil
			for _, part := range m.Content {
				if part.Type == llm.PartImage {
					images = append(images, imagePart(part.Image))
				} else {
					tm.Content = append(tm.Content, part)
				}
			}
			if m.IsError {
				// The API has no flag for a failed tool: the result says it.
				tm.Content = []llm.Part{{Type: llm.PartText, Text: string(llm.ErrorResult(tm.Text()))}}
			}
			m = &tm
		}
		em := encodeMessage(m)
		if p.flavor == FlavorMistral && m.Role != llm.RoleTool {
			em.Name = "" // only tool messages may have one (422 otherwise)
		}
		out = append(out, em)
	}
	if len(images) > 0 {
		out = append(out, message{Role: "user", Content: content{IsParts: true, Parts: images}})
	}
	return out
}

func imagePart(im *llm.Image) contentPart {
	return contentPart{Type: "image_url", ImageURL: &imageURL{URL: im.DataURL(), Detail: im.Detail}}
}

// encodeMessage renders one canonical message. Content of one text part
// is a string; content with images or several text parts is an array of
// parts (joining the texts would run them together).
func encodeMessage(m *llm.Message) message {
	out := message{Role: string(m.Role), Name: m.Name, ToolCallID: m.ToolCallID}
	var parts []llm.Part // without empty texts, which the API refuses as parts
	hasImage := false
	for _, p := range m.Content {
		hasImage = hasImage || p.Type == llm.PartImage
		if p.Type == llm.PartImage || p.Text != "" {
			parts = append(parts, p)
		}
	}
	switch {
	case hasImage || len(parts) > 1:
		out.Content.IsParts = true
		for _, p := range parts {
			if p.Type == llm.PartImage {
				out.Content.Parts = append(out.Content.Parts, imagePart(p.Image))
			} else {
				out.Content.Parts = append(out.Content.Parts, contentPart{Type: "text", Text: p.Text})
			}
		}
	case len(parts) == 0 && len(m.ToolCalls) > 0:
		out.Content.Null = true
	case len(parts) == 1:
		out.Content.Text = parts[0].Text
	}
	for _, tc := range m.ToolCalls {
		args := tc.Arguments
		if strings.TrimSpace(args) == "" {
			args = "{}"
		}
		out.ToolCalls = append(out.ToolCalls, toolCall{ID: tc.ID, Type: "function", Function: functionCall{Name: tc.Name, Arguments: args}})
	}
	return out
}

// decodeChatResponse turns a provider's answer into the canonical form.
func decodeChatResponse(in *chunk) (*llm.Response, error) {
	if in.Error != nil {
		return nil, in.Error.providerError()
	}
	if len(in.Choices) == 0 || in.Choices[0].Message == nil {
		return nil, llm.Errorf(llm.ClassBadResponse, "openai: the answer has no choices")
	}
	ch := in.Choices[0]
	m := ch.Message
	out := &llm.Response{ID: in.ID, Model: in.Model, Refusal: m.Refusal}
	if m.ReasoningContent != "" {
		out.Thinking = []llm.Thinking{{Text: m.ReasoningContent}}
	}
	if m.Content.IsParts {
		for _, p := range m.Content.Parts {
			out.Text += p.Text
		}
	} else {
		out.Text = m.Content.Text
	}
	for _, tc := range m.ToolCalls {
		out.ToolCalls = append(out.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	if ch.FinishReason != nil {
		out.FinishReason = decodeFinish(*ch.FinishReason)
	}
	if in.Usage != nil {
		out.Usage = decodeUsage(in.Usage)
	}
	return out, nil
}

// decodeFinish maps a finish_reason, including the legacy function_call
// and the names some compatible servers use.
func decodeFinish(s string) llm.FinishReason {
	switch s {
	case "length", "model_length":
		return llm.FinishLength
	case "tool_calls", "function_call":
		return llm.FinishToolCalls
	case "content_filter":
		return llm.FinishContentFilter
	}
	return llm.FinishStop
}

func decodeUsage(u *usage) llm.Usage {
	out := llm.Usage{Input: u.PromptTokens, Output: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil {
		out.CachedInput = d.CachedTokens
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.Reasoning = d.ReasoningTokens
	}
	return out
}
