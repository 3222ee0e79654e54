package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The Converse request as the mock reads it: unknown fields are refused,
// as bedrock-runtime refuses them.
type mockConverseRequest struct {
	Messages []struct {
		Role    string           `json:"role"`
		Content []mockConverseCB `json:"content"`
	} `json:"messages"`
	System []struct {
		Text string `json:"text"`
	} `json:"system"`
	InferenceConfig *struct {
		MaxTokens     *int     `json:"maxTokens"`
		Temperature   *float64 `json:"temperature"`
		TopP          *float64 `json:"topP"`
		StopSequences []string `json:"stopSequences"`
	} `json:"inferenceConfig"`
	ToolConfig *struct {
		Tools []struct {
			ToolSpec *struct {
				Name        string `json:"name"`
				Description string `json:"description"`
				InputSchema struct {
					JSON json.RawMessage `json:"json"`
				} `json:"inputSchema"`
			} `json:"toolSpec"`
		} `json:"tools"`
		ToolChoice *struct {
			Auto *struct{} `json:"auto"`
			Any  *struct{} `json:"any"`
			Tool *struct {
				Name string `json:"name"`
			} `json:"tool"`
		} `json:"toolChoice"`
	} `json:"toolConfig"`
	AdditionalModelRequestFields json.RawMessage `json:"additionalModelRequestFields"`
	OutputConfig                 *struct {
		TextFormat struct {
			Type      string `json:"type"`
			Structure struct {
				JSONSchema struct {
					Schema string `json:"schema"`
					Name   string `json:"name"`
				} `json:"jsonSchema"`
			} `json:"structure"`
		} `json:"textFormat"`
	} `json:"outputConfig"`
}

