package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/store"
)

func (h *harness) testConfigVersion(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	kr := Keyring(t)
	if v := version(t, s); v != 0 {
		t.Fatalf("fresh database at config version %d", v)
	}
	// Each step: a write and whether it is a config write.
	steps := []struct {
		name   string
		write  func() error
		bumps  bool
		failed bool
	}{
		{"create route", func() error { _, err := s.Routes().Create(ctx, config.Route{Name: "r"}); return err }, true, false},
		{"failed create", func() error { _, err := s.Routes().Create(ctx, config.Route{Name: "r"}); return err }, false, true},
		{"update route", func() error {
			_, err := s.Routes().Update(ctx, config.Route{Name: "r", StripPath: true}, 1)
			return err
		}, true, false},
		{"stale update", func() error { _, err := s.Routes().Update(ctx, config.Route{Name: "r"}, 1); return err }, false, true},
		{"create upstream", func() error { _, err := s.Upstreams().Create(ctx, config.Upstream{Name: "u"}); return err }, true, false},
		{"create consumer", func() error { _, err := s.Consumers().Create(ctx, config.Consumer{Name: "c"}); return err }, true, false},
		{"create credential", func() error {
			_, err := s.Credentials().Create(ctx, store.Credential{Consumer: "c", Type: "key-auth", Lookup: kr.Digest("k")})
			return err
		}, true, false},
		{"create plugin", func() error { _, err := s.Plugins().Create(ctx, store.Plugin{Name: "cors"}); return err }, true, false},
		{"create provider", func() error { _, err := s.AIProviders().Create(ctx, config.Provider{Name: "p"}); return err }, true, false},
		{"create model", func() error { _, err := s.AIModels().Create(ctx, config.Model{Name: "m"}); return err }, true, false},
		{"delete route", func() error { return s.Routes().Delete(ctx, "r") }, true, false},
		{"delete missing", func() error { return s.Routes().Delete(ctx, "r") }, false, true},
		{"create user", func() error { _, err := s.Users().Create(ctx, store.User{Username: "admin"}); return err }, false, false},
		{"log requests", func() error { return s.InsertRequestLogs(ctx, []store.RequestLogEntry{{RequestID: "x"}}) }, false, false},
	}
	want := uint64(0)
	for _, st := range steps {
		err := st.write()
		if st.failed != (err != nil) {
			t.Fatalf("%s: err = %v", st.name, err)
		}
		if st.bumps {
			want++
		}
		if v := version(t, s); v != want {
			t.Fatalf("after %s: config version %d, want %d", st.name, v, want)
		}
	}
}

