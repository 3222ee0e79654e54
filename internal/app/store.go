package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/store"
	_ "github.com/sluicegw/sluice/internal/store/postgres" // backend
	_ "github.com/sluicegw/sluice/internal/store/sqlite"   // backend
	"github.com/sluicegw/sluice/internal/telemetry"
)

// errStoreUnavailable is what the request log sink answers while the store
// is not (yet) open.
var errStoreUnavailable = errors.New("store not open yet")

// storeHandle holds the node's store once it is open. The proxy never
// waits for it: the store opens in the background (retrying while the
// database is unreachable) and the request log writes to it when it can.
type storeHandle struct {
	s atomic.Pointer[store.Store]
}

// get returns the store, or nil while it is not open.
func (h *storeHandle) get() store.Store {
	if p := h.s.Load(); p != nil {
		return *p
	}
	return nil
}

func (h *storeHandle) InsertRequestLogs(ctx context.Context, entries []store.RequestLogEntry) error {
	s := h.get()
	if s == nil {
		return errStoreUnavailable
	}
	return s.InsertRequestLogs(ctx, entries)
}

func (h *storeHandle) InsertUsage(ctx context.Context, entries []store.UsageEntry) error {
	s := h.get()
	if s == nil {
		return errStoreUnavailable
	}
	return s.InsertUsage(ctx, entries)
}

func (h *storeHandle) PruneRequestLogs(ctx context.Context, olderThan time.Time, maxRows int) (int64, error) {
	s := h.get()
	if s == nil {
		return 0, errStoreUnavailable
	}
	return s.PruneRequestLogs(ctx, olderThan, maxRows)
}

// openStore starts opening the configured store in the background and the
// request log writer that feeds it.
func (a *App) openStore() error {
	cfg := a.cfg.Load()
	keys := a.keys
	driver, dsn := cfg.Storage.Driver, cfg.Storage.DSN
	if driver == "" {
		driver = "sqlite"
	}
	if driver == "sqlite" && dsn == "" {
		dsn = filepath.Join(a.opts.DataDir, "sluice.db")
	}
	a.nodeID = nodeID(a.opts.DataDir)
	if rl := cfg.Log.RequestLog; rl.Enabled {
		a.reqlog = telemetry.NewRequestLogWriter(&a.store, telemetry.RequestLogOptions{
			NodeID: a.nodeID, MaxAge: rl.MaxAge.D(), MaxRows: rl.MaxRows,
			SuccessPerSecond: rl.SuccessPerSecond, Log: a.log,
		})
		a.gw.SetRequestLog(a.reqlog)
	}

	ctx, cancel := context.WithCancel(context.Background())
	a.stopStore = cancel
	a.storeDone = make(chan struct{})
	go func() {
		defer close(a.storeDone)
		for wait := 200 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
			s, err := store.Open(ctx, driver, dsn, store.Options{Sealer: keys, Logger: a.log})
			if err == nil {
				a.store.s.Store(&s)
				a.log.Info("store open", "driver", driver)
				if err := a.reloadStored(ctx, s); err != nil {
					a.log.Error("store config not applied; serving the config file alone", "error", err.Error())
				}
				// The admin API starts beside the watch: creating the first
				// user hashes a password, which must not delay the config.
				adminDone := make(chan struct{})
				go func() {
					defer close(adminDone)
					if err := a.startAdminAPI(ctx, s); err != nil && ctx.Err() == nil {
						a.log.Error("admin API not started", "error", err.Error())
					}
				}()
				a.watchStore(ctx, s)
				<-adminDone
				return
			}
			if ctx.Err() != nil {
				return
			}
			a.log.Error("store: cannot open the database; proxying goes on, retrying", "driver", driver, "error", err.Error(), "retry_in", wait.String())
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}()
	return nil
}

// closeStore flushes the request log and closes the store.
func (a *App) closeStore(ctx context.Context) {
	if a.reqlog != nil {
		a.reqlog.Close(ctx)
	}
	a.usage.Close(ctx)
	if a.stopStore != nil {
		a.stopStore()
		<-a.storeDone
	}
	if s := a.store.get(); s != nil {
		s.Close()
	}
}

// nodeID returns this node's id, kept in the data dir so it survives
// restarts: the host name and a random suffix.
func nodeID(dataDir string) string {
	path := filepath.Join(dataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b))
	}
	host, _ := os.Hostname()
	var r [4]byte
	rand.Read(r[:])
	id := host + "-" + hex.EncodeToString(r[:])
	os.WriteFile(path, []byte(id+"\n"), 0o600)
	return id
}
