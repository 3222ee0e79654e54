package sqlcore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/store"
)

type (
	routeT    = config.Route
	upstreamT = config.Upstream
	consumerT = config.Consumer
	providerT = config.Provider
	modelT    = config.Model
)

// entitySpec describes one config entity table. Every such table has the
// columns name (primary key), doc (the JSON document), secret (sealed
// secret fields, NULL when none), version, created_at and updated_at.
type entitySpec[T any] struct {
	table string
	kind  string // singular, for messages
	name  func(v *T) string
	// check rejects values the table must not hold; nil accepts all.
	check func(v *T) error
	// split removes v's secret fields and returns them as plaintext to
	// seal, nil when there are none; join puts them back. Both are nil for
	// entities without secrets.
	split func(v *T) ([]byte, error)
	join  func(v *T, plain []byte) error
}

var (
	routeSpec = entitySpec[routeT]{table: "routes", kind: "route",
		name: func(v *routeT) string { return v.Name }}
	upstreamSpec = entitySpec[upstreamT]{table: "upstreams", kind: "upstream",
		name: func(v *upstreamT) string { return v.Name }}
	consumerSpec = entitySpec[consumerT]{table: "consumers", kind: "consumer",
		name: func(v *consumerT) string { return v.Name },
		check: func(v *consumerT) error {
			if len(v.Credentials) > 0 {
				return invalid("consumer %q has inline credentials; store them through Credentials", v.Name)
			}
			return nil
		}}
	pluginSpec = entitySpec[store.Plugin]{table: "plugins", kind: "plugin",
		name: func(v *store.Plugin) string { return v.Name }}
	providerSpec = entitySpec[providerT]{table: "ai_providers", kind: "AI provider",
		name: func(v *providerT) string { return v.Name }, split: splitProvider, join: joinProvider}
	modelSpec = entitySpec[modelT]{table: "ai_models", kind: "AI model",
		name: func(v *modelT) string { return v.Name }}
)

// providerSecrets are the fields of a provider that are sealed.
type providerSecrets struct {
	APIKeys []string          `json:"api_keys,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

func splitProvider(v *providerT) ([]byte, error) {
	s := providerSecrets{APIKeys: v.APIKeys, Headers: v.Headers}
	v.APIKeys, v.Headers = nil, nil
	if len(s.APIKeys) == 0 && len(s.Headers) == 0 {
		return nil, nil
	}
	return json.Marshal(s)
}

func joinProvider(v *providerT, plain []byte) error {
	var s providerSecrets
	if err := json.Unmarshal(plain, &s); err != nil {
		return err
	}
	v.APIKeys, v.Headers = s.APIKeys, s.Headers
	return nil
}

// entities implements store.Entities[T] for one table.
type entities[T any] struct {
	s    scope
	spec *entitySpec[T]
}

// associated is the data a sealed secret of the entity is bound to.
func (e *entities[T]) associated(name string) []byte {
	return []byte("sluice/" + e.spec.table + "/" + name)
}

// encode validates v and returns its name, JSON document and sealed
// secret (nil when none).
func (e *entities[T]) encode(v T) (string, string, []byte, error) {
	name := e.spec.name(&v)
	if name == "" {
		return "", "", nil, invalid("%s without a name", e.spec.kind)
	}
	if err := storable(e.spec.kind+" name", name); err != nil {
		return "", "", nil, err
	}
	if e.spec.check != nil {
		if err := e.spec.check(&v); err != nil {
			return "", "", nil, err
		}
	}
	var sealed []byte
	if e.spec.split != nil {
		plain, err := e.spec.split(&v) // v is a copy; the caller's value keeps its secrets
		if err != nil {
			return "", "", nil, fmt.Errorf("store: %s %q: %w", e.spec.kind, name, err)
		}
		if plain != nil {
			if sealed, err = e.s.db.sealer.Encrypt(plain, e.associated(name)); err != nil {
				return "", "", nil, fmt.Errorf("store: sealing %s %q: %w", e.spec.kind, name, err)
			}
		}
	}
	doc, err := json.Marshal(v)
	if err != nil {
		return "", "", nil, fmt.Errorf("store: encoding %s %q: %w", e.spec.kind, name, err)
	}
	if hasEscapedNUL(doc) {
		return "", "", nil, invalid("%s %q holds a NUL character", e.spec.kind, name)
	}
	return name, string(doc), sealed, nil
}

// scanRecord reads one row of name, doc, secret, version, created_at,
// updated_at.
func (e *entities[T]) scanRecord(sc interface{ Scan(...any) error }) (store.Record[T], error) {
	var (
		rec     store.Record[T]
		name    string
		doc     string
		sealed  []byte
		version int64
	)
	if err := sc.Scan(&name, &doc, &sealed, &version, scanTime(&rec.Created), scanTime(&rec.Updated)); err != nil {
		return rec, err
	}
	if err := json.Unmarshal([]byte(doc), &rec.Value); err != nil {
		return rec, fmt.Errorf("store: decoding %s %q: %w", e.spec.kind, name, err)
	}
	if len(sealed) > 0 && e.spec.join != nil {
		plain, err := e.s.db.sealer.Decrypt(sealed, e.associated(name))
		if err != nil {
			return rec, fmt.Errorf("store: opening secrets of %s %q: %w", e.spec.kind, name, err)
		}
		if err := e.spec.join(&rec.Value, plain); err != nil {
			return rec, fmt.Errorf("store: decoding secrets of %s %q: %w", e.spec.kind, name, err)
		}
	}
	rec.Version = uint64(version)
	return rec, nil
}

const entityColumns = `name, doc, secret, version, created_at, updated_at`

func (e *entities[T]) List(ctx context.Context, p store.Page) ([]store.Record[T], int, error) {
	limit, offset, err := checkPage(p)
	if err != nil {
		return nil, 0, err
	}
	var (
		out   []store.Record[T]
		total int64
	)
	err = e.s.read(func(q Querier) error {
		if err := q.QueryRow(ctx, `SELECT count(*) FROM `+e.spec.table).Scan(&total); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT `+entityColumns+` FROM `+e.spec.table+` ORDER BY name LIMIT $1 OFFSET $2`, limit, offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			rec, err := e.scanRecord(rows)
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: listing %s: %w", e.spec.table, err)
	}
	return out, int(total), nil
}

