package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/httpwire"
	"github.com/sluicegw/sluice/internal/upstream"
)

// roundTrip runs one attempt against t: connect, send, read the head, and
// (unless the status is to be retried) relay the response. The target's
// connection slot, taken by Pick, is released when the attempt ends.
func roundTrip(w http.ResponseWriter, r *http.Request, x *exchange.Exchange, b *Backend, o *Outbound,
	st *state, t *upstream.Target, deadline time.Time, hasBody, mayRetryStatus bool) (result, *attemptError) {
	defer t.Release()
	start := time.Now()
	att := exchange.Attempt{Target: t.Name}
	fail := func(e *attemptError) (result, *attemptError) {
		att.Code, att.Error, att.Duration = e.code, e.err.Error(), time.Since(start)
		att.Health = t.State() // before this failure is reported to it
		x.AddAttempt(att)
		if e.client == nil {
			t.Report(upstream.Result{Failed: true, Latency: att.Duration})
		}
		return 0, e
	}

	var (
		c    *upstream.Conn
		aerr *attemptError
		cw   closeWatch
	)
	for try := 0; ; try++ {
		c, aerr = connect(r.Context(), t, tlsFor(b, t), min(b.Connect, time.Until(deadline)))
		if aerr != nil {
			return fail(aerr)
		}
		att.Reused = c.Reused
		// A client that goes away interrupts any wait on the upstream.
		cw.start(w, r, c.Conn)
		aerr = exchangeHead(c, r, b, o, st, t, deadline, hasBody)
		if aerr == nil {
			break
		}
		cw.stop()
		c.Close()
		if r.Context().Err() != nil {
			return fail(&attemptError{code: gwerr.ClientClosed, phase: aerr.phase, err: r.Context().Err(), client: ErrClientGone})
		}
		// A kept-alive connection the target closed while it sat idle fails
		// with no response byte: that is a keep-alive race, not a target
		// fault. Resend once on a fresh connection when that is safe.
		if try == 0 && c.Reused && aerr.code == gwerr.UpstreamReset && isConnReset(aerr.err) && isIdempotent(r) &&
			(!hasBody || st.body.rewind()) {
			continue
		}
		return fail(aerr)
	}

	rh := &st.head
	att.Status = rh.Status
	att.Duration = time.Since(start)
	t.Report(upstream.Result{Failed: rh.Status >= 500, Latency: att.Duration})
	x.AddAttempt(att)
	x.Status = rh.Status

	if mayRetryStatus && b.RetryOnStatus.Has(rh.Status) {
		if cw.stop() && discardBody(c, rh, b.Read) {
			c.SetDeadline(time.Time{})
			t.Pool.Put(c)
		} else {
			c.Close()
		}
		clear(st.header)
		return resRetryStatus, nil
	}
	x.UpstreamTime = att.Duration

	if rh.Upgrade {
		cw.stop()
		return relayUpgrade(w, r, x, o, st, c)
	}

	h := w.Header()
	for k, vv := range st.header {
		h[k] = vv
	}
	exchange.SetGatewayHeaders(h, x)
	if o.Response != nil {
		o.Response.BeforeResponse(rh.Status, h)
	}
	w.WriteHeader(rh.Status)
	n, err := copyResponseBody(w, c, rh, b.Read)
	x.BytesOut = n
	if err != nil {
		cw.stop()
		c.Close()
		var cwe *clientWriteError
		if errors.As(err, &cwe) || r.Context().Err() != nil {
			return resClientGone, nil
		}
		e := classify(phaseBody, err)
		att.Code, att.Error = e.code, e.err.Error()
		x.Attempts[len(x.Attempts)-1] = att
		t.Report(upstream.Result{Failed: true, Latency: time.Since(start)})
		return 0, e
	}
	// The connection goes back to the pool only if the client watcher can
	// no longer touch it.
	if !cw.stop() || rh.Close {
		c.Close()
	} else {
		c.SetDeadline(time.Time{})
		t.Pool.Put(c)
	}
	return resDone, nil
}

// exchangeHead sends the request on c and reads the response head into
// st.head and st.header.
func exchangeHead(c *upstream.Conn, r *http.Request, b *Backend, o *Outbound, st *state, t *upstream.Target,
	deadline time.Time, hasBody bool) *attemptError {
	host := t.Host
	if o.PreserveHost {
		host = r.Host
	}
	headTimeout := min(b.Read, time.Until(deadline))
	c.SetDeadline(time.Now().Add(headTimeout))
	bodyLen := r.ContentLength
	if !hasBody {
		bodyLen = 0
	}
	bw := c.TakeWriter()
	writeRequestHead(bw, r, o, host, &st.ct, bodyLen, hasBody)
	var werr error
	if hasBody {
		scratch := scratchPool.Get().(*[]byte)
		werr = writeBody(c.Conn, bw, &st.body, bodyLen, *scratch, b.Write)
		scratchPool.Put(scratch)
		var cbe *clientBodyError
		if errors.As(werr, &cbe) {
			return classify(phaseWrite, werr)
		}
		wait := min(b.Read, time.Until(deadline))
		if werr != nil {
			// The target stopped taking the body. If it answered early
			// (say 413), the answer is already here; do not wait long.
			wait = min(wait, earlyAnswerGrace)
		}
		c.SetReadDeadline(time.Now().Add(wait))
	} else {
		werr = bw.Flush()
	}
	c.ReleaseWriter() // not needed again before the next request
	clear(st.header)
	err := httpwire.ReadHead(c.R, st.header, r.Method, &st.head)
	if err == nil {
		// A target may answer early (say 413) and stop reading the body:
		// its answer counts even though the body write failed.
		return nil
	}
	if werr != nil {
		return classify(phaseWrite, werr)
	}
	return classify(phaseHead, err)
}

