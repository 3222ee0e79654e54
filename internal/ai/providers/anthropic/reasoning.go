package anthropic

import "github.com/sluicegw/sluice/internal/ai/llm"

// Thinking is how a request asks an Anthropic model to reason, in the
// Messages API's terms. Claude models behind other APIs (Bedrock's
// Converse) take the same settings, so their adapters plan with it too.
type Thinking struct {
	// Type is "enabled" (with Budget) or "adaptive"; "" asks for no
	// thinking.
	Type   string
	Budget int
	// Effort is output_config.effort; "" for none.
	Effort string
}

// PlanThinking returns how r asks for reasoning. An effort (OpenAI's
// reasoning_effort) becomes a budget, which every thinking model takes;
// adaptive thinking and output_config.effort go as they came. Thinking is
// left off when r forces a tool call (tool_choice any or a named tool),
// which the API refuses with thinking on: the forced call is what the
// client cannot do without.
func PlanThinking(r *llm.Request) Thinking {
	re := r.Reasoning
	if re == nil || re.Off() {
		return Thinking{}
	}
	var t Thinking
	if re.Effort != "" && re.Mode != llm.ReasonEffort {
		t.Effort = re.Effort
		if t.Effort == "minimal" {
			t.Effort = "low" // the API's lowest
		}
	}
	switch re.Mode {
	case llm.ReasonOutputEffort:
		return t
	case llm.ReasonAdaptive:
		t.Type = "adaptive"
	case llm.ReasonEffort:
		if re.Effort == "minimal" {
			return t // less than the smallest budget: no thinking
		}
		t.Type, t.Budget = "enabled", re.BudgetTokens()
	default:
		t.Type, t.Budget = "enabled", re.BudgetTokens()
	}
	if tc := r.ToolChoice; tc != nil && (tc.Mode == llm.ToolRequired || tc.Mode == llm.ToolNamed) && len(r.Tools) > 0 {
		t.Type, t.Budget = "", 0
	}
	return t
}

// Sampling is the settings of a request that Anthropic models constrain.
type Sampling struct {
	MaxTokens   int
	Temperature *float64
	TopP        *float64
	TopK        *int
}

// Constrain returns s as an Anthropic model takes it with thinking t.
// Temperature is 0..1 (OpenAI's is 0..2: above 1 is the most random
// setting there is, rather than a 400). With thinking on, the API refuses
// a temperature or top_k and a top_p under 0.95, and needs max_tokens
// above the budget: those are dropped, and max_tokens is raised by the
// budget (the client's limit stays the answer's); MaxTokens 0 (the
// model's default, where the API has one) becomes DefaultMaxTokens first.
func (t Thinking) Constrain(s Sampling) Sampling {
	if s.Temperature != nil && *s.Temperature > 1 {
		one := 1.0
		s.Temperature = &one
	}
	if t.Type == "" {
		return s
	}
	s.Temperature, s.TopK = nil, nil
	if s.TopP != nil && *s.TopP < 0.95 {
		s.TopP = nil
	}
	if t.Budget > 0 {
		if s.MaxTokens == 0 {
			s.MaxTokens = DefaultMaxTokens
		}
		if s.MaxTokens <= t.Budget {
			s.MaxTokens += t.Budget
		}
	}
	return s
}
