package upstream

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"
)

// fakeClock is a manual clock for health and latency tests.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(1)
	return c
}

func (c *fakeClock) now() int64              { return c.ns.Load() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// testRegistry returns a registry on a fake clock whose logs go to the
// returned buffer; it is closed when the test ends.
func testRegistry(t testing.TB) (*Registry, *fakeClock, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	r := NewRegistry(slog.New(slog.NewTextHandler(logs, nil)))
	clk := newFakeClock()
	r.now = clk.now
	t.Cleanup(r.Close)
	return r, clk, logs
}

// commit applies and commits specs, failing the test on error.
func commit(t testing.TB, r *Registry, specs ...Spec) map[string]*Upstream {
	t.Helper()
	ups, err := r.Apply(specs)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	r.Commit(ups)
	return ups
}

// newUpstream builds one committed upstream named "api" with targets
// http://a.test, http://b.test, ... of the given weights.
func newUpstream(t testing.TB, balancer string, weights ...int) (*Upstream, *fakeClock) {
	t.Helper()
	r, clk, _ := testRegistry(t)
	s := Spec{Name: "api", Balancer: balancer, Targets: targetSpecs(weights...)}
	return commit(t, r, s)["api"], clk
}

// targetSpecs names targets a.test, b.test, ... with the given weights.
func targetSpecs(weights ...int) []TargetSpec {
	ts := make([]TargetSpec, len(weights))
	for i, w := range weights {
		ts[i] = TargetSpec{URL: "http://" + string(rune('a'+i)) + ".test", Weight: w}
	}
	return ts
}

// name returns a test target's one-letter name.
func name(t *Target) string { return strings.TrimSuffix(t.URL.Host, ".test") }

// mustPick picks and fails the test on error.
func mustPick(t testing.TB, u *Upstream, key uint64, hasKey bool, tried ...*Target) *Target {
	t.Helper()
	tg, err := u.Pick(key, hasKey, tried)
	if err != nil {
		t.Fatalf("Pick: %v", err)
	}
	return tg
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// byName finds a target of u by its one-letter name.
func byName(u *Upstream, n string) *Target {
	for _, t := range u.targets {
		if name(t) == n {
			return t
		}
	}
	return nil
}

// lockedBuffer is a goroutine-safe buffer for captured logs.
type lockedBuffer = testkit.SyncBuffer