type mockConverseCB struct {
	Text    *string         `json:"text"`
	Image   *mockImageBlock `json:"image"`
	ToolUse *struct {
		ToolUseID string          `json:"toolUseId"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
	} `json:"toolUse"`
	ToolResult *struct {
		ToolUseID string `json:"toolUseId"`
		Content   []struct {
			Text  *string         `json:"text"`
			JSON  json.RawMessage `json:"json"`
			Image *mockImageBlock `json:"image"`
		} `json:"content"`
		Status string `json:"status"`
	} `json:"toolResult"`
	ReasoningContent *struct {
		ReasoningText *struct {
			Text      *string `json:"text"`
			Signature string  `json:"signature"`
		} `json:"reasoningText"`
		RedactedContent []byte `json:"redactedContent"` // base64 in JSON: decoding checks it
	} `json:"reasoningContent"`
}

type mockImageBlock struct {
	Format string `json:"format"`
	Source struct {
		Bytes []byte `json:"bytes"` // base64 in JSON: decoding checks it
	} `json:"source"`
}

// validateConverse applies the Converse rules an adapter can break to a
// request for model and returns the ValidationException message, or "".
func validateConverse(body []byte, model string) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req mockConverseRequest
	if err := dec.Decode(&req); err != nil {
		return "Malformed input request: " + err.Error()
	}
	if len(req.Messages) == 0 {
		return "A conversation must start with a user message."
	}
	for _, s := range req.System {
		if strings.TrimSpace(s.Text) == "" {
			return "The text field in the system content block is blank."
		}
	}
	toolBlocks := false
	var prevUses map[string]bool
	for i, m := range req.Messages {
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if m.Role != want {
			return fmt.Sprintf("messages.%d: a conversation must alternate between user and assistant roles, starting with user", i)
		}
		if len(m.Content) == 0 {
			return fmt.Sprintf("messages.%d: the content field is empty", i)
		}
		uses := map[string]bool{}
		for j, b := range m.Content {
			where := fmt.Sprintf("messages.%d.content.%d", i, j)
			if count(b.Text != nil, b.Image != nil, b.ToolUse != nil, b.ToolResult != nil, b.ReasoningContent != nil) != 1 {
				return where + ": a content block must have exactly one member"
			}
			switch {
			case b.Text != nil && strings.TrimSpace(*b.Text) == "":
				return where + ": the text field is blank"
			case b.Image != nil:
				if msg := validateImage(b.Image); msg != "" {
					return where + ": " + msg
				}
			case b.ToolUse != nil:
				toolBlocks = true
				if m.Role != "assistant" || b.ToolUse.ToolUseID == "" || b.ToolUse.Name == "" || !isJSONObject(b.ToolUse.Input) {
					return where + ": a toolUse needs an assistant turn, an id, a name and an object input"
				}
				uses[b.ToolUse.ToolUseID] = true
			case b.ReasoningContent != nil:
				rc := b.ReasoningContent
				switch {
				case m.Role != "assistant":
					return where + ": reasoningContent is allowed in assistant turns only"
				case count(rc.ReasoningText != nil, len(rc.RedactedContent) > 0) != 1:
					return where + ": a reasoningContent block must have exactly one member"
				case rc.ReasoningText != nil && rc.ReasoningText.Text == nil:
					return where + ": reasoningText.text is required"
				case rc.ReasoningText != nil && rc.ReasoningText.Signature == "" && anthropicModel(model):
					return where + ": reasoningText.signature: Field required"
				}
			case b.ToolResult != nil:
				toolBlocks = true
				tr := b.ToolResult
				if m.Role != "user" || !prevUses[tr.ToolUseID] {
					return where + ": the toolResult does not answer a toolUse of the previous turn"
				}
				if tr.Status != "" && tr.Status != "success" && tr.Status != "error" {
					return where + ": status must be success or error"
				}
				for _, c := range tr.Content {
					if count(c.Text != nil, c.JSON != nil, c.Image != nil) != 1 {
						return where + ": a toolResult content block must have exactly one member"
					}
					if c.Image != nil {
						if msg := validateImage(c.Image); msg != "" {
							return where + ": " + msg
						}
					}
				}
			}
		}
		prevUses = uses
	}
	if tc := req.ToolConfig; tc != nil {
		if len(tc.Tools) == 0 {
			return "toolConfig.tools must not be empty"
		}
		for i, t := range tc.Tools {
			if t.ToolSpec == nil || !validToolName(t.ToolSpec.Name) || !isJSONObject(t.ToolSpec.InputSchema.JSON) {
				return fmt.Sprintf("toolConfig.tools.%d: a toolSpec needs a name of [a-zA-Z0-9_-]{1,64} and an object schema", i)
			}
		}
		if c := tc.ToolChoice; c != nil && count(c.Auto != nil, c.Any != nil, c.Tool != nil) != 1 {
			return "toolConfig.toolChoice must have exactly one member"
		}
	} else if toolBlocks {
		return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
	}
	if ic := req.InferenceConfig; ic != nil {
		switch {
		case ic.MaxTokens != nil && *ic.MaxTokens < 1:
			return "inferenceConfig.maxTokens must be at least 1"
		case ic.Temperature != nil && (*ic.Temperature < 0 || *ic.Temperature > 1):
			return "inferenceConfig.temperature must be between 0 and 1"
		case ic.TopP != nil && (*ic.TopP < 0 || *ic.TopP > 1):
			return "inferenceConfig.topP must be between 0 and 1"
		}
		for _, s := range ic.StopSequences {
			if s == "" {
				return "inferenceConfig.stopSequences must not hold empty strings"
			}
		}
	}
	if oc := req.OutputConfig; oc != nil {
		if oc.TextFormat.Type != "json_schema" || !isJSONObject(json.RawMessage(oc.TextFormat.Structure.JSONSchema.Schema)) {
			return "outputConfig.textFormat must be a json_schema with a JSON object schema"
		}
	}
	return validateModelFields(&req, model)
}

// mockAnthropicFields are the additionalModelRequestFields an Anthropic
// model takes (those of the Messages API that Converse lacks); it refuses
// other keys, as Anthropic does.
type mockAnthropicFields struct {
	TopK     *int `json:"top_k"`
	Thinking *struct {
		Type         string `json:"type"`
		BudgetTokens *int   `json:"budget_tokens"`
	} `json:"thinking"`
	OutputConfig *struct {
		Effort string `json:"effort"`
	} `json:"output_config"`
	AnthropicBeta []string `json:"anthropic_beta"`
}

// validateModelFields checks additionalModelRequestFields as the model
// would. An Anthropic model takes top_k, thinking and output_config, with
// the rules of extended thinking: no forced tool use, a budget of at
// least 1024 tokens below maxTokens, no temperature but 1, no top_k, no
// topP under 0.95, and in a tool-use loop with thinking enabled, the
// assistant turn the tool results answer must start with its reasoning.
// Other models refuse thinking and output_config (each family spells
// reasoning its own way).
func validateModelFields(req *mockConverseRequest, model string) string {
	raw := req.AdditionalModelRequestFields
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if !isJSONObject(raw) {
		return "additionalModelRequestFields must be a JSON object"
	}
	if !anthropicModel(model) {
		var keys map[string]json.RawMessage
		json.Unmarshal(raw, &keys)
		for _, k := range []string{"thinking", "output_config"} {
			if _, ok := keys[k]; ok {
				return "Malformed input request: extraneous key [" + k + "] is not permitted"
			}
		}
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var f mockAnthropicFields
	if err := dec.Decode(&f); err != nil {
		return "Malformed input request: additionalModelRequestFields: " + err.Error()
	}
	if oc := f.OutputConfig; oc != nil {
		switch oc.Effort {
		case "low", "medium", "high", "xhigh", "max":
		default:
			return "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
		}
	}
	th := f.Thinking
	if th == nil || th.Type == "disabled" {
		if th != nil && th.BudgetTokens != nil {
			return "thinking.disabled.budget_tokens: Extra inputs are not permitted"
		}
		return ""
	}
	var maxTokens *int
	var temperature, topP *float64
	if c := req.InferenceConfig; c != nil {
		maxTokens, temperature, topP = c.MaxTokens, c.Temperature, c.TopP
	}
	switch th.Type {
	case "enabled":
		switch b := th.BudgetTokens; {
		case b == nil || *b < 1024:
			return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
		case maxTokens == nil || *maxTokens <= *b:
			return "`max_tokens` must be greater than `thinking.budget_tokens`"
		}
	case "adaptive":
		if th.BudgetTokens != nil {
			return "thinking.adaptive.budget_tokens: Extra inputs are not permitted"
		}
	default:
		return "thinking.type: Input should be 'enabled', 'adaptive' or 'disabled'"
	}
	if tc := req.ToolConfig; tc != nil && tc.ToolChoice != nil && (tc.ToolChoice.Any != nil || tc.ToolChoice.Tool != nil) {
		return "Thinking may not be enabled when tool_choice forces tool use."
	}
	switch {
	case temperature != nil && *temperature != 1:
		return "`temperature` may only be set to 1 when thinking is enabled"
	case f.TopK != nil:
		return "`top_k` is not supported when thinking is enabled"
	case topP != nil && *topP < 0.95:
		return "`top_p` must be greater than or equal to 0.95 when thinking is enabled"
	}
	if n := len(req.Messages); th.Type == "enabled" && n >= 2 {
		answered := false
		for _, b := range req.Messages[n-1].Content {
			answered = answered || b.ToolResult != nil
		}
		if prev := req.Messages[n-2].Content; answered && prev[0].ReasoningContent == nil {
			return fmt.Sprintf("messages.%d.content.0: Expected `thinking` or `redacted_thinking`, but found another block. When `thinking` is enabled, "+
				"a final `assistant` message must start with a thinking block", n-2)
		}
	}
	return ""
}

// anthropicModel reports whether a model id (base model, inference
// profile or ARN) names an Anthropic model.
func anthropicModel(id string) bool {
	return strings.HasPrefix(id, "anthropic.") || strings.Contains(id, ".anthropic.") || strings.Contains(id, "/anthropic.")
}

func validateImage(im *mockImageBlock) string {
	switch im.Format {
	case "png", "jpeg", "gif", "webp":
	default:
		return "image format must be png, jpeg, gif or webp"
	}
	if len(im.Source.Bytes) == 0 {
		return "image source bytes are empty"
	}
	return ""
}

func isJSONObject(raw json.RawMessage) bool {
	var v map[string]any
	return len(raw) > 0 && json.Unmarshal(raw, &v) == nil && v != nil
}

func validToolName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func count(set ...bool) int {
	n := 0
	for _, b := range set {
		if b {
			n++
		}
	}
	return n
}
