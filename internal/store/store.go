// Package store is sluice's durable state: the config entities managed
// through the admin API (routes, upstreams, consumers and their credentials,
// global plugins, AI providers and models), admin users, API tokens and
// console sessions, the request log, AI usage, and the node registry.
//
// The package declares narrow interfaces per aggregate and the types they
// exchange; the implementations live in the backend packages store/sqlite
// (embedded, the default) and store/postgres (many nodes), which register
// themselves with Register when imported and behave identically: one shared
// suite, store/storetest, runs against both.
//
// Every write to a config entity bumps one monotonically increasing config
// version in the same transaction, so a node that sees version N knows it has
// seen every config write committed up to it. Watch delivers new versions:
// in-process at once, across processes through LISTEN/NOTIFY (PostgreSQL)
// or polling.
//
// Secrets never reach the database in plaintext: credential secrets and AI
// provider API keys and headers are sealed with the Sealer given in Options
// (a *secret.Keyring) before they are written and opened when read.
// Credentials are looked up by a keyed digest the caller computes.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Errors returned by every implementation, wrapped with detail; test them
// with errors.Is.
var (
	// ErrNotFound means the entity, or the entity it refers to (a
	// credential's consumer, a token's user), does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a create found the name (or a credential's lookup
	// digest) already taken, or an update carried a version other than the
	// stored one.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid means the call itself is malformed: an empty name, a
	// negative page, a consumer with inline credentials.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrSchemaTooNew means the database was migrated by a newer sluice;
	// this binary refuses to touch it.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this sluice")
	// ErrTxDone means a Tx was used after its function returned.
	ErrTxDone = errors.New("store: transaction already finished")
)

// Store is the whole storage API of one database. All methods are safe for
// concurrent use. The Repos methods outside Tx each run in their own
// transaction.
type Store interface {
	Repos
	Transactor
	ConfigVersions
	RequestLog
	UsageLog
	Nodes
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close stops Watch goroutines and closes the connections. The Store
	// must not be used afterwards.
	io.Closer
}

// Repos gives access to the aggregates that are read and written
// transactionally. The values returned are cheap and may be discarded.
type Repos interface {
	Routes() Routes
	Upstreams() Upstreams
	Consumers() Consumers
	Credentials() Credentials
	Plugins() Plugins
	AIProviders() AIProviders
	AIModels() AIModels
	Users() Users
	Tokens() Tokens
	Sessions() Sessions
}

// Tx is one transaction's view of the aggregates. It must be used only by
// the goroutine running the Tx function and only until that function
// returns; afterwards every call fails with ErrTxDone.
type Tx interface {
	Repos
}

// Transactor runs several writes as one.
type Transactor interface {
	// Tx runs fn in one transaction and commits it when fn returns nil. When
	// fn returns an error or panics, nothing it wrote is kept (the config
	// version included) and Tx returns that error or re-panics. If fn
	// wrote config entities, the config version is bumped once, at commit.
	//
	// Inside fn, use only tx: on SQLite, which has a single writer, a write
	// through the Store itself waits for fn's transaction and deadlocks.
	Tx(ctx context.Context, fn func(tx Tx) error) error
}

// ConfigVersions tracks the config version.
type ConfigVersions interface {
	// ConfigVersion returns the current config version: 0 for a fresh
	// database, then one more for each committed transaction that wrote
	// config entities.
	ConfigVersion(ctx context.Context) (uint64, error)
	// Watch delivers config versions until ctx ends or the Store closes,
	// then closes the channel. The first value is the version when Watch
	// starts (so a caller can compare it with what it has loaded); each
	// later value is larger than the one before. Values are coalesced: a
	// slow reader gets the latest version, not every one. Changes made
	// through this Store arrive at once; changes made by other processes
	// within about one PollInterval (at once on PostgreSQL, through
	// LISTEN/NOTIFY, while the connection holds). While the database is
	// unreachable nothing is delivered and nothing is closed.
	Watch(ctx context.Context) <-chan uint64
}

// Sealer encrypts secrets before they are stored. *secret.Keyring
// implements it. associatedData binds a sealed value to the row it belongs
// to, so a value copied into another row does not open.
type Sealer interface {
	Encrypt(plaintext, associatedData []byte) ([]byte, error)
	Decrypt(sealed, associatedData []byte) ([]byte, error)
}

// Options configure Open. The zero value of every field but Sealer selects
// a default.
type Options struct {
	// Sealer seals credential secrets and provider keys. Required.
	Sealer Sealer
	// Schema is the PostgreSQL schema holding sluice's tables; it is
	// created if missing and set as the connections' search_path. Empty
	// means the server's default search_path. Ignored by SQLite.
	Schema string
	// PollInterval is how often Watch reads the config version to learn of
	// changes made by other processes. Default 1s on PostgreSQL (where it
	// backs up LISTEN/NOTIFY) and 250ms on SQLite (where it is the only
	// way).
	PollInterval time.Duration
	// MaxConns bounds the read pool on SQLite (default 4; writes always use
	// one dedicated connection) and the connection pool on PostgreSQL
	// (default max(4, GOMAXPROCS); a watching Store holds one more, for
	// LISTEN).
	MaxConns int
	// BusyTimeout is how long a SQLite write waits for another process's
	// write lock. Default 5s. Ignored by PostgreSQL.
	BusyTimeout time.Duration
	// Logger receives the few events the store logs (lost and regained
	// database connections while watching). Default slog.Default().
	Logger *slog.Logger
}

// OpenFunc opens a Store of one backend. dsn is the backend's address: a
// file path for SQLite, a postgres:// URL or key=value string for
// PostgreSQL.
type OpenFunc func(ctx context.Context, dsn string, opts Options) (Store, error)

var (
	driversMu sync.RWMutex
	drivers   = map[string]OpenFunc{}
)

// Register makes a backend available to Open under name. Backends call it
// from init; it panics if name is taken or open is nil.
func Register(name string, open OpenFunc) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if open == nil {
		panic("store: Register " + name + " with nil OpenFunc")
	}
	if _, dup := drivers[name]; dup {
		panic("store: Register called twice for " + name)
	}
	drivers[name] = open
}

// Drivers returns the names of the registered backends, sorted.
func Drivers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open connects to the database of the named backend ("sqlite" or
// "postgres"), applies pending migrations, and returns the Store. It fails
// with ErrSchemaTooNew when the database was migrated by a newer sluice.
// The backend's package must be imported (for its registration), e.g.
//
//	import _ "github.com/sluicegw/sluice/internal/store/sqlite"
func Open(ctx context.Context, driver, dsn string, opts Options) (Store, error) {
	driversMu.RLock()
	open := drivers[driver]
	driversMu.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("store: unknown driver %q (registered: %v)", driver, Drivers())
	}
	if opts.Sealer == nil {
		return nil, fmt.Errorf("%w: Options.Sealer is required", ErrInvalid)
	}
	return open(ctx, dsn, opts)
}
