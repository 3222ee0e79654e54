// Package snapshot compiles a config into the immutable runtime the hot path
// reads: the route matcher, per-route forwarding settings and the upstream
// backends. A snapshot is built whole off the hot path and swapped in
// atomically; one that fails to build is rejected and the old one stays.
//
// Long-lived state that must survive swaps (connection pools, health,
// counters) is not in the snapshot: it lives in the upstream.Registry and is
// reused by name.
package snapshot

import (
	"crypto/tls"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/sluicegw/sluice/internal/ai"
	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/proxy"
	"github.com/sluicegw/sluice/internal/router"
	"github.com/sluicegw/sluice/internal/upstream"
)

// Snapshot is one compiled, immutable config. Everything reachable from it
// is safe for concurrent reads and must never be written after Build.
type Snapshot struct {
	Version uint64
	Config  *config.Config

	Router *router.Router
	Routes []Route // by the router's route index

	Backends  map[string]*proxy.Backend
	Upstreams map[string]*upstream.Upstream

	// TrustedProxies are the peers whose forwarding headers are believed.
	TrustedProxies []netip.Prefix

	// Consumers are the snapshot's consumers and credentials.
	Consumers *consumer.Index

	// AI is the AI gateway (providers, models, prices).
	AI *ai.Gateway
}

// Route is a compiled route.
type Route struct {
	Name         string
	StripPath    bool
	PreserveHost bool
	// Backend is the upstream the route forwards to; nil for AI routes.
	Backend *proxy.Backend
	// AI serves the route when it is an `ai: {}` route; nil otherwise.
	AI *ai.Route
	// Plugins is the route's plugin chain (global, route and consumer
	// scopes merged); nil when no plugin applies.
	Plugins *plugin.Chain
}

// Options are the long-lived services a snapshot build may use.
type Options struct {
	// PluginState keeps plugin state (limiter counters) across snapshots.
	PluginState *plugin.State
	Log         *slog.Logger
	// NewMAC digests credentials (the node keyring's); nil: a random key.
	NewMAC func() hash.Hash
	// StoredCredentials are the credentials managed through the admin API.
	StoredCredentials []consumer.Stored
	// AIRegistry keeps provider key state across snapshots; nil: a new one.
	AIRegistry *ai.Registry
	// AI are the AI gateway's long-lived services (provider client, usage
	// sink).
	AI ai.Options
}

