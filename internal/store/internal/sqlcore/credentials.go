package sqlcore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluicegw/sluice/internal/store"
)

// credentials implements store.Credentials.
type credentials struct{ s scope }

const credentialColumns = `id, consumer, type, lookup, secret, attrs, created_at`

// associated binds a credential's sealed secret to its id.
func credentialAD(id string) []byte { return []byte("sluice/credentials/" + id) }

func (c credentials) scan(sc interface{ Scan(...any) error }) (store.Credential, error) {
	var (
		cr     store.Credential
		sealed []byte
		attrs  string
	)
	if err := sc.Scan(&cr.ID, &cr.Consumer, &cr.Type, &cr.Lookup, &sealed, &attrs, scanTime(&cr.Created)); err != nil {
		return cr, err
	}
	if err := json.Unmarshal([]byte(attrs), &cr.Attrs); err != nil {
		return cr, fmt.Errorf("decoding attributes of credential %s: %w", cr.ID, err)
	}
	if len(sealed) > 0 {
		plain, err := c.s.db.sealer.Decrypt(sealed, credentialAD(cr.ID))
		if err != nil {
			return cr, fmt.Errorf("opening credential %s: %w", cr.ID, err)
		}
		cr.Secret = plain
	}
	return cr, nil
}

func (c credentials) Create(ctx context.Context, cr store.Credential) (store.Credential, error) {
	switch {
	case cr.Consumer == "":
		return cr, invalid("credential without a consumer")
	case cr.Type == "":
		return cr, invalid("credential without a type")
	case len(cr.Lookup) == 0:
		return cr, invalid("credential without a lookup digest")
	}
	if cr.ID == "" {
		cr.ID = newID()
	}
	if err := storable("credential", cr.ID, cr.Consumer, cr.Type); err != nil {
		return cr, err
	}
	cr.Created = now()
	var sealed []byte
	if len(cr.Secret) > 0 {
		var err error
		if sealed, err = c.s.db.sealer.Encrypt(cr.Secret, credentialAD(cr.ID)); err != nil {
			return cr, fmt.Errorf("store: sealing credential: %w", err)
		}
	}
	attrs, err := json.Marshal(cr.Attrs)
	if err != nil {
		return cr, fmt.Errorf("store: encoding credential attributes: %w", err)
	}
	if hasEscapedNUL(attrs) {
		return cr, invalid("credential attributes hold a NUL character")
	}
	err = c.s.write(ctx, true, func(q Querier) error {
		var one int
		switch err := q.QueryRow(ctx, `SELECT 1 FROM consumers WHERE name = $1`, cr.Consumer).Scan(&one); {
		case errors.Is(err, ErrNoRows):
			return notFound("consumer %q", cr.Consumer)
		case err != nil:
			return err
		}
		n, err := q.Exec(ctx, `INSERT INTO credentials (`+credentialColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			cr.ID, cr.Consumer, cr.Type, cr.Lookup, nullBytes(sealed), string(attrs), cr.Created)
		if err != nil {
			return c.s.classify(err)
		}
		if n == 0 {
			return conflict("a %s credential with this lookup value, or id %s, already exists", cr.Type, cr.ID)
		}
		return nil
	})
	if err != nil {
		return store.Credential{}, wrap(err, "creating credential for consumer %q", cr.Consumer)
	}
	return cr, nil
}

// one reads a single credential.
func (c credentials) one(ctx context.Context, what, where string, args ...any) (store.Credential, error) {
	var cr store.Credential
	for _, a := range args {
		if s, ok := a.(string); ok && !isText(s) {
			return cr, notFound("%s", what)
		}
	}
	err := c.s.read(func(q Querier) error {
		var err error
		cr, err = c.scan(q.QueryRow(ctx, `SELECT `+credentialColumns+` FROM credentials WHERE `+where, args...))
		return err
	})
	if errors.Is(err, ErrNoRows) {
		return cr, notFound("%s", what)
	}
	return cr, wrap(err, "reading %s", what)
}

// many reads a list of credentials.
func (c credentials) many(ctx context.Context, rest string, args ...any) ([]store.Credential, error) {
	var out []store.Credential
	err := c.s.read(func(q Querier) error {
		rows, err := q.Query(ctx, `SELECT `+credentialColumns+` FROM credentials `+rest, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			cr, err := c.scan(rows)
			if err != nil {
				return err
			}
			out = append(out, cr)
		}
		return rows.Err()
	})
	return out, err
}

func (c credentials) Get(ctx context.Context, id string) (store.Credential, error) {
	return c.one(ctx, fmt.Sprintf("credential %s", id), `id = $1`, id)
}

func (c credentials) FindByDigest(ctx context.Context, typ string, digest []byte) (store.Credential, error) {
	return c.one(ctx, fmt.Sprintf("%s credential with this lookup value", typ), `type = $1 AND lookup = $2`, typ, digest)
}

func (c credentials) List(ctx context.Context, p store.Page) ([]store.Credential, int, error) {
	limit, offset, err := checkPage(p)
	if err != nil {
		return nil, 0, err
	}
	var total int64
	if err := c.s.read(func(q Querier) error {
		return q.QueryRow(ctx, `SELECT count(*) FROM credentials`).Scan(&total)
	}); err != nil {
		return nil, 0, fmt.Errorf("store: counting credentials: %w", err)
	}
	out, err := c.many(ctx, `ORDER BY consumer, id LIMIT $1 OFFSET $2`, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: listing credentials: %w", err)
	}
	return out, int(total), nil
}

func (c credentials) ListByConsumer(ctx context.Context, consumer string) ([]store.Credential, error) {
	if !isText(consumer) {
		return nil, nil
	}
	out, err := c.many(ctx, `WHERE consumer = $1 ORDER BY created_at, id`, consumer)
	if err != nil {
		return nil, fmt.Errorf("store: listing credentials of consumer %q: %w", consumer, err)
	}
	return out, nil
}

func (c credentials) Delete(ctx context.Context, id string) error {
	if !isText(id) {
		return notFound("credential %s", id)
	}
	err := c.s.write(ctx, true, func(q Querier) error {
		n, err := q.Exec(ctx, `DELETE FROM credentials WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound("credential %s", id)
		}
		return nil
	})
	return wrap(err, "deleting credential %s", id)
}
