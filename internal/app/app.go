// Package app runs a sluice node: it loads the config, builds and swaps
// snapshots, owns the proxy and admin listeners, reloads on SIGHUP or a
// config file change, and drains on shutdown. cmd/sluice only parses flags
// and signals and calls into here; tests start an App in-process.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/ai"
	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/gateway"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/h1"
	"github.com/sluicegw/sluice/internal/plugin"
	_ "github.com/sluicegw/sluice/internal/plugins/all" // built-in plugins
	"github.com/sluicegw/sluice/internal/proxy"
	"github.com/sluicegw/sluice/internal/secret"
	"github.com/sluicegw/sluice/internal/snapshot"
	"github.com/sluicegw/sluice/internal/telemetry"
	"github.com/sluicegw/sluice/internal/upstream"
)

// Options configure an App.
type Options struct {
	// ConfigPath is the YAML file; empty runs on built-in defaults.
	ConfigPath string
	// DataDir holds the node's state; created when missing.
	DataDir string
	// Stdout receives the access log when the config says "stdout";
	// Stderr receives the application log. Defaults: os.Stdout, os.Stderr.
	Stdout, Stderr io.Writer
	// Version is reported by /status.
	Version string
}

// App is one running node.
type App struct {
	opts    Options
	log     *slog.Logger
	started time.Time

	reloadMu sync.Mutex                    // serialises reloads
	cfg      atomic.Pointer[config.Config] // merged: file + store
	fileCfg  atomic.Pointer[config.Config] // the config file alone
	stored   atomic.Pointer[storedConfig]  // the store's part; nil until read
	keys     *secret.Keyring
	version  atomic.Uint64
	reg      *upstream.Registry
	plugins  *plugin.State
	gw       *gateway.Gateway

	accessOut *telemetry.BufferedWriter
	accessF   *os.File

	store     storeHandle
	reqlog    *telemetry.RequestLogWriter
	usage     *telemetry.UsageWriter
	aiReg     *ai.Registry
	aiClient  *http.Client
	nodeID    string
	stopStore context.CancelFunc
	storeDone chan struct{}

	proxy   *h1.Server
	admin   *http.Server
	proxyLn net.Listener
	adminLn net.Listener
	serveWG sync.WaitGroup

	shutdownOnce sync.Once
	adminMux     adminMux
	metrics      *telemetry.Metrics
	stats        *telemetry.Stats
}

// New loads the config and builds the first snapshot. Nothing listens yet.
func New(opts Options) (*App, error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.DataDir == "" {
		opts.DataDir = "sluice-data"
	}
	cfg, err := loadConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	a := &App{opts: opts, started: time.Now()}
	a.log = slog.New(slog.NewJSONHandler(opts.Stderr, &slog.HandlerOptions{Level: logLevel(cfg.Log.Level)}))
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if a.keys, err = secret.LoadKeyring(opts.DataDir); err != nil {
		return nil, err
	}
	access, err := a.openAccessLog(cfg.Log.Access)
	if err != nil {
		return nil, err
	}
	a.reg = upstream.NewRegistry(a.log)
	a.plugins = plugin.NewState()
	a.aiReg, a.aiClient = ai.NewRegistry(), ai.NewClient()
	a.usage = telemetry.NewUsageWriter(&a.store, a.log)
	snap, err := snapshot.Build(cfg, a.reg, a.version.Add(1), a.snapOpts(nil))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a.cfg.Store(cfg)
	a.fileCfg.Store(cfg)
	a.gw = gateway.New(snap, access, a.log)
	tracer, err := a.newTracer(&cfg.Telemetry.Tracing)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a.gw.SetTracer(tracer)
	a.setupMetrics()
	a.reg.Commit(snap.Upstreams)
	if err := a.openStore(); err != nil {
		tracer.Shutdown(context.Background())
		return nil, err
	}
	return a, nil
}

// snapOpts are the long-lived services snapshots are built with, and the
// stored credentials of st (nil: none yet).
func (a *App) snapOpts(st *storedConfig) snapshot.Options {
	o := snapshot.Options{PluginState: a.plugins, Log: a.log, NewMAC: a.keys.NewDigestMAC,
		AIRegistry: a.aiReg, AI: ai.Options{Client: a.aiClient, Usage: a.usage, Log: a.log}}
	if st != nil {
		o.StoredCredentials = st.creds
	}
	return o
}

// loadConfig reads path, or returns the defaults when path is empty.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// openAccessLog opens the access log destination.
func (a *App) openAccessLog(dest string) (*telemetry.AccessLog, error) {
	var w io.Writer
	switch dest {
	case "off":
		return telemetry.NewAccessLog(nil), nil
	case "", "stdout":
		w = a.opts.Stdout
	case "stderr":
		w = a.opts.Stderr
	default:
		f, err := os.OpenFile(dest, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, fmt.Errorf("access log: %w", err)
		}
		a.accessF = f
		w = f
	}
	a.accessOut = telemetry.NewBufferedWriter(w, 64<<10, 200*time.Millisecond)
	return telemetry.NewAccessLog(a.accessOut), nil
}

