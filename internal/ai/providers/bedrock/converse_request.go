package bedrock

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// The Converse request body (the fields this adapter sends). Field names
// and shapes are those of the bedrock-runtime API reference; unions are
// structs of pointers of which exactly one is set.
type converseRequest struct {
	Messages                     []message        `json:"messages"`
	System                       []systemBlock    `json:"system,omitempty"`
	InferenceConfig              *inferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig                   *toolConfig      `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields json.RawMessage  `json:"additionalModelRequestFields,omitempty"`
	OutputConfig                 *outputConfig    `json:"outputConfig,omitempty"`
}

type message struct {
	Role    string         `json:"role"`
	Content []contentBlock `json:"content"`
}

type systemBlock struct {
	Text string `json:"text"`
}

type contentBlock struct {
	Text             *string                `json:"text,omitempty"`
	Image            *imageBlock            `json:"image,omitempty"`
	ToolUse          *toolUseBlock          `json:"toolUse,omitempty"`
	ToolResult       *toolResultBlock       `json:"toolResult,omitempty"`
	ReasoningContent *reasoningContentBlock `json:"reasoningContent,omitempty"`
}

type imageBlock struct {
	Format string      `json:"format"`
	Source imageSource `json:"source"`
}

// imageSource carries the image bytes; the JSON protocol encodes a blob
// as base64, so the canonical base64 text goes through unchanged.
type imageSource struct {
	Bytes string `json:"bytes"`
}

type toolUseBlock struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type toolResultBlock struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []toolResultContent `json:"content"`
	Status    string              `json:"status,omitempty"`
}

type toolResultContent struct {
	Text  *string     `json:"text,omitempty"`
	Image *imageBlock `json:"image,omitempty"`
}

type inferenceConfig struct {
	MaxTokens     int      `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type toolConfig struct {
	Tools      []tool      `json:"tools"`
	ToolChoice *toolChoice `json:"toolChoice,omitempty"`
}

type tool struct {
	ToolSpec toolSpec `json:"toolSpec"`
}

type toolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema inputSchema `json:"inputSchema"`
}

type inputSchema struct {
	JSON json.RawMessage `json:"json"`
}

type toolChoice struct {
	Auto *struct{}  `json:"auto,omitempty"`
	Any  *struct{}  `json:"any,omitempty"`
	Tool *namedTool `json:"tool,omitempty"`
}

type namedTool struct {
	Name string `json:"name"`
}

type outputConfig struct {
	TextFormat outputFormat `json:"textFormat"`
}

type outputFormat struct {
	Type      string          `json:"type"`
	Structure outputStructure `json:"structure"`
}

type outputStructure struct {
	JSONSchema jsonSchemaDefinition `json:"jsonSchema"`
}

// jsonSchemaDefinition carries the schema as JSON text in a string, as
// the API wants it.
type jsonSchemaDefinition struct {
	Schema string `json:"schema"`
	Name   string `json:"name,omitempty"`
}

// emptySchema is the input schema of a tool declared without parameters.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// encodeRequest translates a canonical request into a Converse body for
// the provider model model. What Converse cannot express is dropped: the
// seed, the end-user id, the parallel-tool-calls switch, participant
// names, and the json_object response format (Converse has only
// schema-constrained output). top_k and reasoning go in
// additionalModelRequestFields for Anthropic models only, the one family
// known to take them there (see encodeReasoning); assistant turns carry
// their thinking back to Anthropic models only.
//
// Faults of the request itself (an image given by URL, an image type
// Converse does not take, tool-call arguments that are not a JSON object,
// redacted thinking that is not base64) are *llm.ProviderError of class
// ClassCaller.
func encodeRequest(r *llm.Request, model string) ([]byte, error) {
	out := converseRequest{Messages: make([]message, 0, len(r.Messages))}
	anthropic := isAnthropic(model)
	hasToolBlocks := false
	for i := range r.Messages {
		m := &r.Messages[i]
		if m.Role == llm.RoleSystem {
			if t := m.Text(); t != "" {
				out.System = append(out.System, systemBlock{Text: t})
			}
			continue
		}
		role, blocks, err := encodeMessage(m, i, anthropic)
		if err != nil {
			return nil, err
		}
		if len(blocks) == 0 {
			continue // Converse rejects empty turns; an empty turn says nothing
		}
		if m.Role == llm.RoleTool || len(m.ToolCalls) > 0 {
			hasToolBlocks = true
		}
		// Converse wants user and assistant turns to alternate: tool
		// results (user turns here) and the text after them join into one.
		if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
			out.Messages[n-1].Content = append(out.Messages[n-1].Content, blocks...)
			continue
		}
		out.Messages = append(out.Messages, message{Role: role, Content: blocks})
	}

	ic := inferenceConfig{MaxTokens: r.MaxTokens, Temperature: r.Temperature, TopP: r.TopP, StopSequences: r.Stop}
	if anthropic {
		ic, out.AdditionalModelRequestFields = encodeAnthropicFields(r, ic)
	}
	if ic.MaxTokens > 0 || ic.Temperature != nil || ic.TopP != nil || len(ic.StopSequences) > 0 {
		out.InferenceConfig = ptr(ic)
	}
	out.ToolConfig = encodeTools(r, hasToolBlocks)
	if f := r.ResponseFormat; f != nil && f.Type == llm.FormatJSONSchema && len(f.Schema) > 0 {
		var schema bytes.Buffer
		if err := json.Compact(&schema, f.Schema); err != nil {
			return nil, callerError("the response format's JSON schema is not valid JSON")
		}
		out.OutputConfig = &outputConfig{TextFormat: outputFormat{
			Type:      "json_schema",
			Structure: outputStructure{JSONSchema: jsonSchemaDefinition{Schema: schema.String(), Name: f.Name}},
		}}
	}
	body, err := json.Marshal(&out)
	if err != nil {
		// Only a tool's parameters can fail here: they are not valid JSON.
		return nil, callerError("a tool's parameters are not a valid JSON schema")
	}
	return body, nil
}

