package app

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"
)

// adminHandler serves the admin listener. The full admin API and console
// arrive with the store; until then it answers /status and /healthz.
// When SLUICE_ADMIN_TOKEN is set, every path but /healthz requires it.
func (a *App) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /api/v1/status", a.requireToken(a.status))
	mux.HandleFunc("GET /status", a.requireToken(a.status))
	return mux
}

func (a *App) status(w http.ResponseWriter, r *http.Request) {
	cfg := a.cfg.Load()
	body := map[string]any{
		"version":        a.opts.Version,
		"go":             runtime.Version(),
		"uptime_seconds": int64(time.Since(a.started).Seconds()),
		"config_version": a.version.Load(),
		"config_file":    a.opts.ConfigPath,
		"storage":        map[string]string{"driver": cfg.Storage.Driver},
		"routes":         len(cfg.Routes),
		"upstreams":      len(cfg.Upstreams),
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

// requireToken enforces SLUICE_ADMIN_TOKEN when it is set, comparing in
// constant time.
func (a *App) requireToken(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		want := os.Getenv("SLUICE_ADMIN_TOKEN")
		if want != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sluice-admin"`)
				http.Error(w, `{"code":"unauthorized"}`, http.StatusUnauthorized)
				return
			}
		}
		next(w, r)
	}
}
