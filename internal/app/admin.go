package app

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/gateway"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/store"
)

// adminHandler serves the admin listener. The full admin API and console
// (users, sessions, API tokens) arrive with the admin work; until then it
// answers /healthz, /status and /logs, and every path but /healthz
// requires the SLUICE_ADMIN_TOKEN bearer token: with no token configured,
// nothing but /healthz is served.
func (a *App) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /api/v1/status", a.requireToken(a.status))
	mux.HandleFunc("GET /status", a.requireToken(a.status))
	mux.HandleFunc("GET /api/v1/logs", a.requireToken(a.logs))
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
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if want == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sluice-admin"`)
			gwerr.Write(w, gateway.NewRequestID(), gwerr.Newf(gwerr.Unauthorized, nil, "The admin API needs a bearer token (SLUICE_ADMIN_TOKEN)."))
			return
		}
		next(w, r)
	}
}

// logs answers GET /api/v1/logs: the request log, newest first, filtered
// by request_id, code, status, route, consumer, since and until (RFC 3339
// or a Go duration back from now, like 15m), limited by limit.
func (a *App) logs(w http.ResponseWriter, r *http.Request) {
	s := a.store.get()
	if s == nil {
		gwerr.Write(w, gateway.NewRequestID(), gwerr.New(gwerr.StoreUnavailable, nil))
		return
	}
	q := r.URL.Query()
	f := store.LogFilter{RequestID: q.Get("request_id"), Code: q.Get("code"), Route: q.Get("route"), Consumer: q.Get("consumer")}
	var bad []string
	if v := q.Get("status"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			bad = append(bad, "status")
		}
		f.Status = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			bad = append(bad, "limit")
		}
		f.Limit = n
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				bad = append(bad, name)
			}
			*dst = t
		}
	}
	if len(bad) > 0 {
		gwerr.Write(w, gateway.NewRequestID(), gwerr.Newf(gwerr.BadRequest, nil, "Invalid query parameters: %s.", strings.Join(bad, ", ")))
		return
	}
	entries, err := s.QueryRequestLogs(r.Context(), f)
	if err != nil {
		a.log.Error("admin: querying the request log", "error", err)
		gwerr.Write(w, gateway.NewRequestID(), gwerr.New(gwerr.Internal, err))
		return
	}
	type entryJSON struct {
		Time       time.Time       `json:"time"`
		RequestID  string          `json:"request_id"`
		NodeID     string          `json:"node_id"`
		Route      string          `json:"route,omitempty"`
		Upstream   string          `json:"upstream,omitempty"`
		Consumer   string          `json:"consumer,omitempty"`
		Method     string          `json:"method"`
		Host       string          `json:"host"`
		Path       string          `json:"path"`
		Status     int             `json:"status"`
		Code       string          `json:"code,omitempty"`
		Error      string          `json:"error,omitempty"`
		Attempts   []store.Attempt `json:"attempts"`
		BytesIn    int64           `json:"bytes_in"`
		BytesOut   int64           `json:"bytes_out"`
		DurationMS float64         `json:"duration_ms"`
		UpstreamMS float64         `json:"upstream_ms"`
	}
	out := make([]entryJSON, len(entries))
	for i, e := range entries {
		out[i] = entryJSON{e.Time, e.RequestID, e.NodeID, e.Route, e.Upstream, e.Consumer, e.Method, e.Host, e.Path,
			e.Status, e.Code, e.Error, e.Attempts, e.BytesIn, e.BytesOut,
			float64(e.Duration.Microseconds()) / 1000, float64(e.UpstreamDuration.Microseconds()) / 1000}
		if out[i].Attempts == nil {
			out[i].Attempts = []store.Attempt{}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"data": out})
}

// parseTime reads an RFC 3339 time or a duration back from now.
func parseTime(v string) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Parse(time.RFC3339, v)
}
