package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// probeUserAgent is the User-Agent of active health probes.
const probeUserAgent = "sluice-health/1"

// probeBodyLimit is how much of a probe response body is read (so the
// connection can be reused); the rest is discarded with the connection.
const probeBodyLimit = 64 << 10

// prober runs the active health checks of one target in its own goroutine.
type prober struct {
	spec   ActiveSpec
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine has exited
}

// startProber starts probing t with spec. running counts live prober
// goroutines.
func startProber(t *Target, spec ActiveSpec, running *atomic.Int64) *prober {
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{spec: spec, cancel: cancel, done: make(chan struct{})}
	running.Add(1)
	go func() {
		defer close(p.done)
		defer running.Add(-1)
		p.run(ctx, t)
	}()
	return p
}

// stop cancels the prober, including a probe in progress, and waits for its
// goroutine to exit.
func (p *prober) stop() {
	p.cancel()
	<-p.done
}

// run probes at once, then every Interval, until ctx is cancelled.
func (p *prober) run(ctx context.Context, t *Target) {
	dialer := &net.Dialer{Timeout: p.spec.Timeout}
	tr := &http.Transport{
		// Always the target's own address: no proxy from the environment.
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, t.Addr)
		},
		TLSClientConfig:     probeTLS(p.spec.TLS),
		TLSHandshakeTimeout: p.spec.Timeout,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     2 * p.spec.Interval,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	target := t.URL.Scheme + "://" + t.URL.Host + p.spec.Path
	tick := time.NewTicker(p.spec.Interval)
	defer tick.Stop()
	for {
		err := p.probe(ctx, client, target, t.Host)
		if ctx.Err() != nil {
			return // stopped: the probe's outcome says nothing about the target
		}
		t.recordProbe(err, &p.spec)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// probeTLS returns the probes' TLS configuration: a copy of c restricted to
// HTTP/1.1, which is what the probe transport speaks.
func probeTLS(c *tls.Config) *tls.Config {
	if c == nil {
		c = &tls.Config{}
	}
	c = c.Clone()
	c.NextProtos = []string{"http/1.1"}
	return c
}

// probe sends one GET and returns nil when the answer's status is accepted.
func (p *prober) probe(ctx context.Context, client *http.Client, target, host string) error {
	ctx, cancel := context.WithTimeout(ctx, p.spec.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Host = host
	req.Header.Set("User-Agent", probeUserAgent)
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no response within %v", p.spec.Timeout)
		}
		if ue, ok := errors.AsType[*url.Error](err); ok {
			return ue.Err // the URL is the target's own; leave it out
		}
		return err
	}
	_, _ = io.CopyN(io.Discard, resp.Body, probeBodyLimit)
	resp.Body.Close()
	if !statusAccepted(p.spec.Statuses, resp.StatusCode) {
		return errors.New("unexpected status " + strconv.Itoa(resp.StatusCode))
	}
	return nil
}

// statusAccepted reports whether a probe status counts as success.
func statusAccepted(statuses []int, code int) bool {
	if len(statuses) == 0 {
		return code >= 200 && code <= 399
	}
	return slices.Contains(statuses, code)
}

// recordProbe applies one probe outcome to t: spec.Unhealthy consecutive
// failures make a healthy target unhealthy, spec.Healthy consecutive
// successes make an unhealthy one healthy.
func (t *Target) recordProbe(err error, spec *ActiveSpec) {
	t.mu.Lock()
	t.lastCheck = time.Now()
	up := t.activeUp.Load()
	change := false
	var reason string
	if err == nil {
		t.probeOK++
		t.probeFails = 0
		if t.errFromProbe {
			t.lastError, t.errFromProbe = "", false
		}
		if !up && t.probeOK >= spec.Healthy {
			change, reason = true, strconv.Itoa(t.probeOK)+" consecutive successful probes"
		}
	} else {
		t.probeFails++
		t.probeOK = 0
		t.lastError, t.errFromProbe = err.Error(), true
		if up && t.probeFails >= spec.Unhealthy {
			change, reason = true, strconv.Itoa(t.probeFails)+" consecutive failed probes: "+err.Error()
		}
	}
	if change {
		t.activeUp.Store(!up)
	}
	t.mu.Unlock()
	if change {
		if up {
			t.transition(StateHealthy, StateUnhealthy, reason)
		} else {
			t.transition(StateUnhealthy, StateHealthy, reason)
		}
	}
}

// setActive makes t's active checks match spec (nil: none), restarting the
// prober when the spec changed. The probe counters restart with it; the
// health state carries over, except that removing active checks makes an
// unhealthy target healthy. It is called with the Registry's lock held, so
// never concurrently for one target.
func (t *Target) setActive(spec *ActiveSpec, running *atomic.Int64) {
	t.mu.Lock()
	cur := t.prober
	if t.retired || (cur != nil && spec != nil && sameActive(&cur.spec, spec)) {
		t.mu.Unlock()
		return
	}
	t.prober = nil
	t.mu.Unlock()
	if cur != nil {
		cur.stop()
	}
	t.mu.Lock()
	t.probeOK, t.probeFails = 0, 0
	if spec != nil {
		t.prober = startProber(t, *spec, running)
	} else if t.errFromProbe {
		t.lastError, t.errFromProbe = "", false
	}
	t.mu.Unlock()
	if spec == nil && !t.activeUp.Swap(true) {
		t.transition(StateUnhealthy, StateHealthy, "active health checks removed")
	}
}

// sameActive reports whether two specs probe identically.
func sameActive(a, b *ActiveSpec) bool {
	return a.Path == b.Path && a.Interval == b.Interval && a.Timeout == b.Timeout &&
		a.Healthy == b.Healthy && a.Unhealthy == b.Unhealthy &&
		slices.Equal(a.Statuses, b.Statuses) && a.TLS == b.TLS
}
