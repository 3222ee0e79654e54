// Package storetest is the behaviour every store backend must show, as one
// suite each backend's tests run against a real database: the same calls,
// the same results, the same errors. A difference between SQLite and
// PostgreSQL is a failure here.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/secret"
	"github.com/sluicegw/sluice/internal/store"
)

// Backend is a store backend under test.
type Backend struct {
	// NewDB creates a fresh, empty database, removed when t ends, and
	// returns its address (a file path, a schema name: whatever Open
	// understands).
	NewDB func(t *testing.T) string
	// Open opens a Store on a database made by NewDB, migrating it.
	Open func(ctx context.Context, db string, opts store.Options) (store.Store, error)
	// Exec runs one SQL statement on the database outside any Store, to
	// put it in states a Store would not (a newer schema).
	Exec func(t *testing.T, db, query string)
}

// Run runs the whole suite against b.
func Run(t *testing.T, b Backend) {
	h := &harness{b: b}
	t.Run("Entities", h.testEntities)
	t.Run("ConsumerWithoutInlineCredentials", h.testConsumerCredentialsRefused)
	t.Run("UnstorableText", h.testUnstorableText)
	t.Run("ProviderSecretsSealed", h.testProviderSecrets)
	t.Run("Credentials", h.testCredentials)
	t.Run("CredentialCascade", h.testCredentialCascade)
	t.Run("ConfigVersion", h.testConfigVersion)
	t.Run("TxRollback", h.testTxRollback)
	t.Run("ConcurrentUpdates", h.testConcurrentUpdates)
	t.Run("Users", h.testUsers)
	t.Run("Tokens", h.testTokens)
	t.Run("Sessions", h.testSessions)
	t.Run("RequestLogFilters", h.testRequestLogFilters)
	t.Run("RequestLogPrune", h.testRequestLogPrune)
	t.Run("Usage", h.testUsage)
	t.Run("Nodes", h.testNodes)
	t.Run("WatchSameStore", h.testWatchSameStore)
	t.Run("WatchOtherStore", h.testWatchOtherStore)
	t.Run("WatchEnds", h.testWatchEnds)
	t.Run("MigrationsIdempotent", h.testMigrationsIdempotent)
	t.Run("ConcurrentOpen", h.testConcurrentOpen)
	t.Run("NewerSchemaRefused", h.testNewerSchemaRefused)
}

type harness struct{ b Backend }

// testMasterKey is the suite's fixed master key.
var testMasterKey = bytes.Repeat([]byte{0x5a}, secret.MasterKeySize)

// Keyring returns the keyring the suite seals with.
func Keyring(t testing.TB) *secret.Keyring {
	k, err := secret.NewKeyring(testMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// open makes a fresh database and opens a Store on it.
func (h *harness) open(t *testing.T) (store.Store, string) {
	t.Helper()
	db := h.b.NewDB(t)
	return h.openDB(t, db, store.Options{}), db
}

// openDB opens a Store on db with the suite's keyring unless opts has a
// Sealer, and closes it when t ends.
func (h *harness) openDB(t *testing.T, db string, opts store.Options) store.Store {
	t.Helper()
	if opts.Sealer == nil {
		opts.Sealer = Keyring(t)
	}
	s, err := h.b.Open(context.Background(), db, opts)
	if err != nil {
		t.Fatalf("open %s: %v", db, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// ctx returns a context that ends with the test, bounded so a hung
// database fails the test instead of the whole run.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// wantErr fails unless err is (or wraps) want; want nil means no error.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error: %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

// sameJSON fails unless got and want marshal to the same JSON.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s: marshal: %v %v", what, err1, err2)
	}
	if !bytes.Equal(g, w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// version returns the store's config version.
func version(t *testing.T, s store.Store) uint64 {
	t.Helper()
	v, err := s.ConfigVersion(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