// Build compiles cfg. It registers upstreams with reg (reusing targets that
// survive from the previous snapshot) but starts nothing: the caller calls
// reg.Commit after swapping the snapshot in.
func Build(cfg *config.Config, reg *upstream.Registry, version uint64, opts Options) (*Snapshot, error) {
	s := &Snapshot{Version: version, Config: cfg, Backends: make(map[string]*proxy.Backend, len(cfg.Upstreams))}
	var errs []error
	if opts.PluginState == nil {
		opts.PluginState = plugin.NewState()
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}

	for _, p := range cfg.Server.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("server.trusted_proxies: %q is not an IP or CIDR", p))
				continue
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		s.TrustedProxies = append(s.TrustedProxies, pfx.Masked())
	}

	specs := make([]upstream.Spec, 0, len(cfg.Upstreams))
	tlsConfs := make(map[string]*tls.Config, len(cfg.Upstreams))
	for i := range cfg.Upstreams {
		u := &cfg.Upstreams[i]
		tc, err := upstreamTLS(u)
		if err != nil {
			errs = append(errs, fmt.Errorf("upstream %q: %w", u.Name, err))
		}
		tlsConfs[u.Name] = tc
		specs = append(specs, upstreamSpec(u, tc))
	}
	ups, err := reg.Apply(specs)
	if err != nil {
		errs = append(errs, err)
	}
	s.Upstreams = ups
	for i := range cfg.Upstreams {
		u := &cfg.Upstreams[i]
		if ups[u.Name] == nil {
			continue
		}
		s.Backends[u.Name] = backend(u, ups[u.Name], tlsConfs[u.Name])
	}

	if opts.AIRegistry == nil {
		opts.AIRegistry = ai.NewRegistry()
	}
	if opts.AI.Log == nil {
		opts.AI.Log = opts.Log
	}
	s.AI, err = ai.Build(&cfg.AI, opts.AIRegistry, opts.AI)
	if err != nil {
		errs = append(errs, err)
	}

	specsR := make([]router.Route, len(cfg.Routes))
	s.Routes = make([]Route, len(cfg.Routes))
	for i := range cfg.Routes {
		rc := &cfg.Routes[i]
		specsR[i] = router.Route{
			Name:    rc.Name,
			Hosts:   rc.Match.Hosts,
			Paths:   rc.Match.Paths,
			Methods: rc.Match.Methods,
			Headers: rc.Match.Headers,
		}
		s.Routes[i] = Route{Name: rc.Name, StripPath: rc.StripPath, PreserveHost: rc.PreserveHost}
		if rc.Upstream != "" {
			b := s.Backends[rc.Upstream]
			if b == nil {
				errs = append(errs, fmt.Errorf("route %q: upstream %q is not defined", rc.Name, rc.Upstream))
			}
			s.Routes[i].Backend = b
		}
		if rc.AI != nil && s.AI != nil {
			s.Routes[i].AI = s.AI.Route(rc.AI.Models)
		}
	}
	rt, err := router.Compile(specsR)
	if err != nil {
		errs = append(errs, err)
	}
	s.Router = rt
	errs = append(errs, s.buildPlugins(cfg, opts)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// upstreamSpec converts an upstream's config for the registry.
func upstreamSpec(u *config.Upstream, tc *tls.Config) upstream.Spec {
	sp := upstream.Spec{
		Name:           u.Name,
		Balancer:       u.Balancer,
		MaxConnections: u.MaxConnections,
		MaxIdle:        u.KeepAlive.MaxIdle,
		IdleTimeout:    u.KeepAlive.IdleTimeout.D(),
	}
	for _, t := range u.Targets {
		sp.Targets = append(sp.Targets, upstream.TargetSpec{URL: t.URL, Weight: t.Weight})
	}
	if a := u.HealthCheck.Active; a != nil {
		sp.Active = &upstream.ActiveSpec{
			Path: a.Path, Interval: a.Interval.D(), Timeout: a.Timeout.D(),
			Healthy: a.Healthy, Unhealthy: a.Unhealthy, Statuses: a.Statuses, TLS: tc,
		}
	}
	if p := u.HealthCheck.Passive; p != nil && p.Unhealthy > 0 {
		sp.Passive = &upstream.PassiveSpec{Unhealthy: p.Unhealthy, Cooldown: p.Cooldown.D()}
	}
	return sp
}

// backend compiles an upstream's forwarding settings.
func backend(u *config.Upstream, up *upstream.Upstream, tc *tls.Config) *proxy.Backend {
	b := &proxy.Backend{
		Upstream:    up,
		Connect:     u.Timeouts.Connect.D(),
		Read:        u.Timeouts.Read.D(),
		Write:       u.Timeouts.Write.D(),
		Total:       u.Timeouts.Total.D(),
		Retries:     u.Retries,
		RetryBuffer: int(u.RetryBuffer),
		TLS:         tc,
	}
	for _, c := range u.RetryOnStatus {
		b.RetryOnStatus.Add(c)
	}
	if u.Balancer == "hash" {
		kind, arg, _ := strings.Cut(u.HashOn, ":")
		b.HashOn = proxy.HashOn{Kind: kind}
		if kind == "header" {
			b.HashOn.Header = http.CanonicalHeaderKey(arg)
		}
	}
	return b
}

// upstreamTLS builds the client TLS config for an upstream's https
// targets (HTTP/1.1: the proxy's engine speaks it).
func upstreamTLS(u *config.Upstream) (*tls.Config, error) {
	if u.TLS == nil {
		return nil, nil
	}
	c, err := u.TLS.ClientConfig()
	if err != nil {
		return nil, err
	}
	c.NextProtos = []string{"http/1.1"}
	return c, nil
}

// Trusted reports whether addr is a trusted proxy.
func (s *Snapshot) Trusted(addr netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
