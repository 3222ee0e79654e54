// Package ai is the AI gateway: it serves the OpenAI- and Anthropic-style
// endpoints of an `ai: {}` route, decodes each request into the canonical
// schema (internal/ai/llm), routes it by model name to weighted provider
// targets with key pools, retries and fallbacks, and translates the answer
// (or stream) back into the client's format. It records usage and cost
// for every request.
package ai

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/ai/providers/anthropic"
	"github.com/sluicegw/sluice/internal/ai/providers/bedrock"
	"github.com/sluicegw/sluice/internal/ai/providers/gemini"
	"github.com/sluicegw/sluice/internal/ai/providers/openai"
	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/h1client"
	"github.com/sluicegw/sluice/internal/store"
)

var (
	_ llm.Provider = (*openai.Provider)(nil)
	_ llm.Embedder = (*openai.Provider)(nil)
	_ llm.Provider = (*anthropic.Provider)(nil)
	_ llm.Provider = (*bedrock.Provider)(nil)
	_ llm.Provider = (*gemini.Provider)(nil)
	_ llm.Embedder = (*gemini.Provider)(nil)
)

// Factory builds the adapter for a provider config.
type Factory func(cfg config.Provider, opts llm.Options) (llm.Provider, error)

// factories are the adapters by provider type.
var factories = map[string]Factory{
	"openai":            newOpenAI,
	"azure":             newOpenAI,
	"mistral":           newOpenAI,
	"ollama":            newOpenAI,
	"openai-compatible": newOpenAI,
	"anthropic": func(cfg config.Provider, opts llm.Options) (llm.Provider, error) {
		return anthropic.New(cfg, opts)
	},
	"gemini": func(cfg config.Provider, opts llm.Options) (llm.Provider, error) {
		return gemini.New(cfg, opts)
	},
	"bedrock": func(cfg config.Provider, opts llm.Options) (llm.Provider, error) {
		return bedrock.New(cfg, opts)
	},
}

func newOpenAI(cfg config.Provider, opts llm.Options) (llm.Provider, error) {
	return openai.New(cfg, opts)
}

// UsageSink receives one entry per AI request. Record must not block.
type UsageSink interface {
	RecordUsage(e store.UsageEntry)
}

// Options are the long-lived services a Gateway uses.
type Options struct {
	// Client sends provider requests (shared across snapshots so its
	// connection pool survives reloads). Nil: a default client.
	Client *http.Client
	Usage  UsageSink
	Log    *slog.Logger
	// Sleep waits between retries; nil uses a timer. Tests may shorten it.
	Sleep func(d time.Duration) <-chan time.Time
}

// Gateway is the AI gateway of one snapshot: providers, models and prices
// compiled from the config. It is immutable and safe for concurrent use.
type Gateway struct {
	providers map[string]*provider
	models    map[string]*model
	names     []string // model names, sorted
	prices    map[string]config.Price
	cfg       config.AI
	opts      Options
	created   int64 // the models' "created" time in the model list
}

type provider struct {
	name    string
	typ     string
	adapter llm.Provider
	keys    *pool
}

type model struct {
	name      string
	targets   []target
	fallbacks []string
}

type target struct {
	provider *provider
	model    string
	weight   int
}

