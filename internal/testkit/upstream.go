// Package testkit provides fault-injecting HTTP/1.1 upstreams on real
// loopback sockets, so the gateway's failure classification, retries and
// streaming can be tested end to end.
//
// An Upstream is a hand-written HTTP/1.1 server on a raw net.Conn (not
// net/http), so every fault happens at an exact point of the exchange: a reset
// before the response head, a clean close, bytes that are not HTTP, a head
// that never comes, a body cut short. Its Behavior can be changed while it
// runs, and it records every request as it arrived on the wire.
//
// Helpers cover the faults that need no server at all: RefusingAddr (connect
// refused), BlackholeAddr (connect times out) and RawRequest (send bytes
// verbatim, for path-trick and smuggling tests).
package testkit

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Upstream is a scripted HTTP/1.1 server listening on 127.0.0.1. It is safe
// for concurrent use. Start and StartTLS build one; it is closed by the
// test's cleanup, or earlier by Close.
type Upstream struct {
	// URL is the base URL, "http://127.0.0.1:PORT" (https for StartTLS).
	URL string
	// Addr is the listener's "127.0.0.1:PORT".
	Addr string

	ln         net.Listener
	tlsConfig  *tls.Config       // nil for plain TCP
	cert       *x509.Certificate // nil for plain TCP
	healthPath string

	cur     atomic.Pointer[current]
	healthy atomic.Bool
	hits    atomic.Int64
	conns   atomic.Int64
	probes  atomic.Int64

	mu     sync.Mutex
	reqs   []RecordedRequest
	active map[net.Conn]struct{}
	closed bool

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// current is the installed Behavior with its own request counter, so that
// a Sequence starts from its first step each time it is installed.
type current struct {
	b Behavior
	n atomic.Int64
}

// Option configures an Upstream at Start.
type Option func(*Upstream)

// WithHealth makes requests whose path equals path health probes: they are
// answered 200 "ok" or 503 "unhealthy" according to SetHealthy (healthy at
// start) whatever the Behavior, and they count in Probes, not in Hits or
// Requests.
func WithHealth(path string) Option {
	return func(u *Upstream) { u.healthPath = path }
}

// Start runs an Upstream with Behavior b on a fresh 127.0.0.1 port. It fails
// the test if it cannot listen, and closes the upstream in t.Cleanup.
func Start(t testing.TB, b Behavior, opts ...Option) *Upstream {
	t.Helper()
	return start(t, b, nil, nil, opts)
}

func start(t testing.TB, b Behavior, cfg *tls.Config, cert *x509.Certificate, opts []Option) *Upstream {
	t.Helper()
	if b == nil {
		t.Fatal("testkit: Start with a nil Behavior")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testkit: listen: %v", err)
	}
	scheme := "http"
	if cfg != nil {
		scheme = "https"
	}
	u := &Upstream{
		Addr:      ln.Addr().String(),
		ln:        ln,
		tlsConfig: cfg,
		cert:      cert,
		active:    make(map[net.Conn]struct{}),
		done:      make(chan struct{}),
	}
	u.URL = scheme + "://" + u.Addr
	for _, o := range opts {
		o(u)
	}
	u.healthy.Store(true)
	u.Set(b)
	u.wg.Add(1)
	go u.acceptLoop()
	t.Cleanup(u.Close)
	return u
}

// Set installs b for every request whose head is read from now on; requests
// already being answered keep their Behavior. Installing a Sequence starts
// it from its first step. Set panics if b is nil.
func (u *Upstream) Set(b Behavior) {
	if b == nil {
		panic("testkit: Set with a nil Behavior")
	}
	u.cur.Store(&current{b: b})
}

// SetHealthy sets the answer to health probes (see WithHealth): 200 when
// healthy, 503 when not. Without WithHealth it has no effect.
func (u *Upstream) SetHealthy(healthy bool) { u.healthy.Store(healthy) }

// Hits returns the number of requests whose head was read completely,
// health probes excluded.
func (u *Upstream) Hits() int64 { return u.hits.Load() }

// Conns returns the number of TCP connections accepted, including those
// whose TLS handshake failed.
func (u *Upstream) Conns() int64 { return u.conns.Load() }

// Probes returns the number of health probes answered (see WithHealth).
func (u *Upstream) Probes() int64 { return u.probes.Load() }

// LastRequest returns the most recently recorded request, or the zero
// RecordedRequest when there is none. A request counts in Hits as soon as its
// head is read and is recorded once its body has been read, before its
// Behavior acts; so by the time a client sees any answer or fault, the
// request is recorded.
func (u *Upstream) LastRequest() RecordedRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		return RecordedRequest{}
	}
	return u.reqs[len(u.reqs)-1].clone()
}

