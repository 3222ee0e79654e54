package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/secret"
	"github.com/sluicegw/sluice/internal/store"
	_ "github.com/sluicegw/sluice/internal/store/postgres"
	"github.com/sluicegw/sluice/internal/testkit"
)

const pgAddr = "127.0.0.1:5432"

// pgSchema creates a schema of its own in the shared PostgreSQL (database
// test) and drops it after the test; it skips loudly without PostgreSQL,
// failing under CI=true.
func pgSchema(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@"+pgAddr+"/test?sslmode=disable")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is required under CI: %v", pgAddr, err)
		}
		t.Skipf("SKIPPED: PostgreSQL at %s is unreachable (%v); multi-node config untested", pgAddr, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "sluice_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, "postgres://postgres@"+pgAddr+"/test?sslmode=disable"); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	return schema
}

// TestThreeNodesOnPostgres: three `sluice serve` processes share config
// through PostgreSQL. A route written once serves on every node within a
// second; a consumer deleted once is refused on every node within a
// second; with PostgreSQL cut off, the nodes keep proxying on their last
// config, and catch up when it returns.
func TestThreeNodesOnPostgres(t *testing.T) {
	schema := pgSchema(t)
	master := make([]byte, 32)
	rand.Read(master)
	t.Setenv("SLUICE_MASTER_KEY", base64.StdEncoding.EncodeToString(master))
	keys, err := secret.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	up := testkit.Start(t, testkit.Echo)
	pgProxy := testkit.StartTCPProxy(t, pgAddr)
	dsn := func(addr string) string {
		return fmt.Sprintf("postgres://postgres@%s/test?sslmode=disable&search_path=%s", addr, schema)
	}
	// The writer: the test itself, as the admin API of one node would.
	ctx := context.Background()
	admin, err := store.Open(ctx, "postgres", dsn(pgAddr), store.Options{Sealer: keys, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	cfg := fmt.Sprintf(`server: { listen: "127.0.0.1:0", admin_listen: "127.0.0.1:0" }
log: { access: "off" }
storage: { driver: postgres, dsn: %q }
upstreams:
  - name: echo
    targets: [{ url: %q }]
`, dsn(pgProxy.Addr), up.URL)
	var nodes []string
	for i := 0; i < 3; i++ {
		dir := t.TempDir()
		path := filepath.Join(dir, "sluice.yaml")
		os.WriteFile(path, []byte(cfg), 0o600)
		_, addr, _ := startServe(t, dir, "--config", path, "--data", filepath.Join(dir, "data"))
		nodes = append(nodes, addr)
	}
	get := func(node, key string) int {
		req, _ := http.NewRequest("GET", "http://"+node+"/orders/1", nil)
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	// everyNodeWithin waits until every node answers want, and returns how
	// long the slowest took.
	everyNodeWithin := func(key string, want int) time.Duration {
		t.Helper()
		start := time.Now()
		for _, n := range nodes {
			defer func(n string) { t.Logf("node %s answered %d after %v", n, want, time.Since(start)) }(n)
			for get(n, key) != want {
				if time.Since(start) > 5*time.Second {
					t.Fatalf("node %s never answered %d", n, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		return time.Since(start)
	}
	// Wait until every node has its store open (it answers 404 before and after).
	time.Sleep(300 * time.Millisecond)

	rt, _ := config.DecodeEntity(config.KindRoute, []byte(`{"name": "orders", "match": {"paths": ["/orders"]}, "upstream": "echo", "plugins": {"key-auth": {}}}`))
	cons, _ := config.DecodeEntity(config.KindConsumer, []byte(`{"name": "dave"}`))
	if _, err := admin.Consumers().Create(ctx, cons.(config.Consumer)); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Credentials().Create(ctx, store.Credential{Consumer: "dave", Type: "key-auth", Lookup: keys.Digest("sk_dave")}); err != nil {
		t.Fatal(err)
	}
	erin, _ := config.DecodeEntity(config.KindConsumer, []byte(`{"name": "erin"}`))
	if _, err := admin.Consumers().Create(ctx, erin.(config.Consumer)); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Credentials().Create(ctx, store.Credential{Consumer: "erin", Type: "key-auth", Lookup: keys.Digest("sk_erin")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Routes().Create(ctx, rt.(config.Route)); err != nil {
		t.Fatal(err)
	}
	if d := everyNodeWithin("sk_dave", 200); d > time.Second {
		t.Errorf("a route created once took %v to serve on every node; want within a second", d)
	}

	everyNodeWithin("sk_erin", 200)
	if err := admin.Consumers().Delete(ctx, "erin"); err != nil {
		t.Fatal(err)
	}
	if d := everyNodeWithin("sk_erin", 401); d > time.Second {
		t.Errorf("a consumer deleted once took %v to be refused on every node; want within a second", d)
	}

	// PostgreSQL goes away: proxying goes on with the last config.
	pgProxy.Cut()
	for i := 0; i < 20; i++ {
		for _, n := range nodes {
			if code := get(n, "sk_dave"); code != 200 {
				t.Fatalf("with PostgreSQL cut off, node %s answered %d", n, code)
			}
		}
	}
	if err := pgProxy.Restore(); err != nil {
		t.Fatal(err)
	}

	// Revocation everywhere: the consumer (and its key) deleted once.
	if err := admin.Consumers().Delete(ctx, "dave"); err != nil {
		t.Fatal(err)
	}
	// The nodes reconnect (LISTEN or polling) and catch up.
	if d := everyNodeWithin("sk_dave", 401); d > 3*time.Second {
		t.Errorf("revocation took %v to reach every node after PostgreSQL returned", d)
	}
}
