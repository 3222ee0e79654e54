package upstream

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry owns the Targets of every upstream across config snapshots. For
// each snapshot the caller builds Upstreams with Apply, swaps the snapshot
// in, then calls Commit with them; Commit starts, reconfigures and stops
// active probers and retires the targets that the new snapshot dropped. A
// Registry is safe for concurrent use; Apply and Commit serialise.
type Registry struct {
	log *slog.Logger
	now func() int64 // the clock of health and latency; tests replace it

	mu      sync.Mutex
	targets map[string]*Target // committed: upstream name + "\x00" + target key
	closed  bool

	probing atomic.Int64 // live prober goroutines
}

// NewRegistry returns an empty registry that logs target state changes to
// log (discarded when nil).
func NewRegistry(log *slog.Logger) *Registry {
	if log == nil {
		log = discardLogger
	}
	return &Registry{log: log, now: monotonic, targets: map[string]*Target{}}
}

// Apply validates specs and builds their Upstreams, keyed by name, for a new
// snapshot. A target whose upstream name and normalised URL match one of the
// last committed snapshot is the same *Target, so its pool, health and
// counters carry over; its weight, limits and health settings take effect
// at Commit. Apply changes nothing that the current snapshot uses, and on
// error returns no Upstreams and an error naming each bad upstream.
func (r *Registry) Apply(specs []Spec) (map[string]*Upstream, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("upstream registry is closed")
	}
	var errs []error
	ups := make(map[string]*Upstream, len(specs))
	for i := range specs {
		s := &specs[i]
		if _, dup := ups[s.Name]; dup {
			errs = append(errs, fmt.Errorf("upstream %q: defined more than once", s.Name))
			continue
		}
		u, err := r.build(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ups[s.Name] = u
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ups, nil
}

// build validates one spec and builds its Upstream.
func (r *Registry) build(s *Spec) (*Upstream, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("upstream %q: %s", s.Name, fmt.Sprintf(format, args...))
	}
	if s.Name == "" {
		return nil, errors.New("upstream with an empty name")
	}
	u := &Upstream{
		Name:        s.Name,
		maxConns:    int64(s.MaxConnections),
		now:         r.now,
		maxIdle:     s.MaxIdle,
		idleTimeout: s.IdleTimeout,
	}
	switch s.Balancer {
	case RoundRobin, "":
		u.kind = balRoundRobin
	case LeastConn:
		u.kind = balLeastConn
	case Hash:
		u.kind = balHash
	case Latency:
		u.kind = balLatency
	default:
		return nil, fail("unknown balancer %q (want round_robin, least_conn, hash or latency)", s.Balancer)
	}
	switch {
	case s.MaxConnections < 0:
		return nil, fail("max connections %d is negative", s.MaxConnections)
	case s.MaxIdle < 0:
		return nil, fail("max idle %d is negative", s.MaxIdle)
	case s.IdleTimeout < 0:
		return nil, fail("idle timeout %v is negative", s.IdleTimeout)
	}
	if a := s.Active; a != nil {
		if err := validActive(a); err != nil {
			return nil, fail("active health check: %v", err)
		}
		c := *a
		c.Statuses = append([]int(nil), a.Statuses...)
		u.active = &c
	}
	if p := s.Passive; p != nil {
		if p.Unhealthy < 1 || p.Cooldown <= 0 {
			return nil, fail("passive health check: unhealthy must be >= 1 and cooldown > 0")
		}
		c := *p
		u.passive = &c
	}
	keys := make([]string, 0, len(s.Targets))
	seen := make(map[string]bool, len(s.Targets))
	for _, ts := range s.Targets {
		if ts.Weight < 0 || ts.Weight > MaxWeight {
			return nil, fail("target %q: weight %d is outside 0..%d", ts.URL, ts.Weight, MaxWeight)
		}
		p, err := parseTargetURL(ts.URL)
		if err != nil {
			return nil, fail("target %q: %v", ts.URL, err)
		}
		if seen[p.key] {
			return nil, fail("target %q: listed more than once", ts.URL)
		}
		seen[p.key] = true
		t := r.targets[s.Name+"\x00"+p.key]
		if t == nil {
			t = r.newTarget(s.Name, p, u, ts.Weight)
		}
		u.targets = append(u.targets, t)
		u.weights = append(u.weights, int64(ts.Weight))
		keys = append(keys, p.key)
	}
	u.wrr.current = make([]int64, len(u.targets))
	if u.kind == balHash {
		u.ring = buildRing(keys, u.weights)
	}
	if u.kind == balLatency {
		u.cumWeights = make([]uint64, len(u.weights))
		for i, w := range u.weights {
			u.totalWeight += uint64(w)
			u.cumWeights[i] = u.totalWeight
		}
	}
	return u, nil
}

