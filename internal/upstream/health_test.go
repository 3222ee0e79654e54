package upstream

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// passiveUpstream is one target under passive health: 3 failures eject it
// for 10s of the fake clock.
func passiveUpstream(t *testing.T) (*Upstream, *Target, *fakeClock, *lockedBuffer) {
	t.Helper()
	r, clk, logs := testRegistry(t)
	u := commit(t, r, Spec{Name: "api", Targets: targetSpecs(1),
		Passive: &PassiveSpec{Unhealthy: 3, Cooldown: 10 * time.Second}})["api"]
	return u, u.targets[0], clk, logs
}

// request picks, reports and releases, returning Pick's error.
func request(u *Upstream, failed bool) error {
	tg, err := u.Pick(0, false, nil)
	if err != nil {
		return err
	}
	tg.Report(Result{Failed: failed, Latency: time.Millisecond})
	tg.Release()
	return nil
}

func wantState(t *testing.T, tg *Target, want string) {
	t.Helper()
	if got := tg.Status().State; got != want {
		t.Fatalf("state = %s, want %s", got, want)
	}
}

func TestPassiveEjectionAndRecovery(t *testing.T) {
	u, tg, clk, logs := passiveUpstream(t)

	// Two failures, a success, two failures: never three in a row.
	for _, failed := range []bool{true, true, false, true, true} {
		if err := request(u, failed); err != nil {
			t.Fatalf("request: %v", err)
		}
	}
	wantState(t, tg, StateHealthy)
	if n := tg.Status().ConsecutiveFailures; n != 2 {
		t.Errorf("consecutive failures = %d, want 2", n)
	}

	if err := request(u, true); err != nil {
		t.Fatal(err)
	}
	wantState(t, tg, StateEjected)
	if st := tg.Status(); !strings.Contains(st.LastError, "3 consecutive failed requests") {
		t.Errorf("last error = %q", st.LastError)
	}
	if _, err := u.Pick(0, false, nil); !errors.Is(err, ErrNoHealthy) {
		t.Fatalf("Pick while ejected: %v, want ErrNoHealthy", err)
	}
	clk.advance(10*time.Second - 1)
	if _, err := u.Pick(0, false, nil); !errors.Is(err, ErrNoHealthy) {
		t.Fatalf("Pick just before the cooldown ends: %v, want ErrNoHealthy", err)
	}

	clk.advance(1)
	wantState(t, tg, StateProbation)
	trial := mustPick(t, u, 0, false)
	if _, err := u.Pick(0, false, nil); !errors.Is(err, ErrNoHealthy) {
		t.Fatalf("second Pick during the trial: %v, want ErrNoHealthy", err)
	}
	trial.Report(Result{Latency: time.Millisecond})
	trial.Release()
	wantState(t, tg, StateHealthy)
	if st := tg.Status(); st.LastError != "" || st.ConsecutiveFailures != 0 {
		t.Errorf("after recovery: last error %q, failures %d", st.LastError, st.ConsecutiveFailures)
	}
	for range 5 {
		if err := request(u, false); err != nil {
			t.Fatalf("request after recovery: %v", err)
		}
	}
	out := logs.String()
	for _, want := range []string{
		"from=healthy to=ejected", "from=ejected to=probation", "from=probation to=healthy",
		"upstream=api", "target=http://a.test:80",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

func TestPassiveProbationFailureEjectsAgain(t *testing.T) {
	u, tg, clk, logs := passiveUpstream(t)
	for range 3 {
		_ = request(u, true)
	}
	clk.advance(10 * time.Second)
	if err := request(u, true); err != nil {
		t.Fatalf("trial request: %v", err)
	}
	wantState(t, tg, StateEjected)
	if !strings.Contains(logs.String(), "from=probation to=ejected") {
		t.Errorf("logs lack the re-ejection:\n%s", logs)
	}
	// A fresh cooldown from the trial's failure.
	clk.advance(10*time.Second - 1)
	if _, err := u.Pick(0, false, nil); !errors.Is(err, ErrNoHealthy) {
		t.Fatalf("Pick during the second cooldown: %v", err)
	}
	clk.advance(1)
	if err := request(u, false); err != nil {
		t.Fatalf("second trial: %v", err)
	}
	wantState(t, tg, StateHealthy)
}

func TestPassiveProbationUnreportedReleaseFreesTrial(t *testing.T) {
	u, tg, clk, _ := passiveUpstream(t)
	for range 3 {
		_ = request(u, true)
	}
	clk.advance(10 * time.Second)
	mustPick(t, u, 0, false).Release() // the client went away: no outcome
	wantState(t, tg, StateProbation)
	if err := request(u, false); err != nil {
		t.Fatalf("next trial: %v", err)
	}
	wantState(t, tg, StateHealthy)
}

func TestPassiveProbationLetsOneRequestThrough(t *testing.T) {
	u, _, clk, _ := passiveUpstream(t)
	for range 3 {
		_ = request(u, true)
	}
	clk.advance(10 * time.Second)
	const n = 32
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		picked  atomic.Int64
		refused atomic.Int64
	)
	for range n {
		wg.Go(func() {
			<-start
			if _, err := u.Pick(0, false, nil); err == nil {
				picked.Add(1)
			} else if errors.Is(err, ErrNoHealthy) {
				refused.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if picked.Load() != 1 || refused.Load() != n-1 {
		t.Errorf("picked %d, refused %d; want exactly 1 trial", picked.Load(), refused.Load())
	}
}

func TestPassiveEjectionMovesTrafficToOtherTargets(t *testing.T) {
	r, clk, _ := testRegistry(t)
	u := commit(t, r, Spec{Name: "api", Targets: targetSpecs(1, 1),
		Passive: &PassiveSpec{Unhealthy: 1, Cooldown: time.Second}})["api"]
	a := byName(u, "a")
	a.Report(Result{Failed: true})
	for range 10 {
		if tg := mustPick(t, u, 0, false); tg == a {
			t.Fatal("ejected target picked")
		} else {
			tg.Release()
		}
	}
	clk.advance(time.Second)
	seen := false
	for range 4 {
		tg := mustPick(t, u, 0, false)
		seen = seen || tg == a
		tg.Report(Result{})
		tg.Release()
	}
	if !seen {
		t.Error("target not tried after its cooldown")
	}
}

func TestPassiveOffNeverEjects(t *testing.T) {
	u, _ := newUpstream(t, RoundRobin, 1)
	for range 100 {
		if err := request(u, true); err != nil {
			t.Fatalf("request %v", err)
		}
	}
	if n := u.targets[0].Status().ConsecutiveFailures; n != 100 {
		t.Errorf("consecutive failures = %d, want 100", n)
	}
}

func TestRecordProbeThresholds(t *testing.T) {
	// Outcomes: s = success, f = failure. States after each: U up, D down.
	tests := []struct {
		name               string
		healthy, unhealthy int
		outcomes, states   string
	}{
		{"needs 3 failures", 2, 3, "fffss", "UUDDU"},
		{"a success resets the failure count", 2, 3, "ffsfff", "UUUUUD"},
		{"a failure resets the success count", 2, 1, "fsfss", "DDDDU"},
		{"thresholds of one", 1, 1, "fsfs", "DUDU"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := newUpstream(t, RoundRobin, 1)
			tg := u.targets[0]
			spec := &ActiveSpec{Healthy: tc.healthy, Unhealthy: tc.unhealthy}
			for i, o := range tc.outcomes {
				var err error
				if o == 'f' {
					err = errors.New("unexpected status 503")
				}
				tg.recordProbe(err, spec)
				want := tc.states[i] == 'U'
				if got := tg.activeUp.Load(); got != want {
					t.Fatalf("after outcome %d (%c): up = %v, want %v", i, o, got, want)
				}
			}
		})
	}
}

// healthServer is an httptest server whose health endpoint answers the
// current status, recording what the probes sent.
type healthServer struct {
	*httptest.Server
	status atomic.Int64
	probes atomic.Int64
	mu     sync.Mutex
	last   *http.Request
}

func newHealthServer(t *testing.T) *healthServer {
	h := &healthServer{}
	h.status.Store(http.StatusOK)
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.last = r
		h.mu.Unlock()
		h.probes.Add(1)
		w.WriteHeader(int(h.status.Load()))
	}))
	t.Cleanup(h.Close)
	return h
}

func fastActive() *ActiveSpec {
	return &ActiveSpec{Path: "/healthz?deep=1", Interval: 10 * time.Millisecond, Timeout: time.Second, Healthy: 2, Unhealthy: 2}
}

func TestActiveProbeTransitions(t *testing.T) {
	srv := newHealthServer(t)
	r, _, logs := testRegistry(t)
	u := commit(t, r, Spec{Name: "api", Targets: []TargetSpec{{URL: srv.URL, Weight: 1}}, Active: fastActive()})["api"]
	tg := u.targets[0]

	waitFor(t, "a first probe", func() bool { return !tg.Status().LastCheck.IsZero() })
	wantState(t, tg, StateHealthy)
	srv.mu.Lock()
	req := srv.last
	srv.mu.Unlock()
	if req.URL.RequestURI() != "/healthz?deep=1" || req.Header.Get("User-Agent") != "sluice-health/1" || req.Host != tg.Host {
		t.Errorf("probe was %s %s Host=%s UA=%q", req.Method, req.URL.RequestURI(), req.Host, req.Header.Get("User-Agent"))
	}

	srv.status.Store(http.StatusServiceUnavailable)
	waitFor(t, "unhealthy", func() bool { return tg.Status().State == StateUnhealthy })
	if st := tg.Status(); st.LastError != "unexpected status 503" || st.ProbeFailures < 2 {
		t.Errorf("status = %+v", st)
	}
	if _, err := u.Pick(0, false, nil); !errors.Is(err, ErrNoHealthy) {
		t.Errorf("Pick while unhealthy: %v", err)
	}

	srv.status.Store(http.StatusNoContent)
	waitFor(t, "healthy again", func() bool { return tg.Status().State == StateHealthy })
	if st := tg.Status(); st.LastError != "" {
		t.Errorf("last error after recovery = %q", st.LastError)
	}
	mustPick(t, u, 0, false).Release()
	out := logs.String()
	for _, want := range []string{"from=healthy to=unhealthy", "from=unhealthy to=healthy"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

func TestActiveProbeFailures(t *testing.T) {
	refused := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return "http://" + addr
	}
	hanging := func(t *testing.T) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	teapot := func(t *testing.T) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	redirect := func(t *testing.T) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tests := []struct {
		name     string
		url      func(t *testing.T) string
		statuses []int
		wantErr  string // "" = stays healthy
	}{
		{"connection refused", refused, nil, "refused"},
		{"no response in time", hanging, nil, "no response within 50ms"},
		{"status outside 200-399", teapot, nil, "unexpected status 418"},
		{"status outside the list", redirect, []int{200}, "unexpected status 302"},
		{"redirect counts as success", redirect, nil, ""},
		{"listed status counts as success", teapot, []int{418}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _, _ := testRegistry(t)
			a := fastActive()
			a.Timeout, a.Statuses = 50*time.Millisecond, tc.statuses
			tg := commit(t, r, Spec{Name: "api", Targets: []TargetSpec{{URL: tc.url(t), Weight: 1}}, Active: a})["api"].targets[0]
			if tc.wantErr == "" {
				waitFor(t, "three probes", func() bool {
					tg.mu.Lock()
					defer tg.mu.Unlock()
					return tg.probeOK >= 3
				})
				wantState(t, tg, StateHealthy)
				return
			}
			waitFor(t, "unhealthy", func() bool { return tg.Status().State == StateUnhealthy })
			if st := tg.Status(); !strings.Contains(st.LastError, tc.wantErr) {
				t.Errorf("last error = %q, want it to contain %q", st.LastError, tc.wantErr)
			}
		})
	}
}

func TestActiveProbeHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name      string
		trusted   bool
		wantState string
	}{
		{"trusted certificate", true, StateHealthy},
		{"unknown authority", false, StateUnhealthy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _, _ := testRegistry(t)
			a := fastActive()
			if tc.trusted {
				a.TLS = srv.Client().Transport.(*http.Transport).TLSClientConfig
			}
			tg := commit(t, r, Spec{Name: "api", Targets: []TargetSpec{{URL: srv.URL, Weight: 1}}, Active: a})["api"].targets[0]
			waitFor(t, "three probes", func() bool {
				tg.mu.Lock()
				defer tg.mu.Unlock()
				return tg.probeOK+tg.probeFails >= 3
			})
			wantState(t, tg, tc.wantState)
		})
	}
}