// scratchPool holds the buffers request bodies are copied through, taken
// only while a body is written (a stream's response does not hold one).
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// tlsFor returns the TLS client config for t.
func tlsFor(b *Backend, t *upstream.Target) *tls.Config {
	if !t.TLS {
		return nil
	}
	if b.TLS != nil && (b.TLS.ServerName != "" || b.TLS.InsecureSkipVerify) {
		return b.TLS
	}
	c := upstreamTLSConfig(b.TLS, t.URL.Hostname())
	return c
}

// relayUpgrade completes a protocol switch (WebSocket): it takes over the
// client connection, sends the 101 head, and copies bytes both ways until
// either side closes.
func relayUpgrade(w http.ResponseWriter, r *http.Request, x *exchange.Exchange, o *Outbound, st *state, c *upstream.Conn) (result, *attemptError) {
	hj, ok := w.(http.Hijacker)
	if !ok || !st.ct.upgrade || r.ProtoMajor != 1 {
		c.Close()
		return 0, classify(phaseHead, errors.New("upstream switched protocols without an upgrade request: "+errBadResponse.Error()))
	}
	cc, brw, err := hj.Hijack()
	if err != nil {
		c.Close()
		return resClientGone, nil
	}
	defer cc.Close()
	defer c.Close()
	untrack := trackUpgraded(cc, c.Conn)
	defer untrack()
	c.SetDeadline(time.Time{})
	h := st.header
	exchange.SetGatewayHeaders(h, x)
	bw := brw.Writer
	bw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n")
	h.Write(bw)
	bw.WriteString("\r\n")
	if err := bw.Flush(); err != nil {
		return resClientGone, nil
	}
	done := make(chan struct{}, 2)
	go func() {
		n, _ := io.Copy(c.Conn, brw.Reader)
		x.BytesIn += n
		closeWrite(c.Conn)
		done <- struct{}{}
	}()
	go func() {
		n, _ := io.Copy(cc, c.R)
		x.BytesOut += n
		closeWrite(cc)
		done <- struct{}{}
	}()
	<-done
	// One side is finished: WebSocket has its own close handshake, so the
	// other direction is torn down rather than left to leak.
	cc.Close()
	c.Close()
	<-done
	return resDone, nil
}

// closeWrite half-closes a connection's sending side when it can.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

// earlyAnswerGrace is how long the proxy looks for a response after the
// target stopped reading the request body.
const earlyAnswerGrace = 250 * time.Millisecond

// aLongTimeAgo is a deadline in the past: setting it interrupts blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// clientCloseWatcher is implemented by response writers (the h1 engine's)
// that can interrupt an upstream connection without allocating when the
// client goes away.
type clientCloseWatcher interface {
	WatchClientClose(peer interface{ SetDeadline(time.Time) error })
	UnwatchClientClose() bool
}

// closeWatch interrupts waits on an upstream connection when the client
// goes away, through the engine's watcher when it has one, else through
// the request context.
type closeWatch struct {
	ccw     clientCloseWatcher
	stopCtx func() bool
}

func (cw *closeWatch) start(w http.ResponseWriter, r *http.Request, c net.Conn) {
	if ccw, ok := w.(clientCloseWatcher); ok {
		cw.ccw = ccw
		ccw.WatchClientClose(c)
		return
	}
	cw.stopCtx = context.AfterFunc(r.Context(), func() { c.SetDeadline(aLongTimeAgo) })
}

// stop ends the watch; it reports false when the connection was (or may
// be being) interrupted and must not be reused.
func (cw *closeWatch) stop() bool {
	switch {
	case cw.ccw != nil:
		ok := cw.ccw.UnwatchClientClose()
		cw.ccw = nil
		return ok
	case cw.stopCtx != nil:
		ok := cw.stopCtx()
		cw.stopCtx = nil
		return ok
	}
	return true
}

// upgraded holds the connection pairs of running protocol switches: they
// outlive the HTTP server's graceful shutdown, which no longer sees them.
var upgraded struct {
	mu    sync.Mutex
	conns map[*[2]net.Conn]struct{}
}

// trackUpgraded registers a switched connection pair until untrack.
func trackUpgraded(client, target net.Conn) (untrack func()) {
	pair := &[2]net.Conn{client, target}
	upgraded.mu.Lock()
	if upgraded.conns == nil {
		upgraded.conns = map[*[2]net.Conn]struct{}{}
	}
	upgraded.conns[pair] = struct{}{}
	upgraded.mu.Unlock()
	return func() {
		upgraded.mu.Lock()
		delete(upgraded.conns, pair)
		upgraded.mu.Unlock()
	}
}

// CloseUpgraded closes every running protocol switch (WebSocket): the
// last step of a shutdown, after in-flight HTTP requests have drained. It
// returns how many it closed.
func CloseUpgraded() int {
	upgraded.mu.Lock()
	defer upgraded.mu.Unlock()
	for pair := range upgraded.conns {
		pair[0].Close()
		pair[1].Close()
	}
	return len(upgraded.conns)
}
