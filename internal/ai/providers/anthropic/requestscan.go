package anthropic

import (
	"encoding/json"
	"errors"

	"github.com/sluicegw/sluice/internal/jsonscan"
)

// requestKeys are the keys of a Messages request and what it holds (see
// jsonscan.Scanner.Unknown).
var requestKeys = append([]string{"max_tokens", "system", "messages", "tools", "tool_choice", "stop_sequences",
	"temperature", "top_p", "top_k", "stream", "metadata", "output_config", "thinking", "budget_tokens", "display",
	"user_id", "effort", "format", "schema", "description", "input_schema", "strict", "disable_parallel_tool_use"},
	eventKeys...)

// decodeRequest decodes a request body into in. What clients send (text,
// images, tool use and results, thinking, cache_control, sampling, tools)
// is read by jsonscan, without reflection; anything unusual by
// encoding/json, whose errors are the caller's. FuzzRequestScanner holds
// the two to the same answers.
func decodeRequest(body []byte, in *messagesRequest) error {
	var p jsonscan.Scanner
	p.Reset(body)
	if scanRequest(&p, in) && p.End() {
		return nil
	}
	*in = messagesRequest{}
	if err := json.Unmarshal(body, in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return callerErrorf("%s: wrong type (%s)", te.Field, te.Value)
		}
		return callerErrorf("the request body is not valid JSON: %v", err)
	}
	return nil
}

func scanRequest(p *jsonscan.Scanner, in *messagesRequest) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "model":
			return p.String(&in.Model)
		case "max_tokens":
			return p.Int(&in.MaxTokens)
		case "system":
			return jsonscan.Opt(p, &in.System, func(sp *systemPrompt) bool {
				if p.String(&sp.Text) {
					return true
				}
				sp.Blocks = []block{}
				return scanBlockList(p, &sp.Blocks)
			})
		case "messages":
			if p.Null() {
				in.Messages = nil
				return true
			}
			in.Messages = []message{}
			return p.Array(func() bool {
				var m message
				ok := p.Object(func(key []byte) bool {
					switch string(key) {
					case "role":
						return p.String(&m.Role)
					case "content":
						return scanContent(p, &m.Content)
					}
					return p.Unknown(key, requestKeys)
				})
				in.Messages = append(in.Messages, m)
				return ok
			})
		case "tools":
			if p.Null() {
				in.Tools = nil
				return true
			}
			in.Tools = []tool{}
			return p.Array(func() bool {
				var t tool
				ok := scanTool(p, &t)
				in.Tools = append(in.Tools, t)
				return ok
			})
		case "tool_choice":
			return jsonscan.Opt(p, &in.ToolChoice, func(tc *toolChoice) bool {
				return p.Object(func(key []byte) bool {
					switch string(key) {
					case "type":
						return p.String(&tc.Type)
					case "name":
						return p.String(&tc.Name)
					case "disable_parallel_tool_use":
						return p.OptBool(&tc.DisableParallelToolUse)
					}
					return p.Unknown(key, requestKeys)
				})
			})
		case "stop_sequences":
			if p.Null() {
				in.StopSequences = nil
				return true
			}
			in.StopSequences = []string{}
			return p.Array(func() bool {
				if p.Null() {
					return false // "" in encoding/json's hands: left to it
				}
				var s string
				ok := p.String(&s)
				in.StopSequences = append(in.StopSequences, s)
				return ok
			})
		case "temperature":
			return p.OptFloat64(&in.Temperature)
		case "top_p":
			return p.OptFloat64(&in.TopP)
		case "top_k":
			return p.OptInt(&in.TopK)
		case "stream":
			return p.Bool(&in.Stream)
		case "metadata":
			return jsonscan.Opt(p, &in.Metadata, func(v *metadata) bool {
				return p.Object(func(key []byte) bool {
					if string(key) == "user_id" {
						return p.String(&v.UserID)
					}
					return p.Unknown(key, requestKeys)
				})
			})
		case "output_config":
			return jsonscan.Opt(p, &in.OutputConfig, func(oc *outputConfig) bool {
				return p.Object(func(key []byte) bool {
					switch string(key) {
					case "effort":
						return p.String(&oc.Effort)
					case "format":
						return jsonscan.Opt(p, &oc.Format, func(f *outputFormat) bool {
							return p.Object(func(key []byte) bool {
								switch string(key) {
								case "type":
									return p.String(&f.Type)
								case "schema":
									return p.Raw(&f.Schema)
								}
								return p.Unknown(key, requestKeys)
							})
						})
					}
					return p.Unknown(key, requestKeys)
				})
			})
		case "thinking":
			return jsonscan.Opt(p, &in.Thinking, func(th *thinkingConfig) bool {
				return p.Object(func(key []byte) bool {
					switch string(key) {
					case "type":
						return p.String(&th.Type)
					case "budget_tokens":
						return p.Int(&th.BudgetTokens)
					case "display":
						return p.String(&th.Display)
					}
					return p.Unknown(key, requestKeys)
				})
			})
		}
		return p.Unknown(key, requestKeys)
	})
}

func scanTool(p *jsonscan.Scanner, t *tool) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "name":
			return p.String(&t.Name)
		case "description":
			return p.String(&t.Description)
		case "input_schema":
			return p.Raw(&t.InputSchema)
		case "type":
			return p.String(&t.Type)
		case "strict":
			return p.Bool(&t.Strict)
		case "cache_control":
			return p.Skip(0) // accepted and dropped: no field takes it
		}
		return p.Unknown(key, requestKeys)
	})
}
