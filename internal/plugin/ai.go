package plugin

import "github.com/sluicegw/sluice/internal/ai/llm"

// AIAccess is implemented by plugins that check an AI request once it is
// decoded, before any provider is called (ai-rate-limit, ai-budget,
// ai-prompt-guard). An error refuses the request; it should be a
// *gwerr.Error, which the AI route renders in the client's API format.
type AIAccess interface {
	AIAccess(c *Ctx, info *llm.Info) error
}

// AIUsage is implemented by plugins that account for an AI request once
// it is over: u is the provider's usage (what was seen so far for a broken
// stream; zero when every provider failed) and costUSD its price. It runs
// for every request whose AIAccess passed, so limits charged up front can
// be settled.
type AIUsage interface {
	AIUsage(c *Ctx, info *llm.Info, u llm.Usage, costUSD float64)
}

// RunAIAccess runs the AIAccess plugins of the chain (after auth, with
// the consumer's own configs) in order.
func (ch *Chain) RunAIAccess(c *Ctx, info *llm.Info) error {
	if ch == nil {
		return nil
	}
	for i := range ch.post {
		if a, ok := c.instance(&ch.post[i]).(AIAccess); ok {
			if err := a.AIAccess(c, info); err != nil {
				return err
			}
		}
	}
	return nil
}

// RunAIUsage runs the AIUsage plugins of the chain.
func (ch *Chain) RunAIUsage(c *Ctx, info *llm.Info, u llm.Usage, costUSD float64) {
	if ch == nil {
		return
	}
	for i := range ch.post {
		if a, ok := c.instance(&ch.post[i]).(AIUsage); ok {
			a.AIUsage(c, info, u, costUSD)
		}
	}
}

// BeforeAI runs the chain's AIAccess plugins; with AfterAI it makes a Ctx
// the AI gateway's hooks.
func (c *Ctx) BeforeAI(info *llm.Info) error { return c.chain.RunAIAccess(c, info) }

// AfterAI runs the chain's AIUsage plugins.
func (c *Ctx) AfterAI(info *llm.Info, u llm.Usage, costUSD float64) {
	c.chain.RunAIUsage(c, info, u, costUSD)
}
