package admin

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/store"
)

// checkResult is the outcome of checking a write.
type checkResult struct {
	// c is the merged config as checked, the write applied.
	c *config.Config
	// path is the config path of the written entity, "" for a delete.
	path string
	// problems are what the check found; nil when the write is valid.
	problems config.Problems
}

// check validates the merged config with change applied; change returns
// the config path of the entity it wrote ("" when it removed one). Before
// change runs, every API-managed entity of the kinds others refer to is
// replaced by the store's current one: the merged config the node serves
// may lag the store by the time a change takes to arrive, and a route
// created right after its upstream must pass. A failure of the check
// itself (not problems) is an error.
func (a *API) check(ctx context.Context, change func(c *config.Config) string) (*checkResult, error) {
	overlay, err := a.freshOverlay(ctx)
	if err != nil {
		return nil, a.storeError(ctx, err, "the stored config")
	}
	res := &checkResult{}
	err = a.cfg.Check(func(c *config.Config) {
		overlay(c)
		res.path = change(c)
		res.c = c
	})
	var ps config.Problems
	switch {
	case err == nil:
	case errors.As(err, &ps):
		res.problems = ps
	default:
		return nil, gwerr.New(gwerr.Internal, fmt.Errorf("checking the config: %w", err))
	}
	return res, nil
}

// freshOverlay reads the store's entities of every fresh kind and returns
// a function that puts them into a config in place of its API-managed
// ones, keeping the file's.
func (a *API) freshOverlay(ctx context.Context) (func(*config.Config), error) {
	var steps []func(*config.Config)
	for _, read := range []func() (func(*config.Config), error){
		func() (func(*config.Config), error) { return overlayKind(ctx, a, upstreamKind) },
		func() (func(*config.Config), error) { return overlayKind(ctx, a, routeKind) },
		func() (func(*config.Config), error) { return overlayKind(ctx, a, pluginKind) },
		func() (func(*config.Config), error) { return overlayKind(ctx, a, providerKind) },
		func() (func(*config.Config), error) { return overlayKind(ctx, a, modelKind) },
	} {
		step, err := read()
		if err != nil {
			return nil, err
		}
		steps = append(steps, step)
	}
	return func(c *config.Config) {
		for _, step := range steps {
			step(c)
		}
	}, nil
}

// overlayKind is freshOverlay for one kind. Which entities the file owns
// is decided here, not in the returned function, which runs inside
// Config.Check.
func overlayKind[T any](ctx context.Context, a *API, k *kindSpec[T]) (func(*config.Config), error) {
	recs, _, err := k.repo(a.store).List(ctx, store.Page{})
	if err != nil {
		return nil, err
	}
	owned := fileNames(a, k)
	return func(c *config.Config) {
		var items []T
		for _, v := range k.items(c) {
			if owned[k.name(&v)] {
				items = append(items, v)
			}
		}
		for _, r := range recs {
			if !owned[k.name(&r.Value)] {
				items = append(items, r.Value)
			}
		}
		k.setItems(c, items)
	}, nil
}

// fileNames returns the names of the entities of kind k that the config
// file declares.
func fileNames[T any](a *API, k *kindSpec[T]) map[string]bool {
	names := map[string]bool{}
	for _, v := range k.items(a.cfg.Current()) {
		if n := k.name(&v); a.cfg.FileOwned(k.kind, n) {
			names[n] = true
		}
	}
	return names
}

// bodyProblems turns the problems of a check into problems of the request
// body that wrote the entity at res.path. Problems elsewhere in the config
// (a route using the upstream being deleted) keep their config path and
// say which entity they are in.
func bodyProblems[T any](k *kindSpec[T], res *checkResult) []problem {
	out := make([]problem, 0, len(res.problems))
	for _, p := range res.problems {
		msg := strings.TrimPrefix(p.Message, p.Path+": ")
		rest, ok := below(p.Path, res.path)
		if !ok {
			if d := describeAt(res.c, p.Path); d != "" {
				msg = d + ": " + msg
			}
			out = append(out, problem{ConfigPath: p.Path, Message: msg})
			continue
		}
		bp := strings.TrimPrefix(rest, ".")
		if k.bodyPath != nil {
			bp = k.bodyPath(rest)
		}
		out = append(out, problem{Path: bp, Field: firstField(bp), Message: msg})
	}
	return out
}

// below reports whether path lies at or under prefix and returns the rest
// (".match.paths[0]", or "" for prefix itself). An empty prefix has
// nothing below it.
func below(path, prefix string) (string, bool) {
	switch {
	case prefix == "":
		return "", false
	case path == prefix:
		return "", true
	case strings.HasPrefix(path, prefix) && (path[len(prefix)] == '.' || path[len(prefix)] == '['):
		return path[len(prefix):], true
	}
	return "", false
}

var entityPath = regexp.MustCompile(`^(routes|upstreams|consumers|ai\.providers|ai\.models)\[(\d+)\]`)

// describeAt names the entity of c that the config path lies in, like
// `route "api"`, or returns "" when it lies in none.
func describeAt(c *config.Config, path string) string {
	if c == nil {
		return ""
	}
	if rest, ok := strings.CutPrefix(path, "plugins"); ok && rest != "" {
		name := strings.TrimPrefix(rest, ".")
		if i := strings.IndexAny(name, ".["); i > 0 {
			name = name[:i]
		} else if strings.HasPrefix(rest, `["`) {
			if q, err := strconv.QuotedPrefix(rest[1:]); err == nil {
				name, _ = strconv.Unquote(q)
			}
		}
		return fmt.Sprintf("global plugin %q", name)
	}
	m := entityPath.FindStringSubmatch(path)
	if m == nil {
		return ""
	}
	i, _ := strconv.Atoi(m[2])
	var kind, name string
	switch m[1] {
	case "routes":
		kind, name = "route", nameAt(c.Routes, i, func(v config.Route) string { return v.Name })
	case "upstreams":
		kind, name = "upstream", nameAt(c.Upstreams, i, func(v config.Upstream) string { return v.Name })
	case "consumers":
		kind, name = "consumer", nameAt(c.Consumers, i, func(v config.Consumer) string { return v.Name })
	case "ai.providers":
		kind, name = "AI provider", nameAt(c.AI.Providers, i, func(v config.Provider) string { return v.Name })
	case "ai.models":
		kind, name = "AI model", nameAt(c.AI.Models, i, func(v config.Model) string { return v.Name })
	}
	return fmt.Sprintf("%s %q", kind, name)
}

func nameAt[T any](items []T, i int, name func(T) string) string {
	if i < len(items) {
		return name(items[i])
	}
	return ""
}
