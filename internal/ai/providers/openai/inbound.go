package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// CallerError is a request the gateway refuses before any provider sees
// it; Message is safe to show the client.
type CallerError struct {
	Param   string
	Message string
}

func (e *CallerError) Error() string { return e.Message }

func callerErrorf(param, format string, args ...any) *CallerError {
	return &CallerError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// DecodeChat decodes a Chat Completions request body into the canonical
// form. Errors are *CallerError.
func DecodeChat(body []byte) (*llm.Request, error) {
	var in chatRequest
	if err := decodeRequest(body, &in); err != nil {
		return nil, err
	}
	if in.Model == "" {
		return nil, callerErrorf("model", "model is required")
	}
	if len(in.Messages) == 0 {
		return nil, callerErrorf("messages", "messages must not be empty")
	}
	if in.N != nil && *in.N != 1 {
		return nil, callerErrorf("n", "n other than 1 is not supported")
	}
	r := &llm.Request{
		Model:             in.Model,
		ParallelToolCalls: in.ParallelToolCalls,
		MaxTokens:         in.MaxCompletionTokens,
		Temperature:       in.Temperature,
		TopP:              in.TopP,
		Stop:              in.Stop,
		Seed:              in.Seed,
		User:              in.User,
		Stream:            in.Stream,
	}
	if r.MaxTokens == 0 {
		r.MaxTokens = in.MaxTokens
	}
	if r.MaxTokens < 0 {
		return nil, callerErrorf("max_tokens", "max_tokens must be positive")
	}
	if in.StreamOptions != nil {
		r.StreamUsage = in.StreamOptions.IncludeUsage
	}
	switch in.ReasoningEffort {
	case "":
	case "none", "minimal", "low", "medium", "high", "xhigh":
		r.Reasoning = &llm.Reasoning{Mode: llm.ReasonEffort, Effort: in.ReasoningEffort}
	default:
		return nil, callerErrorf("reasoning_effort", "reasoning_effort %q is not valid (none, minimal, low, medium, high or xhigh)", in.ReasoningEffort)
	}
	r.Messages = make([]llm.Message, 0, len(in.Messages))
	for i := range in.Messages {
		m, err := decodeMessage(&in.Messages[i], i)
		if err != nil {
			return nil, err
		}
		r.Messages = append(r.Messages, m)
	}
	for i, t := range in.Tools {
		if t.Type != "function" {
			return nil, callerErrorf(fmt.Sprintf("tools[%d].type", i), "tool type %q is not supported (only function)", t.Type)
		}
		if t.Function.Name == "" {
			return nil, callerErrorf(fmt.Sprintf("tools[%d].function.name", i), "tool name is required")
		}
		r.Tools = append(r.Tools, llm.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters,
			Strict: t.Function.Strict != nil && *t.Function.Strict})
	}
	if tc := in.ToolChoice; tc != nil {
		switch {
		case tc.Name != "":
			r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolNamed, Name: tc.Name}
		case tc.Mode == "auto", tc.Mode == "none", tc.Mode == "required":
			r.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceMode(tc.Mode)}
		default:
			return nil, callerErrorf("tool_choice", "tool_choice %q is not valid", tc.Mode)
		}
	}
	if rf := in.ResponseFormat; rf != nil {
		switch rf.Type {
		case "text", "":
		case "json_object":
			r.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONObject}
		case "json_schema":
			if rf.JSONSchema == nil {
				return nil, callerErrorf("response_format.json_schema", "json_schema is required")
			}
			r.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: rf.JSONSchema.Name, Schema: rf.JSONSchema.Schema,
				Strict: rf.JSONSchema.Strict != nil && *rf.JSONSchema.Strict}
		default:
			return nil, callerErrorf("response_format.type", "response_format type %q is not supported", rf.Type)
		}
	}
	return r, nil
}

