package store

import (
	"context"
	"time"
)

// User is an admin user. Writes to users, tokens and sessions do not touch
// the config version.
type User struct {
	Username string
	// PasswordHash is an argon2id PHC string (secret.HashPassword).
	PasswordHash string
	Created      time.Time
	// LastLogin is the zero time until the first login.
	LastLogin time.Time
}

// Users stores admin users.
type Users interface {
	// Create stores u and returns it with Created set; a taken Username is
	// ErrConflict.
	Create(ctx context.Context, u User) (User, error)
	// Get returns the user, or ErrNotFound.
	Get(ctx context.Context, username string) (User, error)
	// List returns every user ordered by name.
	List(ctx context.Context) ([]User, error)
	// SetPassword replaces the user's password hash, or returns ErrNotFound.
	SetPassword(ctx context.Context, username, passwordHash string) error
	// RecordLogin sets the user's LastLogin, or returns ErrNotFound.
	RecordLogin(ctx context.Context, username string, at time.Time) error
	// Delete removes the user with their tokens and sessions, or returns
	// ErrNotFound.
	Delete(ctx context.Context, username string) error
}

// APIToken is an admin API bearer token. The token itself is shown once and
// never stored: only its digest is.
type APIToken struct {
	// ID identifies the token; Create assigns a random one when empty.
	ID string
	// User is the username the token acts as; it must exist.
	User string
	// Name is a label for people ("ci deploy").
	Name string
	// Digest is the keyed digest (secret.Keyring.Digest) of the token,
	// unique across tokens.
	Digest   []byte
	Created  time.Time
	LastUsed time.Time // zero until first use
	Expires  time.Time // zero means never
}

// Tokens stores admin API tokens.
type Tokens interface {
	// Create stores t and returns it with ID and Created set. A missing
	// user is ErrNotFound; a taken ID or Digest is ErrConflict.
	Create(ctx context.Context, t APIToken) (APIToken, error)
	// FindByDigest returns the token whose Digest is digest and that has
	// not expired, or ErrNotFound.
	FindByDigest(ctx context.Context, digest []byte) (APIToken, error)
	// List returns the user's tokens, expired ones included, ordered by
	// creation; username "" lists every user's.
	List(ctx context.Context, username string) ([]APIToken, error)
	// Touch sets the token's LastUsed, or returns ErrNotFound.
	Touch(ctx context.Context, id string, at time.Time) error
	// Delete removes the token, or returns ErrNotFound.
	Delete(ctx context.Context, id string) error
}

// Session is a console login session. Only digests of the session id and
// the CSRF token are stored.
type Session struct {
	// IDDigest is the keyed digest of the session cookie's value.
	IDDigest []byte
	User     string
	// CSRFDigest is the keyed digest of the session's CSRF token.
	CSRFDigest []byte
	Created    time.Time
	Expires    time.Time
}

// Sessions stores console sessions.
type Sessions interface {
	// Create stores s; Created is set when zero. A missing user is
	// ErrNotFound, a taken IDDigest ErrConflict, a zero Expires ErrInvalid.
	Create(ctx context.Context, s Session) (Session, error)
	// Find returns the unexpired session whose IDDigest is idDigest, or
	// ErrNotFound.
	Find(ctx context.Context, idDigest []byte) (Session, error)
	// Delete removes one session, or returns ErrNotFound.
	Delete(ctx context.Context, idDigest []byte) error
	// DeleteUser removes every session of username and returns how many.
	DeleteUser(ctx context.Context, username string) (int, error)
	// DeleteExpired removes sessions whose Expires is not after now and
	// returns how many.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}