func (e *entities[T]) Get(ctx context.Context, name string) (store.Record[T], error) {
	var rec store.Record[T]
	if !isText(name) {
		return rec, notFound("%s %q", e.spec.kind, name)
	}
	err := e.s.read(func(q Querier) error {
		var err error
		rec, err = e.scanRecord(q.QueryRow(ctx, `SELECT `+entityColumns+` FROM `+e.spec.table+` WHERE name = $1`, name))
		return err
	})
	if errors.Is(err, ErrNoRows) {
		return rec, notFound("%s %q", e.spec.kind, name)
	}
	if err != nil {
		return rec, fmt.Errorf("store: reading %s %q: %w", e.spec.kind, name, err)
	}
	return rec, nil
}

func (e *entities[T]) Create(ctx context.Context, v T) (store.Record[T], error) {
	name, doc, sealed, err := e.encode(v)
	if err != nil {
		return store.Record[T]{}, err
	}
	at := now()
	err = e.s.write(ctx, true, func(q Querier) error {
		n, err := q.Exec(ctx, `INSERT INTO `+e.spec.table+` (`+entityColumns+`) VALUES ($1, $2, $3, 1, $4, $4) ON CONFLICT DO NOTHING`,
			name, doc, nullBytes(sealed), at)
		if err != nil {
			return e.s.classify(err)
		}
		if n == 0 {
			return conflict("%s %q already exists", e.spec.kind, name)
		}
		return nil
	})
	if err != nil {
		return store.Record[T]{}, wrap(err, "creating %s %q", e.spec.kind, name)
	}
	return store.Record[T]{Value: v, Version: 1, Created: at, Updated: at}, nil
}

func (e *entities[T]) Update(ctx context.Context, v T, version uint64) (store.Record[T], error) {
	name, doc, sealed, err := e.encode(v)
	if err != nil {
		return store.Record[T]{}, err
	}
	at := now()
	rec := store.Record[T]{Value: v, Updated: at}
	err = e.s.write(ctx, true, func(q Querier) error {
		query := `UPDATE ` + e.spec.table + ` SET doc = $2, secret = $3, version = version + 1, updated_at = $4 WHERE name = $1`
		args := []any{name, doc, nullBytes(sealed), at}
		if version != store.AnyVersion {
			query += ` AND version = $5`
			args = append(args, int64(version))
		}
		var newVersion int64
		err := q.QueryRow(ctx, query+` RETURNING version, created_at`, args...).Scan(&newVersion, scanTime(&rec.Created))
		if err == nil {
			rec.Version = uint64(newVersion)
			return nil
		}
		if !errors.Is(err, ErrNoRows) {
			return err
		}
		var stored int64
		switch err := q.QueryRow(ctx, `SELECT version FROM `+e.spec.table+` WHERE name = $1`, name).Scan(&stored); {
		case errors.Is(err, ErrNoRows):
			return notFound("%s %q", e.spec.kind, name)
		case err != nil:
			return err
		}
		return conflict("%s %q is at version %d, not %d", e.spec.kind, name, stored, version)
	})
	if err != nil {
		return store.Record[T]{}, wrap(err, "updating %s %q", e.spec.kind, name)
	}
	return rec, nil
}

func (e *entities[T]) Delete(ctx context.Context, name string) error {
	if !isText(name) {
		return notFound("%s %q", e.spec.kind, name)
	}
	err := e.s.write(ctx, true, func(q Querier) error {
		n, err := q.Exec(ctx, `DELETE FROM `+e.spec.table+` WHERE name = $1`, name)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound("%s %q", e.spec.kind, name)
		}
		return nil
	})
	return wrap(err, "deleting %s %q", e.spec.kind, name)
}

// wrap adds context to an unexpected error; the store's own typed errors
// already say what happened and pass through unchanged.
func wrap(err error, format string, args ...any) error {
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrTxDone) {
		return err
	}
	return fmt.Errorf("store: "+format+": %w", append(args, err)...)
}