func decodeMessage(in *message, i int) (llm.Message, error) {
	param := fmt.Sprintf("messages[%d]", i)
	m := llm.Message{Name: in.Name}
	switch in.Role {
	case "system", "developer":
		m.Role = llm.RoleSystem
	case "user":
		m.Role = llm.RoleUser
	case "assistant":
		m.Role = llm.RoleAssistant
	case "tool":
		m.Role = llm.RoleTool
		if in.ToolCallID == "" {
			return m, callerErrorf(param+".tool_call_id", "a tool message needs tool_call_id")
		}
		m.ToolCallID = in.ToolCallID
	default:
		return m, callerErrorf(param+".role", "role %q is not supported", in.Role)
	}
	switch c := &in.Content; {
	case c.Null:
	case !c.IsParts:
		if c.Text != "" {
			m.Content = []llm.Part{{Type: llm.PartText, Text: c.Text}}
		}
	default:
		for j, p := range c.Parts {
			switch p.Type {
			case "text":
				m.Content = append(m.Content, llm.Part{Type: llm.PartText, Text: p.Text})
			case "refusal":
				m.Content = append(m.Content, llm.Part{Type: llm.PartText, Text: p.Refusal})
			case "image_url":
				if m.Role != llm.RoleUser {
					return m, callerErrorf(fmt.Sprintf("%s.content[%d]", param, j), "images are only allowed in user messages")
				}
				if p.ImageURL == nil || p.ImageURL.URL == "" {
					return m, callerErrorf(fmt.Sprintf("%s.content[%d].image_url.url", param, j), "image_url.url is required")
				}
				im, err := ParseImageURL(p.ImageURL.URL)
				if err != nil {
					return m, callerErrorf(fmt.Sprintf("%s.content[%d].image_url.url", param, j), "%v", err)
				}
				im.Detail = p.ImageURL.Detail
				m.Content = append(m.Content, llm.Part{Type: llm.PartImage, Image: im})
			default:
				return m, callerErrorf(fmt.Sprintf("%s.content[%d].type", param, j), "content part type %q is not supported", p.Type)
			}
		}
	}
	if in.Refusal != "" && len(m.Content) == 0 {
		m.Content = []llm.Part{{Type: llm.PartText, Text: in.Refusal}}
	}
	for j, tc := range in.ToolCalls {
		if m.Role != llm.RoleAssistant {
			return m, callerErrorf(param+".tool_calls", "only assistant messages carry tool_calls")
		}
		if tc.ID == "" || tc.Function.Name == "" {
			return m, callerErrorf(fmt.Sprintf("%s.tool_calls[%d]", param, j), "a tool call needs an id and a function name")
		}
		m.ToolCalls = append(m.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return m, nil
}

// ParseImageURL splits a data: URL into media type and base64 data, or
// keeps an http(s) URL as it is.
func ParseImageURL(u string) (*llm.Image, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mt, isB64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isB64 || !strings.HasPrefix(mt, "image/") {
			return nil, errors.New("a data URL image must have the form data:image/TYPE;base64,DATA")
		}
		return &llm.Image{MediaType: mt, Data: data}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &llm.Image{URL: u}, nil
	}
	return nil, fmt.Errorf("an image URL must be http(s) or a base64 data URL")
}

// DecodeEmbeddings decodes an Embeddings request body.
func DecodeEmbeddings(body []byte) (*llm.EmbeddingsRequest, error) {
	var in embeddingsRequest
	if err := strictUnmarshal(body, &in); err != nil {
		return nil, err
	}
	if in.Model == "" {
		return nil, callerErrorf("model", "model is required")
	}
	if len(in.Input) == 0 {
		return nil, callerErrorf("input", "input must not be empty")
	}
	switch in.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, callerErrorf("encoding_format", "encoding_format must be float or base64")
	}
	return &llm.EmbeddingsRequest{Model: in.Model, Input: in.Input, Dimensions: in.Dimensions, EncodingFormat: in.EncodingFormat, User: in.User}, nil
}

// strictUnmarshal decodes a JSON object, turning decoding failures into
// caller errors that name the field.
func strictUnmarshal(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return callerErrorf(te.Field, "%s: wrong type (%s)", te.Field, te.Value)
		}
		return callerErrorf("", "the request body is not valid JSON: %v", err)
	}
	return nil
}

