package app

import (
	"context"
	"errors"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/admin"
	"github.com/sluicegw/sluice/internal/ai"
	"github.com/sluicegw/sluice/internal/console"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gateway"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/store"
)

var _ admin.Config = (*App)(nil)

// adminMux serves the admin listener: /healthz always, /metrics, the
// admin API (internal/admin) under /api/ once the store is open (until
// then the API answers 503 store_unavailable), and the web console
// (internal/console) at every other path.
type adminMux struct {
	api     atomic.Pointer[http.Handler]
	metrics http.Handler
	console http.Handler
}

func (m *adminMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// /metrics is served like /healthz, without credentials, for scrapers:
	// the admin listener is loopback-only unless configured otherwise.
	if r.URL.Path == "/metrics" && m.metrics != nil {
		m.metrics.ServeHTTP(w, r)
		return
	}
	if m.console != nil && r.URL.Path != "/healthz" && !strings.HasPrefix(r.URL.Path, "/api/") {
		m.console.ServeHTTP(w, r)
		return
	}
	if h := m.api.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	if r.URL.Path == "/healthz" {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
		return
	}
	gwerr.Write(w, gateway.NewRequestID(), gwerr.New(gwerr.StoreUnavailable, nil))
}

// adminHandler returns the admin listener's handler.
func (a *App) adminHandler() http.Handler {
	if a.adminMux.console == nil {
		a.adminMux.console = console.New()
	}
	return &a.adminMux
}

// startAdminAPI builds the admin API on the open store, creates the first
// admin user when there is none, and starts serving the API.
func (a *App) startAdminAPI(ctx context.Context, s store.Store) error {
	api, err := admin.New(admin.Options{
		Store:      s,
		Keys:       a.keys,
		Config:     a,
		Status:     a.statusBody,
		Health:     a.upstreamHealth,
		Stats:      func(window, step time.Duration) any { return a.stats.Query(window, step) },
		AdminToken: os.Getenv("SLUICE_ADMIN_TOKEN"),
		Log:        a.log,
		Playground: playground{a},
	})
	if err != nil {
		return err
	}
	if err := api.Bootstrap(ctx, a.opts.Stderr, os.Getenv("SLUICE_ADMIN_PASSWORD")); err != nil {
		return err
	}
	h := api.Handler()
	a.adminMux.api.Store(&h)
	return nil
}

// statusBody is the body of GET /api/v1/status.
func (a *App) statusBody() map[string]any {
	cfg := a.cfg.Load()
	return map[string]any{
		"version":        a.opts.Version,
		"go":             runtime.Version(),
		"node_id":        a.nodeID,
		"uptime_seconds": int64(time.Since(a.started).Seconds()),
		"config_version": a.version.Load(),
		"config_file":    a.opts.ConfigPath,
		"storage":        map[string]any{"driver": cfg.Storage.Driver, "open": a.store.get() != nil},
		"routes":         len(cfg.Routes),
		"upstreams":      len(cfg.Upstreams),
	}
}

// upstreamHealth is the body of GET /api/v1/upstreams/{name}/health: each
// target's state, last check and last error.
func (a *App) upstreamHealth(name string) (any, bool) {
	u, ok := a.gw.Snapshot().Upstreams[name]
	if !ok || u == nil {
		return nil, false
	}
	targets := u.Targets()
	out := make([]any, len(targets))
	for i, t := range targets {
		out[i] = t.Status()
	}
	return map[string]any{"upstream": name, "balancer": u.Balancer(), "targets": out}, true
}

// playground serves the console's AI playground (POST
// /api/v1/playground/chat, behind the admin API's session and CSRF
// checks) through the current snapshot's AI gateway: every model, usage
// recorded under the consumer "console".
type playground struct{ a *App }

func (p playground) ServeChat(w http.ResponseWriter, r *http.Request) {
	x := &exchange.Exchange{}
	x.Reset()
	x.Start, x.ID = time.Now(), gateway.NewRequestID()
	x.Method, x.Host, x.Path = r.Method, r.Host, "/v1/chat/completions"
	x.Route, x.Consumer = "(playground)", "console"
	rt := p.a.gw.Snapshot().AI.Playground()
	if err := rt.Serve(w, r, x, nil); err != nil && !errors.Is(err, ai.ErrClientGone) {
		exchange.SetGatewayHeaders(w.Header(), x)
		rt.WriteError(w, x, gwerr.As(err))
	}
}
