// Package sqlcore is the SQL implementation of store.Store shared by the
// SQLite and PostgreSQL backends. The backends supply connections,
// transactions, bulk inserts and change notification through Driver; every
// statement here is plain SQL both databases run unchanged ($N parameters,
// ON CONFLICT, RETURNING), which is what keeps the two backends' behaviour
// identical.
//
// Conventions both schemas follow: times are passed as time.Time truncated
// to the microsecond in UTC (SQLite stores them as INTEGER unix
// microseconds, PostgreSQL as timestamptz) and read back through
// scanTime; JSON documents are passed and read as strings; expected
// failures (a taken name, a missing row) are detected from affected-row
// counts rather than from constraint errors, because a failed statement
// aborts a PostgreSQL transaction while SQLite's carries on.
package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluicegw/sluice/internal/store"
)

// ErrNoRows is what a Row's Scan returns when the query produced no row;
// drivers translate their own no-rows error to it.
var ErrNoRows = errors.New("sqlcore: no rows")

// Querier runs statements on a pool or inside a transaction.
type Querier interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows iterates a query's result; Close must be called.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is a single-row result; Scan returns ErrNoRows when there was none.
type Row interface {
	Scan(dest ...any) error
}

// TxQuerier is a Querier inside an open write transaction.
type TxQuerier interface {
	Querier
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Driver is what a backend provides.
type Driver interface {
	// Reader is the Querier for reads outside a transaction.
	Reader() Querier
	// Begin opens a write transaction.
	Begin(ctx context.Context) (TxQuerier, error)
	// BulkInsert inserts rows (values in columns order) into table as one
	// atomic batch, outside any Tx.
	BulkInsert(ctx context.Context, table string, columns []string, rows [][]any) error
	// LockMigrations serialises migrations across processes for the rest
	// of the transaction q.
	LockMigrations(ctx context.Context, q Querier) error
	// Notify runs inside the transaction that bumped the config version
	// to version, to tell other processes once it commits.
	Notify(ctx context.Context, q Querier, version uint64) error
	// Listen starts delivering hints that another process changed the
	// config: it calls wake (from any goroutine) until Close. It is
	// called at most once, on the first Watch.
	Listen(wake func())
	// Classify maps a driver error to store.ErrConflict or
	// store.ErrNotFound (wrapped) when it is a unique or foreign key
	// violation, and returns it unchanged otherwise.
	Classify(err error) error
	Ping(ctx context.Context) error
	Close() error
}

// Options configure New.
type Options struct {
	Sealer       store.Sealer
	PollInterval time.Duration
	Logger       *slog.Logger
}

// DB implements store.Store over a Driver.
type DB struct {
	drv    Driver
	sealer store.Sealer
	poll   time.Duration
	log    *slog.Logger

	changed    signal // broadcast after a config write commits or a hint arrives
	listenOnce sync.Once
	closed     chan struct{}
	closeOnce  sync.Once
	watchers   sync.WaitGroup
}

var _ store.Store = (*DB)(nil)

// New returns a Store over drv. The database must already be migrated
// (see Migrate). The DB owns drv and closes it on Close.
func New(drv Driver, opts Options) *DB {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	return &DB{
		drv:     drv,
		sealer:  opts.Sealer,
		poll:    opts.PollInterval,
		log:     opts.Logger,
		changed: signal{ch: make(chan struct{})},
		closed:  make(chan struct{}),
	}
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.drv.Ping(ctx) }

// Close stops the Watch goroutines, then closes the driver.
func (db *DB) Close() error {
	err := error(nil)
	db.closeOnce.Do(func() {
		close(db.closed)
		db.watchers.Wait()
		err = db.drv.Close()
	})
	return err
}

// ConfigVersion returns the committed config version.
func (db *DB) ConfigVersion(ctx context.Context) (uint64, error) {
	var v int64
	if err := db.drv.Reader().QueryRow(ctx, `SELECT version FROM config_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: reading config version: %w", err)
	}
	return uint64(v), nil
}

// txState is one open transaction.
type txState struct {
	q      TxQuerier
	config bool // a config entity was written: bump the version at commit
	done   bool
}

// Tx runs fn in one transaction.
func (db *DB) Tx(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.runTx(ctx, func(t *txState) error { return fn(repos{scope{db: db, tx: t}}) })
}

// runTx runs fn in a write transaction and commits when it returns nil,
// bumping the config version first if fn wrote config.
func (db *DB) runTx(ctx context.Context, fn func(*txState) error) (err error) {
	q, err := db.drv.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	t := &txState{q: q}
	committed := false
	defer func() {
		t.done = true
		if !committed {
			// A rollback error (the connection is gone) loses nothing:
			// the transaction did not commit either way.
			_ = q.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	if t.config {
		var v int64
		if err := q.QueryRow(ctx, `UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&v); err != nil {
			return fmt.Errorf("store: bumping config version: %w", err)
		}
		if err := db.drv.Notify(ctx, q, uint64(v)); err != nil {
			return fmt.Errorf("store: notifying config version: %w", err)
		}
	}
	if err := q.Commit(ctx); err != nil {
		return fmt.Errorf("store: commit: %w", db.drv.Classify(err))
	}
	committed = true
	if t.config {
		db.changed.broadcast()
	}
	return nil
}

