package store

import (
	"context"
	"time"

	"github.com/sluicegw/sluice/internal/config"
)

// Page selects a window of a list ordered by name.
type Page struct {
	// Offset is how many entries to skip, >= 0.
	Offset int
	// Size is the most entries to return, >= 0; 0 means all from Offset.
	Size int
}

// Record is a stored config entity with its bookkeeping.
type Record[T any] struct {
	Value T
	// Version starts at 1 on create and grows by one on every update. Pass
	// it back to Update to make the update conditional on nobody having
	// changed the entity since it was read.
	Version uint64
	Created time.Time
	Updated time.Time
}

// AnyVersion, passed to Entities.Update, updates whatever version is
// stored.
const AnyVersion uint64 = 0

// Entities stores one kind of config entity, keyed by name. Every write
// bumps the config version in its transaction. The document stored is T
// marshalled as JSON; secret fields (a provider's API keys and headers) are
// sealed separately and restored on read.
type Entities[T any] interface {
	// List returns one page of entities ordered by name, and how many
	// there are in all (counted separately; concurrent writes may make
	// the two disagree).
	List(ctx context.Context, p Page) ([]Record[T], int, error)
	// Get returns the entity called name, or ErrNotFound.
	Get(ctx context.Context, name string) (Record[T], error)
	// Create stores a new entity at version 1. The name is taken from v;
	// an entity of that name already stored is ErrConflict.
	Create(ctx context.Context, v T) (Record[T], error)
	// Update replaces the entity named by v when its stored version is
	// version (or unconditionally for AnyVersion) and returns it at the
	// next version. A missing entity is ErrNotFound, another version
	// ErrConflict. An entity cannot be renamed: delete and create.
	Update(ctx context.Context, v T, version uint64) (Record[T], error)
	// Delete removes the entity called name, or returns ErrNotFound.
	// Deleting a consumer deletes its credentials.
	Delete(ctx context.Context, name string) error
}

// The config entity stores. A Consumer is stored without credentials
// (Create and Update refuse one that has any with ErrInvalid): credentials
// live in Credentials.
type (
	Routes      = Entities[config.Route]
	Upstreams   = Entities[config.Upstream]
	Consumers   = Entities[config.Consumer]
	Plugins     = Entities[Plugin]
	AIProviders = Entities[config.Provider]
	AIModels    = Entities[config.Model]
)

// Plugin is one global plugin: applied to every route.
type Plugin struct {
	// Name is the plugin's stable name, e.g. "cors".
	Name string `json:"name"`
	// Config is the plugin's raw configuration, validated by its factory.
	Config map[string]any `json:"config"`
}

// Credential is one way a consumer authenticates.
type Credential struct {
	// ID identifies the credential; Create assigns a random one when empty.
	ID string
	// Consumer names the consumer it belongs to; it must exist.
	Consumer string
	// Type is key-auth, jwt or basic-auth.
	Type string
	// Lookup is the keyed digest (secret.Keyring.Digest) of the value the
	// gateway finds the credential by: the key of key-auth, the user name
	// of basic-auth, the issuer of jwt. It is unique per Type.
	Lookup []byte
	// Secret is the credential's secret material in plaintext (for example
	// a JWT HMAC secret or a password hash); the store seals it before it
	// is written and opens it on read. May be empty.
	Secret []byte
	// Attrs are non-secret attributes shown in API responses: algorithm,
	// public key, masked key, user name.
	Attrs   map[string]string
	Created time.Time
}

// Credentials stores consumer credentials. Every write bumps the config
// version in its transaction.
type Credentials interface {
	// Create stores c and returns it with ID and Created set. A missing
	// consumer is ErrNotFound; a Lookup already used by a credential of the
	// same Type, or a taken ID, is ErrConflict.
	Create(ctx context.Context, c Credential) (Credential, error)
	// Get returns the credential with id, or ErrNotFound.
	Get(ctx context.Context, id string) (Credential, error)
	// List returns one page of all credentials ordered by consumer and ID,
	// and how many there are in all.
	List(ctx context.Context, p Page) ([]Credential, int, error)
	// ListByConsumer returns the consumer's credentials ordered by creation.
	// An unknown consumer has none.
	ListByConsumer(ctx context.Context, consumer string) ([]Credential, error)
	// FindByDigest returns the credential of type typ whose Lookup is
	// digest, or ErrNotFound.
	FindByDigest(ctx context.Context, typ string, digest []byte) (Credential, error)
	// Delete removes the credential with id, or returns ErrNotFound.
	Delete(ctx context.Context, id string) error
}
