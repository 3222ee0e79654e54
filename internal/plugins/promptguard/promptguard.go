// Package promptguard is the ai-prompt-guard plugin: on AI routes it
// refuses prompts that match a deny rule, or, when allow rules are set,
// prompts that match none of them, with 400 prompt_rejected in the
// client's API format, before any provider is called.
//
// Config:
//
//	ai-prompt-guard:
//	  deny:  ['(?i)ignore (all|any|previous) instructions', '\b\d{3}-\d{2}-\d{4}\b']
//	  allow: ['(?i)\b(weather|forecast)\b']
//	  tool_results: false   # also check tool results (default false)
//
// At least one of deny and allow must have a rule. Rules are RE2 regular
// expressions (Go's regexp syntax: linear time, no backreferences; use (?i)
// for case-insensitive, (?s) for . across lines), compiled once when the
// config is built; a rule that does not compile fails the config with the
// rule's index.
//
// # What is checked
//
// The text of every system and user message of a chat (the whole
// conversation the client sends, including an Anthropic top-level system
// prompt), and each input of an embeddings request. Each message's text
// parts are joined and matched as one text, message by message, so ^ and $
// match at the message's ends (or at line ends with (?m)). Not checked:
// images, the assistant's own earlier turns and tool calls (the model
// wrote them), tool definitions, and, unless tool_results is true, tool
// results. Tool results are left out by default because the rules guard
// what people send: tool output is the application's own data, which is
// often large and would trip rules written for user input; set
// tool_results to guard against instructions smuggled in through tool
// output too.
//
// # Decision
//
// Any checked message matching any deny rule refuses the request. Else,
// when allow rules are set, at least one checked message must match at
// least one allow rule. A refusal is 400 prompt_rejected; its public detail
// says only that the prompt matched a deny rule or matched no allow rule,
// never which rule or what text. Which deny rule matched which message is
// in the log (the error's cause), by index.
package promptguard

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/plugin"
)

// Name is the plugin's stable name.
const Name = "ai-prompt-guard"

func init() {
	// The ACL phase: a policy check that runs before the AI limits, so a
	// refused prompt costs no rate-limit tokens.
	plugin.Register(plugin.Spec{Name: Name, Phase: plugin.PhaseACL, New: New})
}

// settings is the plugin's configuration; see the package comment.
type settings struct {
	Deny        []string `json:"deny"`
	Allow       []string `json:"allow"`
	ToolResults bool     `json:"tool_results"`
}

// Guard is one configured instance of the plugin. It is immutable and safe
// for concurrent use.
type Guard struct {
	deny  []*regexp.Regexp
	allow []*regexp.Regexp
	// anyDeny and anyAllow are the rules joined into one alternation, so
	// a message is scanned once per list; the single rules are used only
	// to name the one that matched.
	anyDeny, anyAllow *regexp.Regexp
	toolResults       bool
}

var _ plugin.AIAccess = (*Guard)(nil)

// New is the plugin's factory: it compiles the rules.
func New(raw map[string]any, _ plugin.Env) (any, error) {
	var cfg settings
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	if len(cfg.Deny) == 0 && len(cfg.Allow) == 0 {
		return nil, errors.New("deny or allow: at least one rule is required")
	}
	g := &Guard{toolResults: cfg.ToolResults}
	var err error
	if g.deny, g.anyDeny, err = compile("deny", cfg.Deny); err != nil {
		return nil, err
	}
	if g.allow, g.anyAllow, err = compile("allow", cfg.Allow); err != nil {
		return nil, err
	}
	return g, nil
}

// compile compiles a list of rules and their alternation.
func compile(key string, rules []string) ([]*regexp.Regexp, *regexp.Regexp, error) {
	if len(rules) == 0 {
		return nil, nil, nil
	}
	res := make([]*regexp.Regexp, len(rules))
	parts := make([]string, len(rules))
	for i, s := range rules {
		if s == "" {
			return nil, nil, fmt.Errorf("%s[%d]: empty rule (it would match every prompt)", key, i)
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, nil, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		res[i] = re
		// Each rule in its own group, so its flags stay its own.
		parts[i] = "(?:" + s + ")"
	}
	all, err := regexp.Compile(strings.Join(parts, "|"))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: the rules do not combine: %w", key, err)
	}
	return res, all, nil
}

// The public refusals; they name no rule.
const (
	detailDenied     = "The prompt was rejected: it matched a deny rule."
	detailNotAllowed = "The prompt was rejected: it matched no allow rule."
)

// AIAccess checks the prompt; see the package comment.
func (g *Guard) AIAccess(_ *plugin.Ctx, info *llm.Info) error {
	allowed := g.anyAllow == nil
	// check matches one text; what names it (a message's role, or
	// "input") for the log.
	check := func(what string, i int, text string) error {
		if text == "" {
			return nil
		}
		if g.anyDeny != nil && g.anyDeny.MatchString(text) {
			return gwerr.Newf(gwerr.PromptRejected, fmt.Errorf("ai-prompt-guard: deny rule %d matched %s %d", g.which(text), what, i), "%s", detailDenied)
		}
		if !allowed && g.anyAllow.MatchString(text) {
			allowed = true
		}
		return nil
	}
	switch {
	case info.Chat != nil:
		for i := range info.Chat.Messages {
			m := &info.Chat.Messages[i]
			switch {
			case m.Role == llm.RoleSystem, m.Role == llm.RoleUser,
				m.Role == llm.RoleTool && g.toolResults:
			default:
				continue
			}
			if err := check(string(m.Role)+" message", i, m.Text()); err != nil {
				return err
			}
		}
	case info.Embeddings != nil:
		for i, s := range info.Embeddings.Input {
			if err := check("input", i, s); err != nil {
				return err
			}
		}
	}
	if !allowed {
		return gwerr.Newf(gwerr.PromptRejected, errors.New("ai-prompt-guard: no allow rule matched"), "%s", detailNotAllowed)
	}
	return nil
}

// which returns the index of the first deny rule matching text.
func (g *Guard) which(text string) int {
	for i, re := range g.deny {
		if re.MatchString(text) {
			return i
		}
	}
	return -1
}
