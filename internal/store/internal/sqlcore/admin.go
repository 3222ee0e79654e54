package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicegw/sluice/internal/store"
)

// userExists returns ErrNotFound (wrapped) unless username exists.
func userExists(ctx context.Context, q Querier, username string) error {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM users WHERE username = $1`, username).Scan(&one)
	if errors.Is(err, ErrNoRows) {
		return notFound("user %q", username)
	}
	return err
}

// execOne runs a statement that must affect a row; none is ErrNotFound
// about what.
func execOne(ctx context.Context, s scope, what, query string, args ...any) error {
	if k, ok := args[0].(string); ok && !isText(k) { // the key of the row
		return notFound("%s", what)
	}
	for _, a := range args[1:] {
		if v, ok := a.(string); ok && !isText(v) {
			return invalid("%s: value is not valid UTF-8 text without NUL characters", what)
		}
	}
	err := s.write(ctx, false, func(q Querier) error {
		n, err := q.Exec(ctx, query, args...)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound("%s", what)
		}
		return nil
	})
	return wrap(err, "writing %s", what)
}

// users implements store.Users.
type users struct{ s scope }

const userColumns = `username, password_hash, created_at, last_login`

func scanUser(sc interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	err := sc.Scan(&u.Username, &u.PasswordHash, scanTime(&u.Created), scanTime(&u.LastLogin))
	return u, err
}

func (us users) Create(ctx context.Context, u store.User) (store.User, error) {
	if u.Username == "" {
		return u, invalid("user without a name")
	}
	if err := storable("user", u.Username, u.PasswordHash); err != nil {
		return u, err
	}
	u.Created = now()
	err := us.s.write(ctx, false, func(q Querier) error {
		n, err := q.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			u.Username, u.PasswordHash, u.Created, dbTime(u.LastLogin))
		if err != nil {
			return us.s.classify(err)
		}
		if n == 0 {
			return conflict("user %q already exists", u.Username)
		}
		return nil
	})
	if err != nil {
		return store.User{}, wrap(err, "creating user %q", u.Username)
	}
	return u, nil
}

func (us users) Get(ctx context.Context, username string) (store.User, error) {
	var u store.User
	if !isText(username) {
		return u, notFound("user %q", username)
	}
	err := us.s.read(func(q Querier) error {
		var err error
		u, err = scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
		return err
	})
	if errors.Is(err, ErrNoRows) {
		return u, notFound("user %q", username)
	}
	return u, wrap(err, "reading user %q", username)
}

func (us users) List(ctx context.Context) ([]store.User, error) {
	var out []store.User
	err := us.s.read(func(q Querier) error {
		rows, err := q.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			out = append(out, u)
		}
		return rows.Err()
	})
	return out, wrap(err, "listing users")
}

func (us users) SetPassword(ctx context.Context, username, passwordHash string) error {
	return execOne(ctx, us.s, fmt.Sprintf("user %q", username),
		`UPDATE users SET password_hash = $2 WHERE username = $1`, username, passwordHash)
}

func (us users) RecordLogin(ctx context.Context, username string, at time.Time) error {
	return execOne(ctx, us.s, fmt.Sprintf("user %q", username),
		`UPDATE users SET last_login = $2 WHERE username = $1`, username, dbTime(at))
}

func (us users) Delete(ctx context.Context, username string) error {
	return execOne(ctx, us.s, fmt.Sprintf("user %q", username), `DELETE FROM users WHERE username = $1`, username)
}

// tokens implements store.Tokens.
type tokens struct{ s scope }

const tokenColumns = `id, username, name, digest, created_at, last_used, expires_at`

func scanToken(sc interface{ Scan(...any) error }) (store.APIToken, error) {
	var t store.APIToken
	err := sc.Scan(&t.ID, &t.User, &t.Name, &t.Digest, scanTime(&t.Created), scanTime(&t.LastUsed), scanTime(&t.Expires))
	return t, err
}

func (ts tokens) Create(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	if t.User == "" || len(t.Digest) == 0 {
		return t, invalid("API token without a user or digest")
	}
	if t.ID == "" {
		t.ID = newID()
	}
	if err := storable("API token", t.ID, t.User, t.Name); err != nil {
		return t, err
	}
	t.Created = now()
	err := ts.s.write(ctx, false, func(q Querier) error {
		if err := userExists(ctx, q, t.User); err != nil {
			return err
		}
		n, err := q.Exec(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			t.ID, t.User, t.Name, t.Digest, t.Created, dbTime(t.LastUsed), dbTime(t.Expires))
		if err != nil {
			return ts.s.classify(err)
		}
		if n == 0 {
			return conflict("API token id %s or digest already exists", t.ID)
		}
		return nil
	})
	if err != nil {
		return store.APIToken{}, wrap(err, "creating API token for user %q", t.User)
	}
	return t, nil
}

func (ts tokens) FindByDigest(ctx context.Context, digest []byte) (store.APIToken, error) {
	var t store.APIToken
	err := ts.s.read(func(q Querier) error {
		var err error
		t, err = scanToken(q.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens
			WHERE digest = $1 AND (expires_at IS NULL OR expires_at > $2)`, digest, now()))
		return err
	})
	if errors.Is(err, ErrNoRows) {
		return t, notFound("API token")
	}
	return t, wrap(err, "reading API token")
}

