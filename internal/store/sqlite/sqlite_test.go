package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/store"
	"github.com/sluicegw/sluice/internal/store/storetest"
)

func backend() storetest.Backend {
	return storetest.Backend{
		NewDB: func(t *testing.T) string { return filepath.Join(t.TempDir(), "sluice.db") },
		Open:  Open,
		Exec: func(t *testing.T, db, query string) {
			t.Helper()
			raw, err := sql.Open("sqlite", db)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(query); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestStore(t *testing.T) { storetest.Run(t, backend()) }

func TestOpenThroughRegistry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "sluice.db")
	s, err := store.Open(context.Background(), "sqlite", path, store.Options{Sealer: storetest.Keyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if runtime.GOOS == "windows" {
		return
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %#o, want %#o", p, got, want)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	cases := []struct {
		name string
		dsn  string
		opts store.Options
		want error
	}{
		{"memory", ":memory:", store.Options{Sealer: storetest.Keyring(t)}, store.ErrInvalid},
		{"file memory", "file::memory:", store.Options{Sealer: storetest.Keyring(t)}, store.ErrInvalid},
		{"query parameters", "x.db?_pragma=synchronous(OFF)", store.Options{Sealer: storetest.Keyring(t)}, store.ErrInvalid},
		{"empty", "", store.Options{Sealer: storetest.Keyring(t)}, store.ErrInvalid},
		{"no sealer", filepath.Join(t.TempDir(), "x.db"), store.Options{}, store.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.Open(context.Background(), "sqlite", tc.dsn, tc.opts)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestPragmas checks the durability settings on the connections the store
// really uses.
func TestPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sluice.db")
	d, err := openDriver(context.Background(), path, store.Options{BusyTimeout: 1234e6, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cases := []struct {
		name   string
		db     *sql.DB
		pragma string
		want   string
	}{
		{"writer journal", d.writer, "journal_mode", "wal"},
		{"writer sync FULL", d.writer, "synchronous", "2"},
		{"writer foreign keys", d.writer, "foreign_keys", "1"},
		{"writer busy timeout", d.writer, "busy_timeout", "1234"},
		{"reader journal", d.reader, "journal_mode", "wal"},
		{"reader sync FULL", d.reader, "synchronous", "2"},
		{"reader foreign keys", d.reader, "foreign_keys", "1"},
		{"reader query only", d.reader, "query_only", "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			if err := tc.db.QueryRow("PRAGMA " + tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
			}
		})
	}
	if _, err := d.reader.Exec("CREATE TABLE x (y INTEGER)"); err == nil {
		t.Error("a reader connection accepted a write")
	}
}

// TestNoPlaintextSecretsOnDisk stores secrets through the store and then
// reads every byte SQLite wrote: the secrets must not be there, while the
// non-secret names next to them are (so the search does look in the right
// place).
func TestNoPlaintextSecretsOnDisk(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sluice.db")
	kr := storetest.Keyring(t)
	s, err := Open(context.Background(), path, store.Options{Sealer: kr})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	secrets := []string{"jwt-hmac-PLAINTEXT-3f9a", "alice-api-key-PLAINTEXT-77c1", "sk-provider-PLAINTEXT-0b2e", "Bearer header-PLAINTEXT-91d4"}
	names := []string{"consumer-alice-visible", "provider-openai-visible"}
	if _, err := s.Consumers().Create(ctx, config.Consumer{Name: names[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Credentials().Create(ctx, store.Credential{Consumer: names[0], Type: "jwt", Lookup: kr.Digest("alice-app"),
		Secret: []byte(secrets[0])}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Credentials().Create(ctx, store.Credential{Consumer: names[0], Type: "key-auth", Lookup: kr.Digest(secrets[1])}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AIProviders().Create(ctx, config.Provider{Name: names[1], Type: "openai", APIKeys: []string{secrets[2]},
		Headers: map[string]string{"Authorization": secrets[3]}}); err != nil {
		t.Fatal(err)
	}
	// Check the files both while open (data in the WAL) and after close
	// (checkpointed into the main file).
	check := func(when string, wantNames bool) {
		var all []byte
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "sluice.db") {
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, b...)
			}
		}
		for _, sec := range secrets {
			if bytes.Contains(all, []byte(sec)) {
				t.Errorf("%s: plaintext secret %q found in the database files", when, sec)
			}
		}
		if wantNames {
			for _, n := range names {
				if !bytes.Contains(all, []byte(n)) {
					t.Errorf("%s: %q not found: the search is not reading the data", when, n)
				}
			}
		}
	}
	check("open", true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed", true)
}

func BenchmarkInsertRequestLogs(b *testing.B) {
	storetest.BenchInsertRequestLogs(b, func(b *testing.B) store.Store {
		s, err := Open(context.Background(), filepath.Join(b.TempDir(), "sluice.db"), store.Options{Sealer: storetest.Keyring(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}, 100, 1000)
}