// encodeMessage translates one non-system message into a Converse role
// and content blocks; i is its index, for error messages. An assistant
// turn's thinking comes first, as reasoningContent blocks, when
// withThinking (the model is Anthropic's); otherwise it is dropped.
func encodeMessage(m *llm.Message, i int, withThinking bool) (string, []contentBlock, error) {
	switch m.Role {
	case llm.RoleTool:
		res := &toolResultBlock{ToolUseID: m.ToolCallID, Content: []toolResultContent{}}
		if m.IsError {
			res.Status = "error"
		}
		for _, p := range m.Content {
			switch p.Type {
			case llm.PartText:
				if p.Text != "" {
					res.Content = append(res.Content, toolResultContent{Text: ptr(p.Text)})
				}
			case llm.PartImage:
				img, err := encodeImage(p.Image, i)
				if err != nil {
					return "", nil, err
				}
				res.Content = append(res.Content, toolResultContent{Image: img})
			}
		}
		return "user", []contentBlock{{ToolResult: res}}, nil
	case llm.RoleUser, llm.RoleAssistant:
	default:
		return "", nil, callerError("message " + strconv.Itoa(i) + " has an unknown role")
	}
	blocks := make([]contentBlock, 0, len(m.Thinking)+len(m.Content)+len(m.ToolCalls))
	if m.Role == llm.RoleAssistant && withThinking {
		var err error
		if blocks, err = appendThinking(blocks, m.Thinking, i); err != nil {
			return "", nil, err
		}
	}
	for _, p := range m.Content {
		switch p.Type {
		case llm.PartText:
			if p.Text != "" { // Converse rejects blank text blocks
				blocks = append(blocks, contentBlock{Text: ptr(p.Text)})
			}
		case llm.PartImage:
			img, err := encodeImage(p.Image, i)
			if err != nil {
				return "", nil, err
			}
			blocks = append(blocks, contentBlock{Image: img})
		}
	}
	if m.Role == llm.RoleAssistant {
		for _, tc := range m.ToolCalls {
			input, err := toolInput(tc.Arguments)
			if err != nil {
				return "", nil, callerError("message " + strconv.Itoa(i) + ": the arguments of tool call " + strconv.Quote(tc.ID) + " are not a JSON object")
			}
			blocks = append(blocks, contentBlock{ToolUse: &toolUseBlock{ToolUseID: tc.ID, Name: tc.Name, Input: input}})
		}
	}
	return string(m.Role), blocks, nil
}

// toolInput returns tool-call arguments as a compact JSON object; empty
// arguments are the empty object.
func toolInput(args string) (json.RawMessage, error) {
	args = strings.TrimSpace(args)
	if args == "" {
		return json.RawMessage(`{}`), nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(args)); err != nil {
		return nil, err
	}
	if b.Len() == 0 || b.Bytes()[0] != '{' {
		return nil, errNotObject
	}
	return b.Bytes(), nil
}

var errNotObject = callerError("not a JSON object")

