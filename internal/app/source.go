package app

import (
	"context"
	"time"

	"github.com/sluicegw/sluice/internal/admin"
	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/snapshot"
	"github.com/sluicegw/sluice/internal/store"
	"github.com/sluicegw/sluice/internal/upstream"
)

// The node's config has two sources: the config file, which is the source
// of truth for every entity it declares, and the store, which holds what
// the admin API manages. Both feed one merged config.Config, built into
// one snapshot; a change from either rebuilds it.

// storedConfig is the admin-managed part of the config, read from the
// store in one transaction.
type storedConfig struct {
	version   uint64
	routes    []config.Route
	upstreams []config.Upstream
	consumers []config.Consumer
	plugins   map[string]map[string]any
	providers []config.Provider
	models    []config.Model
	creds     []consumer.Stored
}

// loadStored reads the admin-managed config consistently.
func loadStored(ctx context.Context, s store.Store) (*storedConfig, error) {
	st := &storedConfig{plugins: map[string]map[string]any{}}
	// The version is read BEFORE the entities: a write that commits while
	// they are read is then either in them or, at worst, read again when
	// Watch delivers its (larger) version. Read after, a version could
	// cover a write the entities missed, and Watch would skip it.
	var err error
	if st.version, err = s.ConfigVersion(ctx); err != nil {
		return nil, err
	}
	err = s.Tx(ctx, func(tx store.Tx) error {
		var err error
		if st.routes, err = values(ctx, tx.Routes()); err != nil {
			return err
		}
		if st.upstreams, err = values(ctx, tx.Upstreams()); err != nil {
			return err
		}
		if st.consumers, err = values(ctx, tx.Consumers()); err != nil {
			return err
		}
		if st.providers, err = values(ctx, tx.AIProviders()); err != nil {
			return err
		}
		if st.models, err = values(ctx, tx.AIModels()); err != nil {
			return err
		}
		plugins, err := values(ctx, tx.Plugins())
		if err != nil {
			return err
		}
		for _, p := range plugins {
			st.plugins[p.Name] = p.Config
		}
		creds, _, err := tx.Credentials().List(ctx, store.Page{})
		if err != nil {
			return err
		}
		for _, c := range creds {
			st.creds = append(st.creds, consumer.Stored{ID: c.ID, Consumer: c.Consumer, Type: c.Type,
				Lookup: c.Lookup, Secret: c.Secret, Attrs: c.Attrs})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// values lists every entity of a repository.
func values[T any](ctx context.Context, e store.Entities[T]) ([]T, error) {
	recs, _, err := e.List(ctx, store.Page{})
	if err != nil {
		return nil, err
	}
	out := make([]T, len(recs))
	for i, r := range recs {
		out[i] = r.Value
	}
	return out, nil
}

// merge returns the file config with the admin-managed entities added. A
// stored entity whose name the file also declares is ignored: the file
// wins (the admin API refuses to create such names, but the file may gain
// one later).
func merge(file *config.Config, st *storedConfig) *config.Config {
	c := file.Clone()
	if st == nil {
		return c
	}
	c.Routes = appendNew(c.Routes, st.routes, func(r config.Route) string { return r.Name })
	c.Upstreams = appendNew(c.Upstreams, st.upstreams, func(u config.Upstream) string { return u.Name })
	c.Consumers = appendNew(c.Consumers, st.consumers, func(u config.Consumer) string { return u.Name })
	c.AI.Providers = appendNew(c.AI.Providers, st.providers, func(p config.Provider) string { return p.Name })
	c.AI.Models = appendNew(c.AI.Models, st.models, func(m config.Model) string { return m.Name })
	for name, pc := range st.plugins {
		if _, ok := c.Plugins[name]; ok {
			continue
		}
		if c.Plugins == nil {
			c.Plugins = map[string]map[string]any{}
		}
		c.Plugins[name] = pc
	}
	return c
}

func appendNew[T any](have, add []T, name func(T) string) []T {
	seen := make(map[string]bool, len(have))
	for _, v := range have {
		seen[name(v)] = true
	}
	for _, v := range add {
		if !seen[name(v)] {
			have = append(have, v)
		}
	}
	return have
}

// watchStore rebuilds the snapshot whenever the store's config version
// moves, until ctx ends. While the database is unreachable the node keeps
// serving its last good snapshot.
func (a *App) watchStore(ctx context.Context, s store.Store) {
	for v := range s.Watch(ctx) {
		cur := a.stored.Load()
		if cur != nil && cur.version >= v {
			continue
		}
		if err := a.reloadStored(ctx, s); err != nil {
			a.log.Error("store config change not applied; still serving the previous config", "config_version", v, "error", err.Error())
		}
	}
}

// StoreLoaded reports whether the store is open and its part of the config
// is applied: from then on the node serves the merged config, and the
// request log and usage are written.
func (a *App) StoreLoaded() bool { return a.stored.Load() != nil }

// reloadStored rereads the admin-managed config and swaps in a snapshot
// of the merged config.
func (a *App) reloadStored(ctx context.Context, s store.Store) error {
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := loadStored(lctx, s)
	if err != nil {
		return err
	}
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	if err := a.apply(a.fileCfg.Load(), st); err != nil {
		return err
	}
	a.stored.Store(st)
	return nil
}

// Check validates a prospective change to the merged config: mutate is
// applied to a copy, which is validated whole and compiled in a dry run
// (routes, upstreams, plugins, consumers). It implements the admin API's
// view of the config pipeline.
func (a *App) Check(mutate func(c *config.Config)) error {
	c := a.cfg.Load().Clone()
	mutate(c)
	if ps := c.Validate(); len(ps) > 0 {
		return ps
	}
	reg := upstream.NewRegistry(nil)
	defer reg.Close()
	opts := a.snapOpts(a.stored.Load())
	opts.PluginState = plugin.NewState()
	if _, err := snapshot.Build(c, reg, 0, opts); err != nil {
		// A config that validates but does not compile (a plugin's own
		// settings, a public key) is the caller's fault too: one problem
		// per failure.
		var ps config.Problems
		for _, e := range unjoin(err) {
			ps = append(ps, config.Problem{Message: e.Error()})
		}
		return ps
	}
	return nil
}

// unjoin splits an errors.Join error into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// FileOwned reports whether the config file declares an entity of kind
// ("routes", "upstreams", "consumers", "plugins", "ai/providers",
// "ai/models") called name.
func (a *App) FileOwned(kind admin.Kind, name string) bool {
	f := a.fileCfg.Load()
	has := func(n int, get func(int) string) bool {
		for i := 0; i < n; i++ {
			if get(i) == name {
				return true
			}
		}
		return false
	}
	switch kind {
	case admin.KindRoutes:
		return has(len(f.Routes), func(i int) string { return f.Routes[i].Name })
	case admin.KindUpstreams:
		return has(len(f.Upstreams), func(i int) string { return f.Upstreams[i].Name })
	case admin.KindConsumers:
		return has(len(f.Consumers), func(i int) string { return f.Consumers[i].Name })
	case admin.KindPlugins:
		_, ok := f.Plugins[name]
		return ok
	case admin.KindAIProviders:
		return has(len(f.AI.Providers), func(i int) string { return f.AI.Providers[i].Name })
	case admin.KindAIModels:
		return has(len(f.AI.Models), func(i int) string { return f.AI.Models[i].Name })
	}
	return false
}

// Current returns the merged config the node serves.
func (a *App) Current() *config.Config { return a.cfg.Load() }