// EncodeChat renders a complete answer as a Chat Completions response.
// id and model are what the client sees (the gateway's id and the model
// name the client asked for); created is a Unix time.
//
// Chat Completions has no field for the model's reasoning text: it goes in
// the message's reasoning_content, the field DeepSeek, vLLM and LiteLLM
// use (the SDKs keep it as an extra field), its blocks joined by blank
// lines. Signatures and redacted blocks, which only Anthropic's API can
// take back, are left out.
func EncodeChat(resp *llm.Response, id, model string, created int64) []byte {
	msg := answerMessage{Role: "assistant", ReasoningContent: reasoningText(resp.Thinking)}
	if resp.Refusal != "" {
		msg.Refusal = &resp.Refusal
	}
	if resp.Text == "" && (len(resp.ToolCalls) > 0 || resp.Refusal != "") {
		msg.Content = content{Null: true}
	} else {
		msg.Content = content{Text: resp.Text}
	}
	for _, tc := range resp.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, toolCall{ID: tc.ID, Type: "function", Function: functionCall{Name: tc.Name, Arguments: tc.Arguments}})
	}
	fr := finishReason(resp.FinishReason)
	out := chatAnswer{
		ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices: []answerChoice{{Index: 0, Message: &msg, FinishReason: fr}},
		Usage:   encodeUsage(resp.Usage),
	}
	return appendAnswer(make([]byte, 0, 384+len(resp.Text)), &out)
}

// reasoningText joins the text of thinking blocks (not redacted ones).
func reasoningText(blocks []llm.Thinking) string {
	var b strings.Builder
	for _, t := range blocks {
		if t.Redacted || t.Text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(t.Text)
	}
	return b.String()
}

func finishReason(f llm.FinishReason) string {
	if f == "" {
		return "stop"
	}
	return string(f)
}

func encodeUsage(u llm.Usage) *usage {
	out := &usage{PromptTokens: u.Input, CompletionTokens: u.Output, TotalTokens: u.Input + u.Output,
		PromptTokensDetails:     &promptTokensDetails{CachedTokens: u.CachedInput},
		CompletionTokensDetails: &completionDetails{ReasoningTokens: u.Reasoning}}
	return out
}

// EncodeEmbeddings renders vectors as an Embeddings response, as float
// arrays or, when format is "base64", as base64 of little-endian float32s
// (what OpenAI sends for that format).
func EncodeEmbeddings(resp *llm.EmbeddingsResponse, model, format string) []byte {
	out := embeddingsResponse{Object: "list", Model: model, Data: make([]embedding, len(resp.Vectors))}
	out.Usage.PromptTokens, out.Usage.TotalTokens = resp.Usage.Input, resp.Usage.Input
	for i, v := range resp.Vectors {
		var raw []byte
		if format == "base64" {
			buf := make([]byte, 4*len(v))
			for j, f := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(float32(f)))
			}
			raw, _ = json.Marshal(base64.StdEncoding.EncodeToString(buf))
		} else {
			raw, _ = json.Marshal(v)
		}
		out.Data[i] = embedding{Object: "embedding", Index: i, Embedding: raw}
	}
	b, _ := json.Marshal(out)
	return b
}

// Model is one entry of the model list.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// EncodeModels renders the model list (GET /v1/models).
func EncodeModels(names []string, created int64) []byte {
	list := struct {
		Object string  `json:"object"`
		Data   []Model `json:"data"`
	}{Object: "list", Data: make([]Model, len(names))}
	for i, n := range names {
		list.Data[i] = Model{ID: n, Object: "model", Created: created, OwnedBy: "sluice"}
	}
	b, _ := json.Marshal(list)
	return b
}

// EncodeModel renders one model (GET /v1/models/{id}).
func EncodeModel(name string, created int64) []byte {
	b, _ := json.Marshal(Model{ID: name, Object: "model", Created: created, OwnedBy: "sluice"})
	return b
}

// ErrorType maps an HTTP status to the OpenAI error type the SDKs expect.
func ErrorType(status int) string {
	switch status {
	case 400, 413, 422:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 429:
		return "rate_limit_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// EncodeError renders an error body: {"error":{message,type,param,code}}.
// code is the gateway's error code.
func EncodeError(status int, code, message, param string) []byte {
	var buf bytes.Buffer
	e := errorEnvelope{Error: &errorBody{Message: message, Type: ErrorType(status)}}
	if param != "" {
		e.Error.Param = &param
	}
	e.Error.Code, _ = json.Marshal(code)
	json.NewEncoder(&buf).Encode(e)
	return buf.Bytes()
}
