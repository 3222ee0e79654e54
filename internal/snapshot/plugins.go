package snapshot

import (
	"fmt"
	"maps"
	"slices"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/plugin"
)

// buildPlugins indexes the consumers and builds every plugin instance:
// global ones once, route and consumer ones per entity, each validated by
// its factory. Errors carry the config file line of the plugin.
func (s *Snapshot) buildPlugins(cfg *config.Config, opts Options) []error {
	var errs []error
	ix, err := consumer.Build(cfg.Consumers, consumer.Options{NewMAC: opts.NewMAC, Stored: opts.StoredCredentials})
	if err != nil {
		errs = append(errs, err)
	}
	s.Consumers = ix
	env := func(scope string) plugin.Env {
		return plugin.Env{Consumers: ix, State: opts.PluginState, Scope: scope, Log: opts.Log, RedisURL: cfg.Redis.URL}
	}
	build := func(path, scope string, cfgs map[string]map[string]any) map[string]any {
		out := make(map[string]any, len(cfgs))
		for _, name := range slices.Sorted(maps.Keys(cfgs)) {
			inst, _, err := plugin.Build(name, cfgs[name], env(scope))
			if err != nil {
				errs = append(errs, lineErr(cfg, path+"."+name, err))
				continue
			}
			out[name] = inst
		}
		return out
	}

	global := build("plugins", "global", cfg.Plugins)
	consumerOnly := map[string]bool{}
	for i, cc := range cfg.Consumers {
		if len(cc.Plugins) == 0 {
			continue
		}
		c, ok := ix.ByName(cc.Name)
		if !ok {
			continue
		}
		c.Plugins = build(fmt.Sprintf("consumers[%d].plugins", i), "consumer:"+cc.Name, cc.Plugins)
		for name := range cc.Plugins {
			consumerOnly[name] = true
		}
	}
	only := slices.Sorted(maps.Keys(consumerOnly))
	for i := range cfg.Routes {
		rc := &cfg.Routes[i]
		if len(global) == 0 && len(rc.Plugins) == 0 && len(only) == 0 {
			continue
		}
		insts := maps.Clone(global)
		if insts == nil {
			insts = map[string]any{}
		}
		maps.Copy(insts, build(fmt.Sprintf("routes[%d].plugins", i), "route:"+rc.Name, rc.Plugins))
		s.Routes[i].Plugins = plugin.NewChain(insts, only)
	}
	return errs
}

// lineErr prefixes err with the config line of path, when known.
func lineErr(cfg *config.Config, path string, err error) error {
	if line := cfg.Line(path); line > 0 {
		return fmt.Errorf("%s:%d: %s: %w", cfg.File(), line, path, err)
	}
	return fmt.Errorf("%s: %w", path, err)
}