func (ts tokens) List(ctx context.Context, username string) ([]store.APIToken, error) {
	var out []store.APIToken
	if !isText(username) {
		return nil, nil
	}
	err := ts.s.read(func(q Querier) error {
		rows, err := q.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens
			WHERE $1 = '' OR username = $1 ORDER BY created_at, id`, username)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, wrap(err, "listing API tokens")
}

func (ts tokens) Touch(ctx context.Context, id string, at time.Time) error {
	return execOne(ctx, ts.s, "API token "+id, `UPDATE api_tokens SET last_used = $2 WHERE id = $1`, id, dbTime(at))
}

func (ts tokens) Delete(ctx context.Context, id string) error {
	return execOne(ctx, ts.s, "API token "+id, `DELETE FROM api_tokens WHERE id = $1`, id)
}

// sessions implements store.Sessions.
type sessions struct{ s scope }

const sessionColumns = `id_digest, username, csrf_digest, created_at, expires_at`

func (ss sessions) Create(ctx context.Context, s store.Session) (store.Session, error) {
	switch {
	case len(s.IDDigest) == 0 || len(s.CSRFDigest) == 0 || s.User == "":
		return s, invalid("session without an id digest, CSRF digest or user")
	case s.Expires.IsZero():
		return s, invalid("session without an expiry")
	}
	if err := storable("session", s.User); err != nil {
		return s, err
	}
	if s.Created.IsZero() {
		s.Created = now()
	}
	s.Created = s.Created.UTC().Truncate(time.Microsecond)
	s.Expires = s.Expires.UTC().Truncate(time.Microsecond)
	err := ss.s.write(ctx, false, func(q Querier) error {
		if err := userExists(ctx, q, s.User); err != nil {
			return err
		}
		n, err := q.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			s.IDDigest, s.User, s.CSRFDigest, s.Created, s.Expires)
		if err != nil {
			return ss.s.classify(err)
		}
		if n == 0 {
			return conflict("session already exists")
		}
		return nil
	})
	if err != nil {
		return store.Session{}, wrap(err, "creating session for user %q", s.User)
	}
	return s, nil
}

func (ss sessions) Find(ctx context.Context, idDigest []byte) (store.Session, error) {
	var s store.Session
	err := ss.s.read(func(q Querier) error {
		return q.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id_digest = $1 AND expires_at > $2`,
			idDigest, now()).Scan(&s.IDDigest, &s.User, &s.CSRFDigest, scanTime(&s.Created), scanTime(&s.Expires))
	})
	if errors.Is(err, ErrNoRows) {
		return s, notFound("session")
	}
	return s, wrap(err, "reading session")
}

func (ss sessions) Delete(ctx context.Context, idDigest []byte) error {
	return execOne(ctx, ss.s, "session", `DELETE FROM sessions WHERE id_digest = $1`, idDigest)
}

// deleteMany runs a delete and returns how many rows went.
func (ss sessions) deleteMany(ctx context.Context, what, query string, arg any) (int, error) {
	var n int64
	err := ss.s.write(ctx, false, func(q Querier) error {
		var err error
		n, err = q.Exec(ctx, query, arg)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: deleting %s: %w", what, err)
	}
	return int(n), nil
}

func (ss sessions) DeleteUser(ctx context.Context, username string) (int, error) {
	if !isText(username) {
		return 0, nil
	}
	return ss.deleteMany(ctx, "sessions of user "+username, `DELETE FROM sessions WHERE username = $1`, username)
}

func (ss sessions) DeleteExpired(ctx context.Context, at time.Time) (int, error) {
	return ss.deleteMany(ctx, "expired sessions", `DELETE FROM sessions WHERE expires_at <= $1`, dbTime(at))
}
