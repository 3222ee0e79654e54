package admin

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/secret"
	"github.com/sluicegw/sluice/internal/store"
)

// kindSpec describes one kind of config entity to the generic handlers:
// where it lives in the store and in a config.Config, and what the API
// hides or completes in it.
type kindSpec[T any] struct {
	kind Kind
	// singular names one entity in messages: "route", "AI provider".
	singular string
	repo     func(store.Repos) store.Entities[T]
	name     func(v *T) string
	setName  func(v *T, name string)
	// items returns the entities of this kind in c, in c's order; setItems
	// replaces them.
	items    func(c *config.Config) []T
	setItems func(c *config.Config, items []T)
	// path returns the config path of the entity named name at index i of
	// items: "routes[3]", "plugins.cors".
	path func(i int, name string) string
	// bodyPath turns the part of a config path below the entity's path
	// (".match.paths[0]", or "" for the entity itself) into a path in the
	// request body. Nil strips the leading dot.
	bodyPath func(rest string) string
	// show returns v as the API answers it: secrets masked. Nil shows v.
	show func(v T) T
	// omit are JSON fields left out of answers.
	omit []string
	// prepare checks a value about to be written beyond what config
	// validation does, and completes it from old, the stored value it
	// replaces (nil for a new one). Nil accepts every value.
	prepare func(v, old *T) []problem
	// fresh says checks read every entity of this kind from the store
	// instead of trusting the merged config, which may lag the store by
	// the time a change takes to reach the node. Consumers are not
	// refreshed: nothing refers to them, and there can be very many.
	fresh bool
}

// listPath returns the config path of entry i of a list: "routes[3]".
func listPath(list string) func(int, string) string {
	return func(i int, _ string) string { return fmt.Sprintf("%s[%d]", list, i) }
}

var routeKind = &kindSpec[config.Route]{
	kind: KindRoutes, singular: "route", fresh: true,
	repo:     store.Repos.Routes,
	name:     func(v *config.Route) string { return v.Name },
	setName:  func(v *config.Route, n string) { v.Name = n },
	items:    func(c *config.Config) []config.Route { return c.Routes },
	setItems: func(c *config.Config, v []config.Route) { c.Routes = v },
	path:     listPath("routes"),
}

var upstreamKind = &kindSpec[config.Upstream]{
	kind: KindUpstreams, singular: "upstream", fresh: true,
	repo:     store.Repos.Upstreams,
	name:     func(v *config.Upstream) string { return v.Name },
	setName:  func(v *config.Upstream, n string) { v.Name = n },
	items:    func(c *config.Config) []config.Upstream { return c.Upstreams },
	setItems: func(c *config.Config, v []config.Upstream) { c.Upstreams = v },
	path:     listPath("upstreams"),
}

var consumerKind = &kindSpec[config.Consumer]{
	kind: KindConsumers, singular: "consumer",
	repo:     store.Repos.Consumers,
	name:     func(v *config.Consumer) string { return v.Name },
	setName:  func(v *config.Consumer, n string) { v.Name = n },
	items:    func(c *config.Config) []config.Consumer { return c.Consumers },
	setItems: func(c *config.Config, v []config.Consumer) { c.Consumers = v },
	path:     listPath("consumers"),
	omit:     []string{"credentials"},
	prepare: func(v, _ *config.Consumer) []problem {
		if len(v.Credentials) > 0 {
			return []problem{newProblem("credentials",
				"credentials are managed at /api/v1/consumers/{name}/credentials, one at a time, so their secrets are shown once")}
		}
		return nil
	},
}

var pluginKind = &kindSpec[store.Plugin]{
	kind: KindPlugins, singular: "global plugin", fresh: true,
	repo:    store.Repos.Plugins,
	name:    func(v *store.Plugin) string { return v.Name },
	setName: func(v *store.Plugin, n string) { v.Name = n },
	items: func(c *config.Config) []store.Plugin {
		out := make([]store.Plugin, 0, len(c.Plugins))
		for _, name := range sortedKeys(c.Plugins) {
			out = append(out, store.Plugin{Name: name, Config: c.Plugins[name]})
		}
		return out
	},
	setItems: func(c *config.Config, v []store.Plugin) {
		c.Plugins = make(map[string]map[string]any, len(v))
		for _, p := range v {
			cfg := p.Config
			if cfg == nil {
				cfg = map[string]any{}
			}
			c.Plugins[p.Name] = cfg
		}
	},
	path: func(_ int, name string) string { return config.JoinKey("plugins", name) },
	bodyPath: func(rest string) string {
		if rest == "" {
			return "name" // the plugin itself: its name is unknown or unfit
		}
		return "config" + rest
	},
}