func (h *harness) testTxRollback(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	if _, err := s.Upstreams().Create(ctx, config.Upstream{Name: "keep"}); err != nil {
		t.Fatal(err)
	}
	base := version(t, s)
	boom := errors.New("boom")

	var leaked store.Tx
	err := s.Tx(ctx, func(tx store.Tx) error {
		leaked = tx
		if _, err := tx.Routes().Create(ctx, config.Route{Name: "a"}); err != nil {
			return err
		}
		if err := tx.Upstreams().Delete(ctx, "keep"); err != nil {
			return err
		}
		if _, err := tx.Routes().Get(ctx, "a"); err != nil {
			return fmt.Errorf("a transaction does not see its own write: %w", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v, want the function's error", err)
	}
	if v := version(t, s); v != base {
		t.Fatalf("rolled back Tx moved the config version from %d to %d", base, v)
	}
	if _, err := s.Routes().Get(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled back create is visible: %v", err)
	}
	if _, err := s.Upstreams().Get(ctx, "keep"); err != nil {
		t.Fatalf("rolled back delete took effect: %v", err)
	}
	if _, err := leaked.Routes().Create(ctx, config.Route{Name: "late"}); !errors.Is(err, store.ErrTxDone) {
		t.Fatalf("write through a finished Tx: err = %v, want ErrTxDone", err)
	}
	if _, err := leaked.Routes().Get(ctx, "keep"); !errors.Is(err, store.ErrTxDone) {
		t.Fatalf("read through a finished Tx: err = %v, want ErrTxDone", err)
	}

	t.Run("panic", func(t *testing.T) {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("Tx swallowed the panic")
				}
			}()
			_ = s.Tx(ctx, func(tx store.Tx) error {
				if _, err := tx.Routes().Create(ctx, config.Route{Name: "p"}); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		if _, err := s.Routes().Get(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("write of a panicking Tx is visible: %v", err)
		}
		if v := version(t, s); v != base {
			t.Fatalf("panicking Tx moved the config version to %d", v)
		}
	})

	t.Run("a failed write does not spoil the transaction", func(t *testing.T) {
		err := s.Tx(ctx, func(tx store.Tx) error {
			if _, err := tx.Upstreams().Create(ctx, config.Upstream{Name: "keep"}); !errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("duplicate create in Tx: %v", err)
			}
			if _, err := tx.Routes().Update(ctx, config.Route{Name: "missing"}, 1); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("update of missing in Tx: %v", err)
			}
			_, err := tx.Routes().Create(ctx, config.Route{Name: "b"})
			return err
		})
		wantErr(t, "Tx", err, nil)
		if _, err := s.Routes().Get(ctx, "b"); err != nil {
			t.Fatalf("write after a failed one was lost: %v", err)
		}
	})

	t.Run("commit bumps once", func(t *testing.T) {
		before := version(t, s)
		err := s.Tx(ctx, func(tx store.Tx) error {
			for i := range 3 {
				if _, err := tx.Routes().Create(ctx, config.Route{Name: fmt.Sprintf("c%d", i)}); err != nil {
					return err
				}
			}
			return nil
		})
		wantErr(t, "Tx", err, nil)
		if v := version(t, s); v != before+1 {
			t.Fatalf("three writes in one Tx: version %d, want %d", v, before+1)
		}
		_, total, _ := s.Routes().List(ctx, store.Page{})
		if total != 4 {
			t.Fatalf("%d routes after commit, want 4", total)
		}
	})

	t.Run("read-only commit does not bump", func(t *testing.T) {
		before := version(t, s)
		err := s.Tx(ctx, func(tx store.Tx) error {
			_, _, err := tx.Routes().List(ctx, store.Page{})
			return err
		})
		wantErr(t, "Tx", err, nil)
		if v := version(t, s); v != before {
			t.Fatalf("read-only Tx moved the version to %d", v)
		}
	})
}

func (h *harness) testConcurrentUpdates(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	if _, err := s.Routes().Create(ctx, config.Route{Name: "hot"}); err != nil {
		t.Fatal(err)
	}
	const writers = 6
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		won       int
		conflicts int
	)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Routes().Update(ctx, config.Route{Name: "hot", Upstream: fmt.Sprint(i)}, 1)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				t.Errorf("writer %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || conflicts != writers-1 {
		t.Fatalf("%d updates from version 1 won and %d conflicted; want exactly one winner", won, conflicts)
	}
	rec, err := s.Routes().Get(ctx, "hot")
	if err != nil || rec.Version != 2 {
		t.Fatalf("after the race: version %d, err %v", rec.Version, err)
	}
}

// receive waits up to d for a value from ch.
func receive(t *testing.T, ch <-chan uint64, d time.Duration) (uint64, bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(d):
		t.Fatalf("nothing from Watch within %v", d)
		return 0, false
	}
}

// receiveVersion reads from ch until it delivers want, failing after d.
func receiveVersion(t *testing.T, ch <-chan uint64, want uint64, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				t.Fatal("Watch channel closed")
			}
			if v == want {
				return
			}
			if v > want {
				t.Fatalf("Watch delivered %d, past %d", v, want)
			}
		case <-deadline:
			t.Fatalf("Watch did not deliver version %d within %v", want, d)
		}
	}
}

