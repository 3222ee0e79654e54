package config

import (
	"math"
	"strings"
	"time"
)

// providerTypes are the supported AI provider families.
var providerTypes = []string{
	"openai", "azure", "anthropic", "gemini", "mistral", "ollama", "openai-compatible", "bedrock",
}

// modelNameExtra are the characters a model name may hold beyond those of
// other names: clients send names like "llama3.1:8b" or "meta/llama-3".
const modelNameExtra = ":/"

// ai checks providers, models (targets and fallbacks) and prices.
func (v *validator) ai() {
	providers := map[string]string{}
	for i := range v.c.AI.Providers {
		v.provider(joinIndex("ai.providers", i), &v.c.AI.Providers[i], providers)
	}
	models := map[string]string{}
	for i, m := range v.c.AI.Models {
		v.name(joinIndex("ai.models", i)+".name", "model", m.Name, modelNameExtra, models)
	}
	for i := range v.c.AI.Models {
		v.model(joinIndex("ai.models", i), &v.c.AI.Models[i], providers, models)
	}
	for _, key := range sortedKeys(v.c.AI.Prices) {
		p := joinKey("ai.prices", key)
		provider, model, ok := strings.Cut(key, "/")
		switch {
		case !ok || provider == "" || model == "":
			v.addf(p, "price keys are provider/model, like anthropic/claude-sonnet-4-5; got %s", quoteShort(key))
		case providers[provider] == "":
			v.undefined(p, "provider", provider, providers)
		}
		price := v.c.AI.Prices[key]
		v.price(p+".input", price.Input)
		v.price(p+".output", price.Output)
		v.price(p+".cached_input", price.CachedInput)
	}
	a := &v.c.AI
	v.positive("ai.timeout", a.Timeout)
	v.positive("ai.stream_idle_timeout", a.StreamIdleTimeout)
	v.intRange("ai.retries", a.Retries, 0, 10)
	if a.Keepalive < 0 || a.Keepalive > 0 && a.Keepalive.D() < time.Second {
		v.addf("ai.keepalive", "must be 0 (off) or at least 1s; got %s", a.Keepalive)
	}
	if a.MaxBodySize < KiB {
		v.addf("ai.max_body_size", "must be at least 1KiB; got %s", a.MaxBodySize)
	}
}

func (v *validator) provider(path string, pr *Provider, names map[string]string) {
	v.name(path+".name", "provider", pr.Name, "", names)
	v.oneOf(path+".type", "provider type", pr.Type, providerTypes...)
	switch {
	case pr.BaseURL != "":
		if u := v.httpURL(path+".base_url", pr.BaseURL); u != nil && (u.RawQuery != "" || u.Fragment != "") {
			v.addf(path+".base_url", "%s must not have a query or fragment", quoteShort(pr.BaseURL))
		}
	case pr.Type == "azure" || pr.Type == "openai-compatible":
		v.addf(path+".base_url", "required by %s providers", pr.Type)
	}
	switch {
	case pr.Type == "bedrock" && pr.Region == "":
		v.addf(path+".region", "required by bedrock providers, like us-east-1")
	case pr.Type != "bedrock" && pr.Region != "":
		v.addf(path+".region", "only used by bedrock providers")
	}
	if pr.Type != "azure" && pr.APIVersion != "" {
		v.addf(path+".api_version", "only used by azure providers")
	}
	for i, k := range pr.APIKeys {
		if strings.TrimSpace(k) == "" {
			v.addf(joinIndex(path+".api_keys", i), "an API key must not be empty")
		}
	}
	for _, h := range sortedKeys(pr.Headers) {
		if !isToken(h) {
			v.addf(joinKey(path+".headers", h), "%s is not a valid header name", quoteShort(h))
		}
	}
	if pr.TLS != nil && strings.HasPrefix(strings.ToLower(pr.BaseURL), "http://") {
		v.addf(path+".tls", "only used with an https base_url; got %s", quoteShort(pr.BaseURL))
	}
}

func (v *validator) model(path string, m *Model, providers, models map[string]string) {
	if len(m.Targets) == 0 {
		v.addf(path+".targets", "a model needs at least one target")
	}
	for i, t := range m.Targets {
		tp := joinIndex(path+".targets", i)
		switch _, ok := providers[t.Provider]; {
		case t.Provider == "":
			v.addf(tp+".provider", "a model target needs a provider")
		case !ok:
			v.undefined(tp+".provider", "provider", t.Provider, providers)
		}
		if t.Model == "" {
			v.addf(tp+".model", "a model target needs the provider's model name")
		}
		v.intRange(tp+".weight", t.Weight, 0, 1000)
	}
	listed := map[string]bool{}
	for i, fb := range m.Fallbacks {
		fp := joinIndex(path+".fallbacks", i)
		_, defined := models[fb]
		switch {
		case fb == m.Name:
			v.addf(fp, "model %q cannot fall back to itself", fb)
		case listed[fb]:
			v.addf(fp, "model %q is listed twice", fb)
		case !defined:
			v.undefined(fp, "model", fb, models)
		}
		listed[fb] = true
	}
}

// price checks a price in USD per million tokens.
func (v *validator) price(path string, usd float64) {
	if usd < 0 || math.IsNaN(usd) || math.IsInf(usd, 0) {
		v.addf(path, "must be 0 or more (USD per million tokens), got %v", usd)
	}
}
