// Package sqlite is the embedded store backend, on modernc.org/sqlite (pure
// Go, no cgo). Importing it registers the driver "sqlite" with store.Open.
//
// The database runs in WAL mode with synchronous=FULL, so a committed write
// survives a crash or power loss, and with foreign keys enforced. All writes
// go through one dedicated connection whose transactions begin IMMEDIATE
// (taking the write lock up front, so two writers never deadlock upgrading
// read locks); reads use a separate pool of query-only connections, which
// WAL lets run alongside the writer. Another process writing the same file
// makes writers wait up to Options.BusyTimeout.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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

func init() { store.Register("sqlite", Open) }

// Defaults for Options fields left zero.
const (
	defaultReadConns    = 4
	defaultBusyTimeout  = 5 * time.Second
	defaultPollInterval = 250 * time.Millisecond
)

// Open opens (creating if needed) the SQLite database at dsn, a file path
// optionally prefixed with "file:", and migrates it. A new database file is
// created with mode 0600 in a directory created with mode 0700. In-memory
// databases are refused: the writer and the readers would each see their
// own.
func Open(ctx context.Context, dsn string, opts store.Options) (store.Store, error) {
	path, err := filePath(dsn)
	if err != nil {
		return nil, err
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = defaultBusyTimeout
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = defaultReadConns
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = defaultPollInterval
	}
	d, err := openDriver(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	migrations, err := Migrations()
	if err == nil {
		err = sqlcore.Migrate(ctx, d, migrations)
	}
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	return sqlcore.New(d, sqlcore.Options{Sealer: opts.Sealer, PollInterval: opts.PollInterval, Logger: opts.Logger}), nil
}

// filePath extracts the database file path from dsn.
func filePath(dsn string) (string, error) {
	path := strings.TrimPrefix(dsn, "file:")
	switch {
	case path == "":
		return "", fmt.Errorf("%w: empty SQLite path", store.ErrInvalid)
	case path == ":memory:" || strings.HasPrefix(path, ":memory:"):
		return "", fmt.Errorf("%w: in-memory SQLite databases are not supported; give a file path", store.ErrInvalid)
	case strings.ContainsAny(path, "?#"):
		return "", fmt.Errorf("%w: SQLite DSN %q: give a plain file path; sluice sets the connection options itself", store.ErrInvalid, dsn)
	}
	return path, nil
}

// createPrivate creates the database file, and its directory, readable by
// the owner only, unless it exists. SQLite gives its -wal and -shm files the
// database file's mode.
func createPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return f.Close()
}

// connDSN is the DSN of one connection kind: every connection waits
// busyTimeout for locks, enforces foreign keys, syncs fully and binds
// time.Time as unix microseconds; the writer also sets WAL and begins
// transactions IMMEDIATE, readers are query-only.
func connDSN(path string, busyTimeout time.Duration, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_time_integer_format", "unix_micro")
	if writer {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "journal_size_limit(67108864)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return path + "?" + q.Encode()
}

// driver implements sqlcore.Driver over database/sql.
type driver struct {
	writer *sql.DB // one connection: every write transaction
	reader *sql.DB // query-only pool
}

var _ sqlcore.Driver = (*driver)(nil)

func openDriver(ctx context.Context, path string, opts store.Options) (*driver, error) {
	writer, err := sql.Open("sqlite", connDSN(path, opts.BusyTimeout, true))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	// The writer connects first, so WAL is on before any reader opens.
	if err := pingBusy(ctx, writer, opts.BusyTimeout); err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", connDSN(path, opts.BusyTimeout, false))
	if err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	reader.SetMaxOpenConns(opts.MaxConns)
	reader.SetMaxIdleConns(opts.MaxConns)
	reader.SetConnMaxIdleTime(5 * time.Minute)
	return &driver{writer: writer, reader: reader}, nil
}

// pingBusy connects db, retrying for up to timeout while the database is
// busy: a connection's setup (switching to WAL, WAL recovery) can meet
// SQLITE_BUSY without SQLite's busy handler being consulted, typically when
// several processes open a new database at once.
func pingBusy(ctx context.Context, db *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (d *driver) Reader() sqlcore.Querier { return querier{d.reader} }

func (d *driver) Begin(ctx context.Context) (sqlcore.TxQuerier, error) {
	t, err := d.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return tx{querier{t}, t}, nil
}

// maxVariables is SQLite's default limit on parameters per statement.
const maxVariables = 32766

// BulkInsert inserts rows in one transaction with multi-row INSERTs of up
// to 500 rows (fewer when rows are wide), the statement for a full chunk
// prepared once.
func (d *driver) BulkInsert(ctx context.Context, table string, columns []string, rows [][]any) error {
	per := min(500, maxVariables/len(columns))
	t, err := d.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = t.Rollback() }() // a no-op after Commit
	var full *sql.Stmt
	args := make([]any, 0, per*len(columns))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if len(chunk) == per {
			if full == nil {
				if full, err = t.PrepareContext(ctx, insertSQL(table, columns, per)); err != nil {
					return err
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = t.ExecContext(ctx, insertSQL(table, columns, len(chunk)), args...)
		}
		if err != nil {
			return err
		}
	}
	return t.Commit()
}

// insertSQL is a multi-row INSERT of n rows.
func insertSQL(table string, columns []string, n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// LockMigrations has nothing to do: the migration transaction began
// IMMEDIATE and holds the database's write lock already.
func (d *driver) LockMigrations(context.Context, sqlcore.Querier) error { return nil }

// Notify has nothing to do: other processes poll.
func (d *driver) Notify(context.Context, sqlcore.Querier, uint64) error { return nil }

// Listen has nothing to do: the core's polling is how other processes'
// changes are seen.
func (d *driver) Listen(func()) {}

// Classify maps SQLite constraint violations to the store's errors.
func (d *driver) Classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}

func (d *driver) Ping(ctx context.Context) error { return d.reader.PingContext(ctx) }

// Close lets SQLite refresh its query planner statistics, then closes both
// pools.
func (d *driver) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _ = d.writer.ExecContext(ctx, "PRAGMA optimize")
	return errors.Join(d.reader.Close(), d.writer.Close())
}

// sqlQuerier is what *sql.DB and *sql.Tx have in common.
type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// querier adapts database/sql to sqlcore.Querier.
type querier struct{ q sqlQuerier }

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	r, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlcore.Row {
	return row{q.q.QueryRowContext(ctx, query, args...)}
}

type rows struct{ *sql.Rows }

func (r rows) Close() { _ = r.Rows.Close() }

type row struct{ r *sql.Row }

func (r row) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return sqlcore.ErrNoRows
	}
	return err
}

// tx is a write transaction on the writer connection.
type tx struct {
	querier
	t *sql.Tx
}

func (t tx) Commit(context.Context) error   { return t.t.Commit() }
func (t tx) Rollback(context.Context) error { return t.t.Rollback() }