func (h *harness) testWatchSameStore(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	ch := s.Watch(ctx)
	if v, _ := receive(t, ch, 5*time.Second); v != 0 {
		t.Fatalf("first value %d, want the current version 0", v)
	}
	if _, err := s.Routes().Create(ctx, config.Route{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	receiveVersion(t, ch, 1, time.Second)

	// A burst coalesces: the reader ends up at the latest version.
	for i := range 5 {
		if _, err := s.Routes().Create(ctx, config.Route{Name: fmt.Sprint("burst", i)}); err != nil {
			t.Fatal(err)
		}
	}
	receiveVersion(t, ch, 6, time.Second)
}

func (h *harness) testWatchOtherStore(t *testing.T) {
	writer, db := h.open(t)
	reader := h.openDB(t, db, store.Options{})
	ctx := ctx(t)
	ch := reader.Watch(ctx)
	if v, _ := receive(t, ch, 5*time.Second); v != 0 {
		t.Fatalf("first value %d, want 0", v)
	}
	for want := uint64(1); want <= 3; want++ {
		if _, err := writer.Consumers().Create(ctx, config.Consumer{Name: fmt.Sprint("c", want)}); err != nil {
			t.Fatal(err)
		}
		receiveVersion(t, ch, want, time.Second)
	}
	// A change visible through the other store really is committed there.
	if _, err := reader.Consumers().Get(ctx, "c3"); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) testWatchEnds(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		s, _ := h.open(t)
		c, cancel := context.WithCancel(ctx(t))
		ch := s.Watch(c)
		receive(t, ch, 5*time.Second)
		cancel()
		for {
			if _, ok := receive(t, ch, 5*time.Second); !ok {
				return
			}
		}
	})
	t.Run("close", func(t *testing.T) {
		db := h.b.NewDB(t)
		s, err := h.b.Open(ctx(t), db, store.Options{Sealer: Keyring(t)})
		if err != nil {
			t.Fatal(err)
		}
		ch := s.Watch(ctx(t))
		receive(t, ch, 5*time.Second)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, ok := receive(t, ch, 5*time.Second); ok {
			t.Fatal("Watch channel still open after Close")
		}
	})
}

func (h *harness) testMigrationsIdempotent(t *testing.T) {
	db := h.b.NewDB(t)
	first := h.openDB(t, db, store.Options{})
	ctx := ctx(t)
	if _, err := first.Routes().Create(ctx, config.Route{Name: "survivor"}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		s := h.openDB(t, db, store.Options{})
		if _, err := s.Routes().Get(ctx, "survivor"); err != nil {
			t.Fatalf("reopen %d: data lost: %v", i, err)
		}
		if v := version(t, s); v != 1 {
			t.Fatalf("reopen %d: config version %d, want 1", i, v)
		}
	}
}

// testConcurrentOpen starts several nodes on one fresh database at once:
// the migrations must run exactly once, under the lock, and all must open.
func (h *harness) testConcurrentOpen(t *testing.T) {
	db := h.b.NewDB(t)
	const nodes = 4
	var wg sync.WaitGroup
	stores := make([]store.Store, nodes)
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = h.b.Open(ctx(t), db, store.Options{Sealer: Keyring(t)})
		}()
	}
	wg.Wait()
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	if _, err := stores[0].Routes().Create(ctx(t), config.Route{Name: "r"}); err != nil {
		t.Fatal(err)
	}
	for i := range nodes {
		if v := version(t, stores[i]); v != 1 {
			t.Fatalf("node %d sees config version %d, want 1", i, v)
		}
	}
}

func (h *harness) testNewerSchemaRefused(t *testing.T) {
	cases := []struct {
		name    string
		tamper  string
		want    error
		wantMsg string
	}{
		{"unknown newer migration",
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_from_the_future.sql', '2099-01-01T00:00:00Z')`,
			store.ErrSchemaTooNew, "9999"},
		{"applied migration under another name",
			`UPDATE schema_migrations SET name = '0001_something_else.sql' WHERE version = 1`,
			nil, "0001_something_else.sql"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := h.b.NewDB(t)
			h.openDB(t, db, store.Options{})
			h.b.Exec(t, db, tc.tamper)
			s, err := h.b.Open(ctx(t), db, store.Options{Sealer: Keyring(t)})
			if err == nil {
				s.Close()
				t.Fatal("opened a database with a schema this binary does not know")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantMsg)
			}
		})
	}
}
