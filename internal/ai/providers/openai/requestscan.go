package openai

import "github.com/sluicegw/sluice/internal/jsonscan"

// requestKeys are the keys of a Chat Completions request and what it
// holds (see jsonscan.Scanner.Unknown).
var requestKeys = append([]string{"messages", "tools", "tool_choice", "parallel_tool_calls", "max_tokens",
	"max_completion_tokens", "temperature", "top_p", "stop", "seed", "random_seed", "response_format", "user", "n",
	"reasoning_effort", "stream", "stream_options", "include_usage", "description", "parameters", "strict",
	"json_schema", "schema"}, chunkKeys...)

// decodeRequest decodes a request body into in. The requests most
// clients send (text messages, tool definitions and calls, sampling
// settings, JSON schemas) are read by jsonscan, without reflection;
// anything else (content parts, a named tool_choice, unusual documents) by
// encoding/json, whose errors the caller reports. FuzzRequestScanner holds
// the two to the same answers.
func decodeRequest(body []byte, in *chatRequest) error {
	var p jsonscan.Scanner
	p.Reset(body)
	if scanRequest(&p, in) && p.End() {
		return nil
	}
	*in = chatRequest{}
	return strictUnmarshal(body, in)
}

func scanRequest(p *jsonscan.Scanner, in *chatRequest) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "model":
			return p.String(&in.Model)
		case "messages":
			if p.Null() {
				in.Messages = nil
				return true
			}
			in.Messages = []message{}
			return p.Array(func() bool {
				var m message
				ok := readMessage(p, &m)
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
				ok := readTool(p, &t)
				in.Tools = append(in.Tools, t)
				return ok
			})
		case "tool_choice":
			return jsonscan.Opt(p, &in.ToolChoice, func(v *toolChoice) bool {
				return readToolChoice(p, v)
			})
		case "parallel_tool_calls":
			return p.OptBool(&in.ParallelToolCalls)
		case "max_tokens":
			return p.Int(&in.MaxTokens)
		case "max_completion_tokens":
			return p.Int(&in.MaxCompletionTokens)
		case "temperature":
			return p.OptFloat64(&in.Temperature)
		case "top_p":
			return p.OptFloat64(&in.TopP)
		case "stop":
			return readStringList(p, &in.Stop)
		case "seed":
			return p.OptInt64(&in.Seed)
		case "random_seed":
			return p.OptInt64(&in.RandomSeed)
		case "response_format":
			return jsonscan.Opt(p, &in.ResponseFormat, func(v *responseFormat) bool {
				return readResponseFormat(p, v)
			})
		case "user":
			return p.String(&in.User)
		case "n":
			return p.OptInt(&in.N)
		case "reasoning_effort":
			return p.String(&in.ReasoningEffort)
		case "stream":
			return p.Bool(&in.Stream)
		case "stream_options":
			return jsonscan.Opt(p, &in.StreamOptions, func(v *streamOptions) bool {
				return p.Object(func(key []byte) bool {
					if string(key) == "include_usage" {
						return p.Bool(&v.IncludeUsage)
					}
					return p.Unknown(key, requestKeys)
				})
			})
		}
		return p.Unknown(key, requestKeys)
	})
}

// readToolChoice reads "none", "auto", "required" or the object naming
// a function; one without a name is left to encoding/json, which refuses
// it (toolChoice.UnmarshalJSON).
func readToolChoice(p *jsonscan.Scanner, tc *toolChoice) bool {
	if p.String(&tc.Mode) {
		return true
	}
	var kind string
	ok := p.Object(func(key []byte) bool {
		switch string(key) {
		case "type":
			return p.String(&kind)
		case "function":
			if p.Null() {
				return true
			}
			return p.Object(func(key []byte) bool {
				if string(key) == "name" {
					return p.String(&tc.Name)
				}
				return p.Unknown(key, requestKeys)
			})
		}
		return p.Unknown(key, requestKeys)
	})
	return ok && tc.Name != ""
}

func readTool(p *jsonscan.Scanner, t *tool) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "type":
			return p.String(&t.Type)
		case "function":
			if p.Null() {
				return true
			}
			f := &t.Function
			return p.Object(func(key []byte) bool {
				switch string(key) {
				case "name":
					return p.String(&f.Name)
				case "description":
					return p.String(&f.Description)
				case "parameters":
					return p.Raw(&f.Parameters)
				case "strict":
					return p.OptBool(&f.Strict)
				}
				return p.Unknown(key, requestKeys)
			})
		}
		return p.Unknown(key, requestKeys)
	})
}

func readResponseFormat(p *jsonscan.Scanner, rf *responseFormat) bool {
	return p.Object(func(key []byte) bool {
		switch string(key) {
		case "type":
			return p.String(&rf.Type)
		case "json_schema":
			return jsonscan.Opt(p, &rf.JSONSchema, func(js *jsonSchema) bool {
				return p.Object(func(key []byte) bool {
					switch string(key) {
					case "name":
						return p.String(&js.Name)
					case "schema":
						return p.Raw(&js.Schema)
					case "strict":
						return p.OptBool(&js.Strict)
					}
					return p.Unknown(key, requestKeys)
				})
			})
		}
		return p.Unknown(key, requestKeys)
	})
}

// readStringList reads a string or an array of strings (stop sequences).
func readStringList(p *jsonscan.Scanner, dst *stringList) bool {
	if p.Null() {
		*dst = nil
		return true
	}
	var one string
	if p.String(&one) {
		*dst = stringList{one}
		return true
	}
	*dst = stringList{}
	return p.Array(func() bool {
		if p.Null() {
			return false // "" in encoding/json's hands: left to it
		}
		var s string
		ok := p.String(&s)
		*dst = append(*dst, s)
		return ok
	})
}