// validActive checks an active health check spec.
func validActive(a *ActiveSpec) error {
	switch {
	case !strings.HasPrefix(a.Path, "/"):
		return fmt.Errorf("path %q does not start with /", a.Path)
	case a.Interval <= 0 || a.Timeout <= 0:
		return errors.New("interval and timeout must be > 0")
	case a.Healthy < 1 || a.Unhealthy < 1:
		return errors.New("healthy and unhealthy must be >= 1")
	}
	if _, err := url.ParseRequestURI(a.Path); err != nil {
		return fmt.Errorf("path %q: %v", a.Path, err)
	}
	for _, c := range a.Statuses {
		if c < 100 || c > 599 {
			return fmt.Errorf("status %d is not an HTTP status", c)
		}
	}
	return nil
}

// newTarget builds a target that no committed snapshot uses yet, configured
// from u.
func (r *Registry) newTarget(upstream string, p parsedTarget, u *Upstream, weight int) *Target {
	t := &Target{
		URL:      p.url,
		Addr:     p.addr,
		Host:     p.host,
		TLS:      p.tls,
		Pool:     NewPool(u.maxIdle, u.idleTimeout),
		Name:     p.url.String(),
		upstream: upstream,
		key:      p.key,
		log:      r.log,
		now:      r.now,
	}
	t.activeUp.Store(true)
	t.weight.Store(int64(weight))
	t.setPassive(u.passive)
	return t
}

// Commit makes ups, the Upstreams of the snapshot that was just swapped in,
// the committed set: reused targets take their new weight, pool limits and
// health settings; active probers are started, restarted or stopped to
// match; targets of the previous committed set that ups no longer uses have
// their prober stopped and their pool closed. ups must come from this
// registry's latest Apply. Commit waits for stopped probers to exit.
func (r *Registry) Commit(ups map[string]*Upstream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	next := make(map[string]*Target)
	for _, u := range ups {
		for _, t := range u.targets {
			next[u.Name+"\x00"+t.key] = t
		}
	}
	for k, t := range r.targets {
		if next[k] != t {
			t.retire()
		}
	}
	for _, u := range ups {
		for i, t := range u.targets {
			t.weight.Store(u.weights[i])
			t.setPassive(u.passive)
			t.Pool.Configure(u.maxIdle, u.idleTimeout)
			t.setActive(u.active, &r.probing)
		}
	}
	r.targets = next
}

// Close stops every prober and closes every committed target's pool. The
// registry cannot be used afterwards; Targets already handed out keep
// working without health checks.
func (r *Registry) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	for _, t := range r.targets {
		t.retire()
	}
	r.targets = nil
}

// retire stops t's prober and closes its pool. In-flight requests finish
// normally; their connections are closed instead of pooled.
func (t *Target) retire() {
	t.mu.Lock()
	p := t.prober
	t.prober, t.retired = nil, true
	t.mu.Unlock()
	if p != nil {
		p.stop()
	}
	t.Pool.Close()
}

// setPassive applies passive health settings (nil: off). Turning passive
// health off makes an ejected target healthy at once.
func (t *Target) setPassive(p *PassiveSpec) {
	if p == nil {
		t.passiveLimit.Store(0)
		if t.passive.Swap(0) != 0 {
			t.clearPassiveError()
			t.transition(StateEjected, StateHealthy, "passive health checks removed")
		}
		return
	}
	t.cooldown.Store(int64(p.Cooldown))
	t.passiveLimit.Store(int64(p.Unhealthy))
}

// parsedTarget is a validated, normalised target URL.
type parsedTarget struct {
	url  *url.URL
	addr string // host:port to dial
	host string // Host header value
	key  string // scheme://addr
	tls  bool
}

// parseTargetURL validates and normalises a target URL.
func parseTargetURL(raw string) (parsedTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return parsedTarget{}, errors.New("not a valid URL")
	}
	scheme := strings.ToLower(u.Scheme)
	var defPort string
	switch scheme {
	case "http":
		defPort = "80"
	case "https":
		defPort = "443"
	default:
		return parsedTarget{}, errors.New("scheme must be http or https")
	}
	switch {
	case u.Opaque != "" || u.Host == "":
		return parsedTarget{}, errors.New("no host")
	case u.User != nil:
		return parsedTarget{}, errors.New("credentials are not allowed in a target URL")
	case u.Path != "" && u.Path != "/":
		return parsedTarget{}, errors.New("a target URL has no path")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return parsedTarget{}, errors.New("a target URL has no query or fragment")
	}
	hostname := strings.ToLower(u.Hostname())
	if hostname == "" {
		return parsedTarget{}, errors.New("no host")
	}
	port := u.Port()
	if port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return parsedTarget{}, errors.New("empty port")
		}
		port = defPort
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return parsedTarget{}, fmt.Errorf("port %q is not 1..65535", port)
	} else {
		port = strconv.Itoa(n) // drop leading zeros
	}
	addr := net.JoinHostPort(hostname, port)
	host := addr
	if port == defPort {
		host = hostname
		if strings.Contains(hostname, ":") {
			host = "[" + hostname + "]"
		}
	}
	return parsedTarget{
		url:  &url.URL{Scheme: scheme, Host: host},
		addr: addr,
		host: host,
		key:  scheme + "://" + addr,
		tls:  scheme == "https",
	}, nil
}