// scope is where an aggregate's statements run: in the open transaction
// tx, or, when tx is nil, each call in its own (writes) or on the read
// pool (reads).
type scope struct {
	db *DB
	tx *txState
}

// read runs fn with the Querier for a read.
func (s scope) read(fn func(q Querier) error) error {
	if s.tx != nil {
		if s.tx.done {
			return store.ErrTxDone
		}
		return fn(s.tx.q)
	}
	return fn(s.db.drv.Reader())
}

// write runs fn in the transaction, or in a new one. config marks the
// write as a config change once fn succeeds.
func (s scope) write(ctx context.Context, config bool, fn func(q Querier) error) error {
	if s.tx != nil {
		if s.tx.done {
			return store.ErrTxDone
		}
		if err := fn(s.tx.q); err != nil {
			return err
		}
		s.tx.config = s.tx.config || config
		return nil
	}
	return s.db.runTx(ctx, func(t *txState) error {
		if err := fn(t.q); err != nil {
			return err
		}
		t.config = config
		return nil
	})
}

// classify maps a driver error through the driver's Classify.
func (s scope) classify(err error) error { return s.db.drv.Classify(err) }

// repos implements store.Repos over one scope.
type repos struct{ scope }

func (r repos) Routes() store.Routes {
	return &entities[routeT]{s: r.scope, spec: &routeSpec}
}

func (r repos) Upstreams() store.Upstreams {
	return &entities[upstreamT]{s: r.scope, spec: &upstreamSpec}
}

func (r repos) Consumers() store.Consumers {
	return &entities[consumerT]{s: r.scope, spec: &consumerSpec}
}

func (r repos) Plugins() store.Plugins {
	return &entities[store.Plugin]{s: r.scope, spec: &pluginSpec}
}

func (r repos) AIProviders() store.AIProviders {
	return &entities[providerT]{s: r.scope, spec: &providerSpec}
}

func (r repos) AIModels() store.AIModels {
	return &entities[modelT]{s: r.scope, spec: &modelSpec}
}

func (r repos) Credentials() store.Credentials { return credentials{r.scope} }
func (r repos) Users() store.Users             { return users{r.scope} }
func (r repos) Tokens() store.Tokens           { return tokens{r.scope} }
func (r repos) Sessions() store.Sessions       { return sessions{r.scope} }

// The Store's own Repos run each call on its own.

func (db *DB) repos() repos                   { return repos{scope{db: db}} }
func (db *DB) Routes() store.Routes           { return db.repos().Routes() }
func (db *DB) Upstreams() store.Upstreams     { return db.repos().Upstreams() }
func (db *DB) Consumers() store.Consumers     { return db.repos().Consumers() }
func (db *DB) Plugins() store.Plugins         { return db.repos().Plugins() }
func (db *DB) AIProviders() store.AIProviders { return db.repos().AIProviders() }
func (db *DB) AIModels() store.AIModels       { return db.repos().AIModels() }
func (db *DB) Credentials() store.Credentials { return db.repos().Credentials() }
func (db *DB) Users() store.Users             { return db.repos().Users() }
func (db *DB) Tokens() store.Tokens           { return db.repos().Tokens() }
func (db *DB) Sessions() store.Sessions       { return db.repos().Sessions() }