var providerKind = &kindSpec[config.Provider]{
	kind: KindAIProviders, singular: "AI provider", fresh: true,
	repo:     store.Repos.AIProviders,
	name:     func(v *config.Provider) string { return v.Name },
	setName:  func(v *config.Provider, n string) { v.Name = n },
	items:    func(c *config.Config) []config.Provider { return c.AI.Providers },
	setItems: func(c *config.Config, v []config.Provider) { c.AI.Providers = v },
	path:     listPath("ai.providers"),
	show:     maskProvider,
	prepare:  restoreProviderSecrets,
}

var modelKind = &kindSpec[config.Model]{
	kind: KindAIModels, singular: "AI model", fresh: true,
	repo:     store.Repos.AIModels,
	name:     func(v *config.Model) string { return v.Name },
	setName:  func(v *config.Model, n string) { v.Name = n },
	items:    func(c *config.Config) []config.Model { return c.AI.Models },
	setItems: func(c *config.Config, v []config.Model) { c.AI.Models = v },
	path:     listPath("ai.models"),
}

// masked is what an export writes in place of a secret.
const masked = "***"

// isMasked reports whether s is a masked secret rather than a secret: the
// export's "***" or secret.Mask's "sk-a…(51 chars)".
func isMasked(s string) bool {
	return s == masked || strings.Contains(s, "…(") && strings.HasSuffix(s, " chars)")
}

// maskProvider returns p with its API keys and header values masked.
func maskProvider(p config.Provider) config.Provider {
	if p.APIKeys != nil {
		keys := make([]string, len(p.APIKeys))
		for i, k := range p.APIKeys {
			keys[i] = secret.Mask(k)
		}
		p.APIKeys = keys
	}
	if p.Headers != nil {
		h := make(map[string]string, len(p.Headers))
		for k, v := range p.Headers {
			h[k] = secret.Mask(v)
		}
		p.Headers = h
	}
	return p
}

// restoreProviderSecrets replaces the masked API keys and header values
// of v by the stored ones they stand for, so that a provider read, edited
// and written back keeps its secrets: "***" stands for the stored key at
// the same index (or the header of the same name), a secret.Mask form for
// the stored key it masks. A masked value that stands for nothing is a
// problem.
func restoreProviderSecrets(v, old *config.Provider) []problem {
	var ps []problem
	for i, k := range v.APIKeys {
		if !isMasked(k) {
			continue
		}
		found := false
		if old != nil {
			for j, ok := range old.APIKeys {
				if k == masked && j == i || k != masked && secret.Mask(ok) == k {
					v.APIKeys[i], found = ok, true
					break
				}
			}
		}
		if !found {
			ps = append(ps, newProblem(fmt.Sprintf("api_keys[%d]", i),
				"%q is a masked key and no stored key matches it; send the key itself", k))
		}
	}
	for _, name := range sortedKeys(v.Headers) {
		h := v.Headers[name]
		if !isMasked(h) {
			continue
		}
		if ov, ok := oldHeader(old, name); ok && (h == masked || secret.Mask(ov) == h) {
			v.Headers[name] = ov
			continue
		}
		ps = append(ps, newProblem(config.JoinKey("headers", name),
			"%q is a masked value and no stored value of this header matches it; send the value itself", h))
	}
	return ps
}

func oldHeader(old *config.Provider, name string) (string, bool) {
	if old == nil {
		return "", false
	}
	v, ok := old.Headers[name]
	return v, ok
}

// findItem returns the index of the entity called name in items, or -1.
func findItem[T any](k *kindSpec[T], items []T, name string) int {
	for i := range items {
		if k.name(&items[i]) == name {
			return i
		}
	}
	return -1
}

// upsert puts v into c, replacing the entity of the same name or appending
// it, and returns its config path.
func upsert[T any](k *kindSpec[T], c *config.Config, v T) string {
	items := k.items(c)
	name := k.name(&v)
	if i := findItem(k, items, name); i < 0 {
		items = append(items, v)
	} else {
		items[i] = v
	}
	k.setItems(c, items)
	return k.path(findItem(k, k.items(c), name), name)
}

// remove deletes the entity called name from c.
func remove[T any](k *kindSpec[T], c *config.Config, name string) {
	items := k.items(c)
	if i := findItem(k, items, name); i >= 0 {
		k.setItems(c, append(items[:i:i], items[i+1:]...))
	}
}

// sortByName sorts entities by name, the order of every list.
func sortByName[T any](k *kindSpec[T], items []T) {
	sort.SliceStable(items, func(i, j int) bool { return k.name(&items[i]) < k.name(&items[j]) })
}
