package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/store"
	"github.com/sluicegw/sluice/internal/store/storetest"
)

// testDSN is the server the tests use: $SLUICE_TEST_POSTGRES_DSN, or the
// local one.
func testDSN() string {
	if dsn := os.Getenv("SLUICE_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// connect opens a plain connection to the test server, skipping the test
// (loudly) when there is none, or failing it under CI=true.
func connect(t testing.TB, schema string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(testDSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnectTimeout = 5 * time.Second
	if schema != "" {
		cfg.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		msg := fmt.Sprintf("!!! PostgreSQL at %s is unreachable: %v — the PostgreSQL store tests did NOT run", testDSN(), err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return conn
}

// newSchema creates a schema of its own for t and drops it when t ends.
func newSchema(t testing.TB) string {
	t.Helper()
	schema := "sluice_test_" + strings.ToLower(rand.Text()[:16])
	conn := connect(t, "")
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn := connect(t, "")
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return schema
}

func openSchema(ctx context.Context, schema string, opts store.Options) (store.Store, error) {
	opts.Schema = schema
	return Open(ctx, testDSN(), opts)
}

func backend() storetest.Backend {
	return storetest.Backend{
		NewDB: func(t *testing.T) string { return newSchema(t) },
		Open:  openSchema,
		Exec: func(t *testing.T, schema, query string) {
			t.Helper()
			conn := connect(t, schema)
			defer conn.Close(context.Background())
			if _, err := conn.Exec(context.Background(), query); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestStore(t *testing.T) { storetest.Run(t, backend()) }

// TestWatchSurvivesLostListener kills the LISTEN connection of a watching
// store: changes must keep arriving (by polling at first, then by LISTEN
// again once it reconnects).
func TestWatchSurvivesLostListener(t *testing.T) {
	schema := newSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kr := storetest.Keyring(t)
	writer, err := openSchema(ctx, schema, store.Options{Sealer: kr})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	reader, err := openSchema(ctx, schema, store.Options{Sealer: kr, PollInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	ch := reader.Watch(ctx)
	expect := func(want uint64) {
		t.Helper()
		deadline := time.After(2 * time.Second)
		for {
			select {
			case v := <-ch:
				if v == want {
					return
				}
			case <-deadline:
				t.Fatalf("version %d not delivered", want)
			}
		}
	}
	expect(0)

	admin := connect(t, "")
	defer admin.Close(context.Background())
	listenSQL := "LISTEN " + pgx.Identifier{channelName(schema)}.Sanitize()
	terminate := func() int {
		t.Helper()
		var n int
		// Only this test's own listener: its query text names this test's schema.
		err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE query = $1 AND pid <> pg_backend_pid()`, listenSQL).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitListening := func() {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			var n int
			if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query = $1`, listenSQL).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 1 {
				return
			}
		}
		t.Fatal("the watching store does not LISTEN")
	}
	waitListening()
	if n := terminate(); n != 1 {
		t.Fatalf("terminated %d listeners, want 1", n)
	}
	for want := uint64(1); want <= 2; want++ {
		if _, err := writer.Routes().Create(ctx, config.Route{Name: fmt.Sprint("r", want)}); err != nil {
			t.Fatal(err)
		}
		expect(want)
	}
	waitListening() // reconnected
}

func TestChannelName(t *testing.T) {
	cases := []struct {
		schema, want string
	}{
		{"", "sluice_config"},
		{"tenant_a", "sluice_config_tenant_a"},
		{strings.Repeat("x", 60), ""}, // hashed
	}
	for _, tc := range cases {
		t.Run(tc.schema, func(t *testing.T) {
			got := channelName(tc.schema)
			if len(got) > 63 {
				t.Fatalf("channel %q longer than a PostgreSQL identifier", got)
			}
			if tc.want != "" && got != tc.want {
				t.Fatalf("channel %q, want %q", got, tc.want)
			}
			if tc.want == "" && (got == channelName(strings.Repeat("y", 60)) || !strings.HasPrefix(got, "sluice_config_")) {
				t.Fatalf("hashed channel %q", got)
			}
		})
	}
}

func BenchmarkInsertRequestLogs(b *testing.B) {
	storetest.BenchInsertRequestLogs(b, func(b *testing.B) store.Store {
		s, err := openSchema(context.Background(), newSchema(b), store.Options{Sealer: storetest.Keyring(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}, 100, 1000)
}