// Start opens the listeners and serves in the background.
func (a *App) Start() error {
	cfg := a.cfg.Load()
	srv := cfg.Server
	var tlsConf *tls.Config
	if srv.TLS != nil {
		cert, err := tls.LoadX509KeyPair(srv.TLS.CertFile, srv.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("server.tls: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	a.proxy = &h1.Server{
		Handler:           a.gw,
		TLSConfig:         tlsConf,
		H2C:               srv.H2C,
		ReadHeaderTimeout: srv.ReadHeaderTimeout.D(),
		IdleTimeout:       srv.IdleTimeout.D(),
		MaxHeaderBytes:    int(srv.MaxHeaderBytes),
		MaxURLBytes:       int(srv.MaxURLBytes),
		ErrorHandler:      renderEngineError,
		Logger:            a.log,
	}
	var err error
	if a.proxyLn, err = net.Listen("tcp", srv.Listen); err != nil {
		return fmt.Errorf("proxy listener: %w", err)
	}
	if a.adminLn, err = net.Listen("tcp", srv.AdminListen); err != nil {
		a.proxyLn.Close()
		return fmt.Errorf("admin listener: %w", err)
	}
	a.admin = &http.Server{Handler: a.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
	a.serveWG.Add(2)
	go func() {
		defer a.serveWG.Done()
		if err := a.proxy.Serve(a.proxyLn); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("proxy listener stopped", "error", err)
		}
	}()
	go func() {
		defer a.serveWG.Done()
		if err := a.admin.Serve(a.adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin listener stopped", "error", err)
		}
	}()
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	a.log.Info("sluice listening",
		"proxy", scheme+"://"+a.proxyLn.Addr().String(),
		"admin", "http://"+a.adminLn.Addr().String(),
		"config", a.opts.ConfigPath, "data", a.opts.DataDir)
	return nil
}

// renderEngineError renders the errors the HTTP engine makes itself
// (malformed requests, oversized heads) in the gateway's problem format.
func renderEngineError(w http.ResponseWriter, status int, code string) {
	e := gwerr.New(gwerr.Code(code), nil)
	if e.Status != status {
		e.Status = status
	}
	id := gateway.NewRequestID()
	w.Header().Set("X-Request-Id", id)
	w.Header().Set("Connection", "close")
	gwerr.Write(w, id, e)
}

// ProxyAddr is the proxy listener's address (after Start).
func (a *App) ProxyAddr() string { return a.proxyLn.Addr().String() }

// AdminAddr is the admin listener's address (after Start).
func (a *App) AdminAddr() string { return a.adminLn.Addr().String() }

// Gateway returns the proxy handler.
func (a *App) Gateway() *gateway.Gateway { return a.gw }

// Reload re-reads the config file, builds a new snapshot and swaps it in.
// On any problem the running snapshot stays and the error says why.
func (a *App) Reload() error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	if a.opts.ConfigPath == "" {
		return nil
	}
	cfg, err := config.Load(a.opts.ConfigPath)
	if err != nil {
		a.log.Error("config reload rejected; still serving the previous config", "error", err.Error())
		return err
	}
	return a.apply(cfg, a.stored.Load())
}

// apply builds and swaps in a snapshot of the file config merged with the
// store's part. The caller holds reloadMu.
func (a *App) apply(file *config.Config, st *storedConfig) error {
	old := a.cfg.Load()
	cfg := file
	if st != nil {
		cfg = merge(file, st)
		if ps := cfg.Validate(); len(ps) > 0 {
			a.log.Error("config reload rejected; still serving the previous config", "error", ps.Error())
			return ps
		}
	}
	snap, err := snapshot.Build(cfg, a.reg, a.version.Load()+1, a.snapOpts(st))
	if err != nil {
		a.log.Error("config reload rejected; still serving the previous config", "error", err.Error())
		return err
	}
	swapTracer, err := a.prepareTracing(old, cfg)
	if err != nil {
		a.log.Error("config reload rejected; still serving the previous config", "error", err.Error())
		return err
	}
	a.version.Store(snap.Version)
	a.gw.Swap(snap)
	if swapTracer != nil {
		swapTracer()
	}
	a.cfg.Store(cfg)
	a.fileCfg.Store(file)
	a.reg.Commit(snap.Upstreams)
	if old.Server.Listen != cfg.Server.Listen || old.Server.AdminListen != cfg.Server.AdminListen ||
		(old.Server.TLS == nil) != (cfg.Server.TLS == nil) {
		a.log.Warn("listener settings changed; they take effect on restart")
	}
	a.log.Info("config reloaded", "config_version", snap.Version, "routes", len(snap.Routes), "upstreams", len(snap.Upstreams))
	return nil
}

// Shutdown stops accepting, lets in-flight requests finish (until ctx
// ends), then releases everything.
func (a *App) Shutdown(ctx context.Context) error {
	var err error
	a.shutdownOnce.Do(func() { err = a.shutdown(ctx) })
	return err
}

func (a *App) shutdown(ctx context.Context) error {
	var err error
	if a.proxy != nil {
		err = a.proxy.Shutdown(ctx)
	}
	if a.admin != nil {
		a.admin.Shutdown(ctx)
	}
	a.serveWG.Wait()
	if n := proxy.CloseUpgraded(); n > 0 {
		a.log.Info("closed upgraded connections at shutdown", "connections", n)
	}
	a.shutdownTracing(ctx)
	a.closeStore(ctx)
	a.reg.Close()
	if a.accessOut != nil {
		a.accessOut.Close()
	}
	if a.accessF != nil {
		a.accessF.Close()
	}
	return err
}

// DataFile returns a path inside the data dir.
func (a *App) DataFile(name string) string { return filepath.Join(a.opts.DataDir, name) }

// FlushAccessLog writes out buffered access log lines (tests read them).
func (a *App) FlushAccessLog() {
	if a.accessOut != nil {
		a.accessOut.Flush()
	}
}
