// Package postgres is the store backend for many nodes sharing one
// PostgreSQL database, on pgx/v5. Importing it registers the driver
// "postgres" with store.Open.
//
// Options.Schema isolates an installation (or a test) in its own schema:
// it is created when missing and set as every connection's search_path.
// Each transaction that bumps the config version also sends pg_notify on a
// channel named after the schema; every Store that watches keeps one
// connection LISTENing on it, so other nodes learn of a change as soon as it
// commits. When that connection drops, the core's polling (every
// Options.PollInterval) carries on until it is back.
package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluicegw/sluice/internal/store"
	"github.com/sluicegw/sluice/internal/store/internal/sqlcore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema migrations of this backend, in order.
func Migrations() ([]sqlcore.Migration, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return sqlcore.LoadMigrations(sub)
}

func init() { store.Register("postgres", Open) }

const defaultPollInterval = time.Second

// Open connects to the PostgreSQL database at dsn (a postgres:// URL or a
// key=value connection string), creates Options.Schema if it is set and
// missing, and migrates it.
func Open(ctx context.Context, dsn string, opts store.Options) (store.Store, error) {
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres DSN: %w", err)
	}
	cfg := pcfg.ConnConfig
	if opts.Schema == "" {
		// A DSN may name the schema as search_path; every node with the
		// same DSN must then share the NOTIFY channel named after it.
		if sp, _, _ := strings.Cut(cfg.RuntimeParams["search_path"], ","); sp != "" {
			opts.Schema = strings.Trim(strings.TrimSpace(sp), `"`)
		}
	}
	if opts.Schema != "" {
		cfg.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	if opts.MaxConns > 0 {
		pcfg.MaxConns = int32(opts.MaxConns)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = defaultPollInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	d := newDriver(pool, cfg, opts)
	if err := d.prepare(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	return sqlcore.New(d, sqlcore.Options{Sealer: opts.Sealer, PollInterval: opts.PollInterval, Logger: opts.Logger}), nil
}

// prepare creates the schema when one is configured and migrates it.
func (d *driver) prepare(ctx context.Context) error {
	if d.schema != "" {
		if _, err := d.pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{d.schema}.Sanitize()); err != nil {
			// Two nodes creating the schema at once can collide even with
			// IF NOT EXISTS; what matters is that it exists now.
			var exists bool
			if qerr := d.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, d.schema).Scan(&exists); qerr != nil || !exists {
				return fmt.Errorf("store: creating schema %q: %w", d.schema, err)
			}
		}
	}
	migrations, err := Migrations()
	if err != nil {
		return err
	}
	return sqlcore.Migrate(ctx, d, migrations)
}

// driver implements sqlcore.Driver over a pgx pool.
type driver struct {
	pool    *pgxpool.Pool
	connCfg *pgx.ConnConfig // for the LISTEN connection, outside the pool
	schema  string
	channel string // the NOTIFY channel of this schema
	log     *slog.Logger

	// ctx ends on Close and stops the listener.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ sqlcore.Driver = (*driver)(nil)

func newDriver(pool *pgxpool.Pool, connCfg *pgx.ConnConfig, opts store.Options) *driver {
	ctx, cancel := context.WithCancel(context.Background())
	return &driver{
		pool:    pool,
		connCfg: connCfg,
		schema:  opts.Schema,
		channel: channelName(opts.Schema),
		log:     opts.Logger,
		ctx:     ctx,
		cancel:  cancel,
	}
}

// channelName is the NOTIFY channel for schema: readable when it fits in
// PostgreSQL's 63-byte identifiers, a hash of the schema otherwise.
func channelName(schema string) string {
	const base = "sluice_config"
	if schema == "" {
		return base
	}
	if name := base + "_" + schema; len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(schema))
	return base + "_" + hex.EncodeToString(sum[:16])
}

func (d *driver) Reader() sqlcore.Querier { return querier{d.pool} }

func (d *driver) Begin(ctx context.Context) (sqlcore.TxQuerier, error) {
	t, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return tx{querier{t}, t}, nil
}

// BulkInsert copies rows into table with COPY, which is atomic.
func (d *driver) BulkInsert(ctx context.Context, table string, columns []string, rows [][]any) error {
	_, err := d.pool.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
	return err
}

// LockMigrations takes a transaction-scoped advisory lock keyed by the
// schema, so nodes starting together migrate one after the other.
func (d *driver) LockMigrations(ctx context.Context, q sqlcore.Querier) error {
	_, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "sluice_migrate:"+d.schema)
	return err
}

// Notify queues a notification carrying the new version; PostgreSQL sends
// it when (and only if) the transaction commits.
func (d *driver) Notify(ctx context.Context, q sqlcore.Querier, version uint64) error {
	_, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, d.channel, strconv.FormatUint(version, 10))
	return err
}

// Classify maps PostgreSQL constraint violations to the store's errors.
func (d *driver) Classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	case "23503": // foreign_key_violation
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}

func (d *driver) Ping(ctx context.Context) error { return d.pool.Ping(ctx) }

// Close stops the listener and closes the pool.
func (d *driver) Close() error {
	d.cancel()
	d.wg.Wait()
	d.pool.Close()
	return nil
}

// pgxQuerier is what *pool and pgx.Tx have in common.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// querier adapts pgx to sqlcore.Querier.
type querier struct{ q pgxQuerier }

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.q.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	return q.q.Query(ctx, query, args...)
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlcore.Row {
	return row{q.q.QueryRow(ctx, query, args...)}
}

type row struct{ r pgx.Row }

func (r row) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sqlcore.ErrNoRows
	}
	return err
}

// tx is a transaction on a pooled connection.
type tx struct {
	querier
	t pgx.Tx
}

func (t tx) Commit(ctx context.Context) error   { return t.t.Commit(ctx) }
func (t tx) Rollback(ctx context.Context) error { return t.t.Rollback(ctx) }