// Build compiles the AI section of a config. Key state is taken from reg,
// so cooldowns survive the reload.
func Build(cfg *config.AI, reg *Registry, opts Options) (*Gateway, error) {
	if opts.Client == nil {
		opts.Client = NewClient()
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Sleep == nil {
		opts.Sleep = time.After
	}
	g := &Gateway{providers: map[string]*provider{}, models: map[string]*model{}, prices: cfg.Prices, cfg: *cfg, opts: opts,
		created: time.Now().Unix()}
	var errs []error
	for _, pc := range cfg.Providers {
		f := factories[pc.Type]
		if f == nil {
			errs = append(errs, fmt.Errorf("ai provider %q: type %q is not supported", pc.Name, pc.Type))
			continue
		}
		client := opts.Client
		if pc.TLS != nil {
			tc, err := pc.TLS.ClientConfig()
			if err != nil {
				errs = append(errs, fmt.Errorf("ai provider %q: %w", pc.Name, err))
				continue
			}
			client = newClient(tc)
		}
		a, err := f(pc, llm.Options{Client: client})
		if err != nil {
			errs = append(errs, fmt.Errorf("ai provider %q: %w", pc.Name, err))
			continue
		}
		g.providers[pc.Name] = &provider{name: pc.Name, typ: pc.Type, adapter: a, keys: newPool(reg, pc.Name, pc.APIKeys)}
	}
	for _, mc := range cfg.Models {
		m := &model{name: mc.Name, fallbacks: mc.Fallbacks}
		for _, t := range mc.Targets {
			p := g.providers[t.Provider]
			if p == nil {
				errs = append(errs, fmt.Errorf("ai model %q: provider %q is not defined", mc.Name, t.Provider))
				continue
			}
			if t.Weight > 0 {
				m.targets = append(m.targets, target{provider: p, model: t.Model, weight: t.Weight})
			}
		}
		g.models[mc.Name] = m
		g.names = append(g.names, mc.Name)
	}
	slices.Sort(g.names)
	return g, errors.Join(errs...)
}

// NewClient returns the HTTP client for provider calls: pooled keep-alive
// connections, no redirects followed, no proxy from the environment
// (base_url from config is where requests go), no overall timeout (each
// call's context bounds it). Cleartext providers (self-hosted model
// servers, usually next to the gateway) are served by h1client: the call
// runs on the request's goroutine, a held stream costs a connection and
// its 4 KiB read buffer, and the stream relay can send keepalives and
// notice silences without a goroutine of its own. TLS providers go
// through net/http's transport, which multiplexes streams over HTTP/2
// where the provider offers it.
func NewClient() *http.Client { return newClient(nil) }

// newClient is NewClient with TLS settings for https providers (nil: the
// defaults).
func newClient(tc *tls.Config) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = tc
	t.ReadBufferSize, t.WriteBufferSize = 2<<10, 2<<10
	t.MaxIdleConnsPerHost = 64
	t.ResponseHeaderTimeout = 0
	t.Proxy = nil
	h1 := &h1client.Transport{Fallback: t, MaxIdlePerHost: 64}
	return &http.Client{Transport: traceTransport{h1}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// order returns m's targets in a weighted random order: the first is
// drawn by weight, then the next among the rest, and so on.
func (m *model) order() []target {
	if len(m.targets) <= 1 {
		return m.targets
	}
	rest := slices.Clone(m.targets)
	out := make([]target, 0, len(rest))
	for len(rest) > 0 {
		total := 0
		for _, t := range rest {
			total += t.weight
		}
		n := rand.IntN(total)
		i := 0
		for ; n >= rest[i].weight; i++ {
			n -= rest[i].weight
		}
		out = append(out, rest[i])
		rest = slices.Delete(rest, i, i+1)
	}
	return out
}

// chain returns the model asked for and its fallbacks, in order, each
// model once (a fallback's own fallbacks are not followed).
func (g *Gateway) chain(name string) []*model {
	m := g.models[name]
	if m == nil {
		return nil
	}
	out := []*model{m}
	for _, f := range m.fallbacks {
		if fm := g.models[f]; fm != nil && !slices.Contains(out, fm) {
			out = append(out, fm)
		}
	}
	return out
}

// cost is the price of usage on provider/model in USD; 0 when no price
// is configured. Cached input is charged at cached_input when set, else at
// the input price.
func (g *Gateway) cost(provider, model string, u llm.Usage) float64 {
	p, ok := g.prices[provider+"/"+model]
	if !ok {
		return 0
	}
	cachedPrice := p.CachedInput
	if cachedPrice == 0 {
		cachedPrice = p.Input
	}
	uncached := max(u.Input-u.CachedInput, 0)
	return (float64(uncached)*p.Input + float64(u.CachedInput)*cachedPrice + float64(u.Output)*p.Output) / 1e6
}

// Route is the AI gateway as one route serves it: the models it offers.
type Route struct {
	g          *Gateway
	allowed    map[string]bool // nil: every model
	playground bool            // the console's playground: every model, cost in the stream
}

// Playground returns the view of g the console's playground uses: every
// model, and a last stream event with the provider and the cost.
func (g *Gateway) Playground() *Route { return &Route{g: g, playground: true} }

// Route returns the view of g for a route offering models (all when
// empty).
func (g *Gateway) Route(models []string) *Route {
	r := &Route{g: g}
	if len(models) > 0 {
		r.allowed = map[string]bool{}
		for _, m := range models {
			r.allowed[m] = true
		}
	}
	return r
}

// offers reports whether the route serves the model name.
func (r *Route) offers(name string) bool {
	return r.g.models[name] != nil && (r.allowed == nil || r.allowed[name])
}

// modelNames lists the route's models, sorted.
func (r *Route) modelNames() []string {
	out := make([]string, 0, len(r.g.names))
	for _, n := range r.g.names {
		if r.offers(n) {
			out = append(out, n)
		}
	}
	return out
}
