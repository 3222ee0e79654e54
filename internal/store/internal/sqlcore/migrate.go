package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/store"
)

// Migration is one numbered schema change.
type Migration struct {
	Version int64
	Name    string // the file name, e.g. "0001_init.sql"
	SQL     string
}

// LoadMigrations reads every NNNN_name.sql file at the top of fsys, sorted
// by version. Versions must be positive and distinct.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int64]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".sql" {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// The bookkeeping table; plain types so the statement runs on both
// databases.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version BIGINT PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at TEXT NOT NULL
)`

// Migrate applies the migrations the database lacks, each in its own
// transaction under the driver's migration lock, and is a no-op on an
// up-to-date database. It refuses (store.ErrSchemaTooNew) a database that
// has a migration this binary does not know, and one whose applied
// migration of some version has another name (two builds disagree about the
// schema).
func Migrate(ctx context.Context, drv Driver, migrations []Migration) error {
	known := map[int64]Migration{}
	for _, m := range migrations {
		known[m.Version] = m
	}
	for {
		done, err := migrateOne(ctx, drv, migrations, known)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the first pending migration; done reports that none
// was pending.
func migrateOne(ctx context.Context, drv Driver, migrations []Migration, known map[int64]Migration) (done bool, err error) {
	q, err := drv.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("store: migrate: begin: %w", err)
	}
	defer func() {
		if err != nil || done {
			_ = q.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := drv.LockMigrations(ctx, q); err != nil {
		return false, fmt.Errorf("store: migrate: lock: %w", err)
	}
	if _, err := q.Exec(ctx, createMigrationsTable); err != nil {
		return false, fmt.Errorf("store: migrate: %w", err)
	}
	applied := map[int64]bool{}
	rows, err := q.Query(ctx, `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		return false, fmt.Errorf("store: migrate: %w", err)
	}
	for rows.Next() {
		var (
			v    int64
			name string
		)
		if err = rows.Scan(&v, &name); err != nil {
			break
		}
		m, ok := known[v]
		switch {
		case !ok:
			err = fmt.Errorf("%w: it has migration %d (%s), which this sluice does not know; upgrade sluice", store.ErrSchemaTooNew, v, name)
		case m.Name != name:
			err = fmt.Errorf("store: migrate: migration %d is %s in the database but %s here", v, name, m.Name)
		}
		if err != nil {
			break
		}
		applied[v] = true
	}
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		if !errors.Is(err, store.ErrSchemaTooNew) {
			err = fmt.Errorf("store: migrate: %w", err)
		}
		return false, err
	}
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		if _, err := q.Exec(ctx, m.SQL); err != nil {
			return false, fmt.Errorf("store: migration %s: %w", m.Name, err)
		}
		if _, err := q.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return false, fmt.Errorf("store: migration %s: %w", m.Name, err)
		}
		if err := q.Commit(ctx); err != nil {
			return false, fmt.Errorf("store: migration %s: commit: %w", m.Name, err)
		}
		return false, nil
	}
	return true, nil
}
