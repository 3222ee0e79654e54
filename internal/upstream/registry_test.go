package upstream

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestApplyReusesTargetsAcrossReloads(t *testing.T) {
	r, _, _ := testRegistry(t)
	passive := &PassiveSpec{Unhealthy: 1, Cooldown: time.Minute}
	old := commit(t, r,
		Spec{Name: "api", Targets: targetSpecs(1, 1), Passive: passive, MaxIdle: 4},
		Spec{Name: "web", Targets: targetSpecs(1)},
	)
	a, b := byName(old["api"], "a"), byName(old["api"], "b")
	a.Report(Result{Failed: true}) // ejected: the state must survive

	next, err := r.Apply([]Spec{
		{Name: "api", Targets: []TargetSpec{
			{URL: "HTTP://A.test:80/", Weight: 7}, // same target, spelled differently
			{URL: "http://c.test", Weight: 1},
		}, Passive: passive, MaxIdle: 9},
		{Name: "web", Targets: targetSpecs(1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	api := next["api"]
	if byName(api, "a") != a {
		t.Error("target a was rebuilt instead of reused")
	}
	if c := byName(api, "c"); c == nil || c == b {
		t.Error("target c missing or confused with b")
	}
	if next["web"].targets[0] == old["api"].targets[0] {
		t.Error("same URL in another upstream shares a Target")
	}
	if next["web"].targets[0] != old["web"].targets[0] {
		t.Error("web's target was not reused")
	}
	// Nothing changed before Commit.
	if st := a.Status(); st.Weight != 1 || st.State != StateEjected {
		t.Errorf("before Commit: a = %+v, want weight 1, ejected", st)
	}
	if a.Pool.maxIdle != 4 || isClosed(b.Pool) {
		t.Error("Apply reconfigured or closed a pool that the current snapshot uses")
	}

	r.Commit(next)
	if st := a.Status(); st.Weight != 7 || st.State != StateEjected {
		t.Errorf("after Commit: a = %+v, want weight 7, still ejected", st)
	}
	if a.Pool.maxIdle != 9 {
		t.Errorf("pool max idle = %d after Commit, want 9", a.Pool.maxIdle)
	}
	if !isClosed(b.Pool) {
		t.Error("removed target's pool not closed by Commit")
	}
}

func isClosed(p *Pool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func TestCommitRemovingPassiveHealsEjectedTarget(t *testing.T) {
	r, _, logs := testRegistry(t)
	u := commit(t, r, Spec{Name: "api", Targets: targetSpecs(1), Passive: &PassiveSpec{Unhealthy: 1, Cooldown: time.Hour}})["api"]
	tg := u.targets[0]
	tg.Report(Result{Failed: true})
	wantState(t, tg, StateEjected)
	commit(t, r, Spec{Name: "api", Targets: targetSpecs(1)})
	wantState(t, tg, StateHealthy)
	if !strings.Contains(logs.String(), "passive health checks removed") {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestCommitManagesProbers(t *testing.T) {
	srvA, srvB := newHealthServer(t), newHealthServer(t)
	base := runtime.NumGoroutine()
	r, _, _ := testRegistry(t)
	spec := func(urls ...string) Spec {
		s := Spec{Name: "api", Active: fastActive()}
		for _, u := range urls {
			s.Targets = append(s.Targets, TargetSpec{URL: u, Weight: 1})
		}
		return s
	}

	ups := commit(t, r, spec(srvA.URL, srvB.URL))
	a, b := ups["api"].targets[0], ups["api"].targets[1]
	if n := r.probing.Load(); n != 2 {
		t.Fatalf("probers running = %d, want 2", n)
	}
	waitFor(t, "probes of b", func() bool { return srvB.probes.Load() > 0 })
	proberA := a.prober

	commit(t, r, spec(srvA.URL))
	if n := r.probing.Load(); n != 1 {
		t.Errorf("probers after removing b = %d, want 1", n)
	}
	if a.prober != proberA {
		t.Error("unchanged spec restarted a's prober")
	}
	before := srvB.probes.Load()
	time.Sleep(50 * time.Millisecond)
	if after := srvB.probes.Load(); after != before {
		t.Errorf("removed target still probed: %d probes after Commit", after-before)
	}

	changed := spec(srvA.URL)
	changed.Active.Interval = 20 * time.Millisecond
	commit(t, r, changed)
	if a.prober == proberA || r.probing.Load() != 1 {
		t.Errorf("changed spec: prober restarted = %v, running = %d", a.prober != proberA, r.probing.Load())
	}

	// An unhealthy target becomes healthy when active checks go away.
	srvA.status.Store(http.StatusInternalServerError)
	waitFor(t, "a unhealthy", func() bool { return a.Status().State == StateUnhealthy })
	commit(t, r, Spec{Name: "api", Targets: []TargetSpec{{URL: srvA.URL, Weight: 1}}})
	if n := r.probing.Load(); n != 0 {
		t.Errorf("probers after removing active checks = %d, want 0", n)
	}
	wantState(t, a, StateHealthy)

	// A target added back is a new Target: the retired one stays retired.
	again := commit(t, r, spec(srvA.URL, srvB.URL))["api"]
	if again.targets[1] == b || r.probing.Load() != 2 {
		t.Errorf("re-added target reused = %v, probers = %d", again.targets[1] == b, r.probing.Load())
	}
	r.Close()
	if n := r.probing.Load(); n != 0 {
		t.Errorf("probers after Close = %d, want 0", n)
	}
	waitFor(t, "goroutines to wind down", func() bool { return runtime.NumGoroutine() <= base+2 })
}

func TestApplyValidation(t *testing.T) {
	ok := targetSpecs(1)
	tests := []struct {
		name  string
		specs []Spec
		want  string
	}{
		{"unknown balancer", []Spec{{Name: "orders", Balancer: "random", Targets: ok}}, `upstream "orders": unknown balancer "random"`},
		{"bad scheme", []Spec{{Name: "orders", Targets: []TargetSpec{{URL: "ftp://x", Weight: 1}}}}, `upstream "orders": target "ftp://x": scheme must be http or https`},
		{"unparsable URL", []Spec{{Name: "orders", Targets: []TargetSpec{{URL: "http://[::1", Weight: 1}}}}, `upstream "orders": target "http://[::1": not a valid URL`},
		{"path", []Spec{{Name: "orders", Targets: []TargetSpec{{URL: "http://x/api", Weight: 1}}}}, "has no path"},
		{"query", []Spec{{Name: "orders", Targets: []TargetSpec{{URL: "http://x?a=1", Weight: 1}}}}, "no query"},
		{"credentials", []Spec{{Name: "orders", Targets: []TargetSpec{{URL: "http://u:p@x", Weight: 1}}}}, "credentials"},
		{"no host", []Spec{{Name: "orders", Targets: []TargetSpec{{URL: "http://:80", Weight: 1}}}}, "no host"},
		{"bad port", []Spec{{Name: "orders", Targets: []TargetSpec{{URL: "http://x:70000", Weight: 1}}}}, "not 1..65535"},
		{"negative weight", []Spec{{Name: "orders", Targets: []TargetSpec{{URL: "http://x", Weight: -1}}}}, "weight -1"},
		{"duplicate target", []Spec{{Name: "orders", Targets: []TargetSpec{{URL: "http://x", Weight: 1}, {URL: "http://X:80", Weight: 1}}}}, "listed more than once"},
		{"duplicate upstream", []Spec{{Name: "orders", Targets: ok}, {Name: "orders", Targets: ok}}, `upstream "orders": defined more than once`},
		{"empty name", []Spec{{Targets: ok}}, "empty name"},
		{"negative max connections", []Spec{{Name: "orders", MaxConnections: -1, Targets: ok}}, "max connections"},
		{"active without interval", []Spec{{Name: "orders", Targets: ok, Active: &ActiveSpec{Path: "/", Timeout: time.Second, Healthy: 1, Unhealthy: 1}}}, "interval"},
		{"active relative path", []Spec{{Name: "orders", Targets: ok, Active: &ActiveSpec{Path: "health", Interval: time.Second, Timeout: time.Second, Healthy: 1, Unhealthy: 1}}}, "does not start with /"},
		{"active bad status", []Spec{{Name: "orders", Targets: ok, Active: &ActiveSpec{Path: "/", Interval: time.Second, Timeout: time.Second, Healthy: 1, Unhealthy: 1, Statuses: []int{99}}}}, "status 99"},
		{"passive without cooldown", []Spec{{Name: "orders", Targets: ok, Passive: &PassiveSpec{Unhealthy: 1}}}, "passive"},
		{"every bad upstream reported", []Spec{{Name: "one", Balancer: "x"}, {Name: "two", Balancer: "y"}}, `upstream "two"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _, _ := testRegistry(t)
			ups, err := r.Apply(tc.specs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply = %v, want an error containing %q", err, tc.want)
			}
			if ups != nil {
				t.Error("Apply returned upstreams with an error")
			}
		})
	}
}

func TestParseTargetURL(t *testing.T) {
	tests := []struct {
		raw                  string
		url, addr, host, key string
		tls                  bool
	}{
		{"http://a.test", "http://a.test", "a.test:80", "a.test", "http://a.test:80", false},
		{"HTTP://A.Test:80/", "http://a.test", "a.test:80", "a.test", "http://a.test:80", false},
		{"https://a.test", "https://a.test", "a.test:443", "a.test", "https://a.test:443", true},
		{"https://a.test:8443", "https://a.test:8443", "a.test:8443", "a.test:8443", "https://a.test:8443", true},
		{"http://a.test:443", "http://a.test:443", "a.test:443", "a.test:443", "http://a.test:443", false},
		{"http://127.0.0.1:09001", "http://127.0.0.1:9001", "127.0.0.1:9001", "127.0.0.1:9001", "http://127.0.0.1:9001", false},
		{"http://[::1]", "http://[::1]", "[::1]:80", "[::1]", "http://[::1]:80", false},
		{"http://[::1]:9000", "http://[::1]:9000", "[::1]:9000", "[::1]:9000", "http://[::1]:9000", false},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			p, err := parseTargetURL(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if p.url.String() != tc.url || p.addr != tc.addr || p.host != tc.host || p.key != tc.key || p.tls != tc.tls {
				t.Errorf("got url=%s addr=%s host=%s key=%s tls=%v", p.url, p.addr, p.host, p.key, p.tls)
			}
		})
	}
}

func TestRegistryAfterClose(t *testing.T) {
	r, _, _ := testRegistry(t)
	r.Close()
	if _, err := r.Apply([]Spec{{Name: "api"}}); err == nil {
		t.Error("Apply after Close succeeded")
	}
	r.Close() // idempotent
}