// encodeImage translates an inline image. Converse takes only inline
// bytes (or S3 locations): an image given by an http(s) URL is refused
// rather than fetched, for fetching caller-chosen URLs from the gateway
// would open it to server-side request forgery.
func encodeImage(im *llm.Image, i int) (*imageBlock, error) {
	if im == nil {
		return nil, callerError("message " + strconv.Itoa(i) + " has an empty image part")
	}
	mediaType, data := im.MediaType, im.Data
	if data == "" {
		var ok bool
		mediaType, data, ok = parseDataURL(im.URL)
		if !ok {
			return nil, callerError("message " + strconv.Itoa(i) + ": Bedrock does not accept images by URL; send the image inline as base64 data")
		}
	}
	format, ok := imageFormats[strings.ToLower(mediaType)]
	if !ok {
		return nil, callerError("message " + strconv.Itoa(i) + ": Bedrock accepts png, jpeg, gif and webp images, not " + strconv.Quote(mediaType))
	}
	return &imageBlock{Format: format, Source: imageSource{Bytes: data}}, nil
}

var imageFormats = map[string]string{
	"image/png":  "png",
	"image/jpeg": "jpeg",
	"image/jpg":  "jpeg",
	"image/gif":  "gif",
	"image/webp": "webp",
}

// parseDataURL splits a base64 data: URL into its media type and data.
func parseDataURL(u string) (mediaType, data string, ok bool) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return "", "", false
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok {
		return "", "", false
	}
	mediaType, ok = strings.CutSuffix(meta, ";base64")
	return mediaType, data, ok && data != ""
}

// encodeTools builds the toolConfig. Converse has no "none" tool choice:
// for ToolNone the tools are left out, unless the conversation already
// holds tool calls or results, which Converse accepts only alongside a
// toolConfig; then the tools are sent with no choice (the model decides).
//
// A conversation with tool calls but no tool definitions (clients often
// drop them on a follow-up turn) gets one parameterless definition per
// tool name called, since Converse refuses tool blocks without tools.
func encodeTools(r *llm.Request, hasToolBlocks bool) *toolConfig {
	if len(r.Tools) == 0 {
		if !hasToolBlocks {
			return nil
		}
		return historyTools(r.Messages)
	}
	none := r.ToolChoice != nil && r.ToolChoice.Mode == llm.ToolNone
	if none && !hasToolBlocks {
		return nil
	}
	tc := &toolConfig{Tools: make([]tool, len(r.Tools))}
	for i, t := range r.Tools {
		schema := t.Parameters
		if len(bytes.TrimSpace(schema)) == 0 || string(bytes.TrimSpace(schema)) == "null" {
			schema = emptySchema
		}
		tc.Tools[i] = tool{ToolSpec: toolSpec{Name: t.Name, Description: t.Description, InputSchema: inputSchema{JSON: schema}}}
	}
	if r.ToolChoice != nil {
		switch r.ToolChoice.Mode {
		case llm.ToolAuto:
			tc.ToolChoice = &toolChoice{Auto: &struct{}{}}
		case llm.ToolRequired:
			tc.ToolChoice = &toolChoice{Any: &struct{}{}}
		case llm.ToolNamed:
			tc.ToolChoice = &toolChoice{Tool: &namedTool{Name: r.ToolChoice.Name}}
		}
	}
	return tc
}

// historyTools declares the tools called in msgs, without parameters.
func historyTools(msgs []llm.Message) *toolConfig {
	tc := &toolConfig{}
	seen := map[string]bool{}
	for i := range msgs {
		for _, call := range msgs[i].ToolCalls {
			if !seen[call.Name] {
				seen[call.Name] = true
				tc.Tools = append(tc.Tools, tool{ToolSpec: toolSpec{Name: call.Name, InputSchema: inputSchema{JSON: emptySchema}}})
			}
		}
	}
	if len(tc.Tools) == 0 {
		return nil // tool results alone: let Bedrock say what it thinks
	}
	return tc
}

// isAnthropic reports whether a Bedrock model id (a base model id, an
// inference profile id like us.anthropic.claude-…, or an ARN ending in
// one) names an Anthropic model.
func isAnthropic(model string) bool {
	return strings.HasPrefix(model, "anthropic.") || strings.Contains(model, ".anthropic.") || strings.Contains(model, "/anthropic.")
}

func callerError(msg string) *llm.ProviderError {
	return &llm.ProviderError{Class: llm.ClassCaller, Message: msg}
}

func ptr[T any](v T) *T { return &v }