// Requests returns every request recorded so far, oldest first.
func (u *Upstream) Requests() []RecordedRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]RecordedRequest, len(u.reqs))
	for i, r := range u.reqs {
		out[i] = r.clone()
	}
	return out
}

// CertPool returns a pool trusting the upstream's self-signed certificate,
// or nil for a plain-TCP upstream.
func (u *Upstream) CertPool() *x509.CertPool {
	if u.cert == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AddCert(u.cert)
	return pool
}

// Certificate returns the upstream's self-signed certificate, or nil for a
// plain-TCP upstream.
func (u *Upstream) Certificate() *x509.Certificate { return u.cert }

// Client returns a new http.Client for this upstream that trusts its
// certificate (if any), does not follow redirects and uses its own
// connection pool.
func (u *Upstream) Client() *http.Client {
	tr := &http.Transport{ForceAttemptHTTP2: false}
	if pool := u.CertPool(); pool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Close stops the listener, closes every open connection (ending Hang and
// any stream in progress) and waits for the upstream's goroutines to finish.
// It is idempotent and must not be called from inside a Behavior.
func (u *Upstream) Close() {
	u.closeOnce.Do(func() {
		u.mu.Lock()
		u.closed = true
		close(u.done)
		_ = u.ln.Close()
		for c := range u.active {
			_ = c.Close()
		}
		u.mu.Unlock()
		u.wg.Wait()
	})
}

func (u *Upstream) acceptLoop() {
	defer u.wg.Done()
	for {
		c, err := u.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		id := u.conns.Add(1)
		if !u.track(c) {
			_ = c.Close()
			return
		}
		go u.serveConn(c, id)
	}
}

// track registers c and a goroutine for it unless the upstream is closed.
func (u *Upstream) track(c net.Conn) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false
	}
	u.active[c] = struct{}{}
	u.wg.Add(1)
	return true
}

func (u *Upstream) untrack(c net.Conn) {
	u.mu.Lock()
	delete(u.active, c)
	u.mu.Unlock()
	_ = c.Close()
}

func (u *Upstream) record(r RecordedRequest) {
	u.mu.Lock()
	u.reqs = append(u.reqs, r.clone())
	u.mu.Unlock()
}

// next returns the Behavior for the request just read, advancing an
// installed Sequence.
func (u *Upstream) next() Behavior {
	cur := u.cur.Load()
	if s, ok := cur.b.(*sequence); ok {
		return s.step(cur.n.Add(1) - 1)
	}
	return cur.b
}

func (u *Upstream) isProbe(r RecordedRequest) bool {
	return u.healthPath != "" && r.Path() == u.healthPath
}

// handshakeTimeout bounds a TLS handshake on an accepted connection.
const handshakeTimeout = 10 * time.Second

func (u *Upstream) serveConn(raw net.Conn, id int64) {
	defer u.wg.Done()
	defer u.untrack(raw)
	s := newSession(u, raw, id)
	if u.tlsConfig != nil {
		tc := tls.Server(raw, u.tlsConfig)
		_ = tc.SetDeadline(time.Now().Add(handshakeTimeout))
		if err := tc.Handshake(); err != nil {
			return
		}
		_ = tc.SetDeadline(time.Time{})
		s.useTLS(tc)
	}
	for s.serveOne() {
	}
}
