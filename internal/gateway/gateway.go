// Package gateway is the proxy listener's http.Handler: it gives every
// request an id, canonicalises its path once, routes it on the current
// snapshot, forwards it, renders the gateway's own errors, and writes the
// access log line.
package gateway

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/ai"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/proxy"
	"github.com/sluicegw/sluice/internal/router"
	"github.com/sluicegw/sluice/internal/snapshot"
	"github.com/sluicegw/sluice/internal/telemetry"
)

// Gateway serves proxied traffic from the current snapshot.
type Gateway struct {
	snap    atomic.Pointer[snapshot.Snapshot]
	access  *telemetry.AccessLog
	reqlog  RequestLog
	metrics Observer
	log     *slog.Logger
	tracer  atomic.Pointer[telemetry.Tracer] // nil: tracing off
}

// RequestLog receives every finished request (the store-backed request
// log); Record must not block.
type RequestLog interface {
	Record(x *exchange.Exchange)
}

// SetRequestLog sets where request summaries go; call before serving.
func (g *Gateway) SetRequestLog(rl RequestLog) { g.reqlog = rl }

// Observer records finished requests in metrics.
type Observer interface {
	Observe(x *exchange.Exchange)
}

// SetMetrics sets the metrics observer; call before serving.
func (g *Gateway) SetMetrics(o Observer) { g.metrics = o }

// SetTracer makes t the tracer of new requests (nil turns tracing off)
// and returns the previous one, which requests already running may still
// use until they end.
func (g *Gateway) SetTracer(t *telemetry.Tracer) *telemetry.Tracer { return g.tracer.Swap(t) }

// Tracer returns the current tracer, nil when tracing is off.
func (g *Gateway) Tracer() *telemetry.Tracer { return g.tracer.Load() }

// New returns a Gateway serving s.
func New(s *snapshot.Snapshot, access *telemetry.AccessLog, log *slog.Logger) *Gateway {
	g := &Gateway{access: access, log: log}
	g.snap.Store(s)
	return g
}

// Swap makes s the snapshot for new requests and returns the previous one.
// Requests already running finish on the snapshot they started with.
func (g *Gateway) Swap(s *snapshot.Snapshot) *snapshot.Snapshot { return g.snap.Swap(s) }

// Snapshot returns the current snapshot.
func (g *Gateway) Snapshot() *snapshot.Snapshot { return g.snap.Load() }

// request is the pooled per-request state.
type request struct {
	x     exchange.Exchange
	pc    plugin.Ctx
	chain *plugin.Chain // the matched route's plugins, nil when none
	ai    *ai.Route     // the matched AI route, nil when none
	peer  netip.Addr    // the TCP peer's address, parsed once
	trace telemetry.RequestTrace
}

var requestPool = sync.Pool{New: func() any { return new(request) }}

var _ proxy.AttemptTracer = (*telemetry.RequestTrace)(nil)

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := requestPool.Get().(*request)
	rq.chain, rq.ai = nil, nil
	x := &rq.x
	x.Reset()
	x.Start = time.Now()
	x.ID = requestID(r.Header.Get("X-Request-Id"))
	x.Method, x.Host = r.Method, r.Host
	s := g.snap.Load()

	peer := peerAddr(r.RemoteAddr)
	rq.peer = peer
	trusted := peer.IsValid() && s.Trusted(peer)
	x.ClientIP = clientIP(peer, trusted, r.Header["X-Forwarded-For"], s)
	if t := g.tracer.Load(); t != nil {
		r = rq.trace.Begin(t, r, x.Start)
	}

	err := g.serve(w, r, rq, s, trusted)
	var abort *proxy.AbortError
	switch {
	case err == nil, errors.Is(err, plugin.ErrHandled):
	case errors.As(err, &abort):
		x.Code, x.Cause = abort.Err.Code, abort.Err.Cause
		g.finish(rq)
		// The head is out: only a broken connection tells the client the
		// body is incomplete.
		panic(http.ErrAbortHandler)
	case errors.Is(err, proxy.ErrClientGone), errors.Is(err, ai.ErrClientGone):
		x.Code, x.Status = gwerr.ClientClosed, 499
	default:
		ge := gwerr.As(err)
		x.Code, x.Cause, x.Status = ge.Code, ge.Cause, ge.Status
		h := w.Header()
		exchange.SetGatewayHeaders(h, x)
		if rq.chain != nil {
			rq.chain.RunResponse(&rq.pc, ge.Status, h)
		}
		if rq.ai != nil {
			x.BytesOut = int64(rq.ai.WriteError(w, x, ge))
		} else {
			x.BytesOut = int64(gwerr.Write(w, x.ID, ge))
		}
	}
	g.finish(rq)
}

// finish logs the request and recycles its state.
func (g *Gateway) finish(rq *request) {
	if rq.trace.Active() {
		rq.trace.End(&rq.x, rq.peer)
	}
	g.access.Log(&rq.x)
	if g.metrics != nil {
		g.metrics.Observe(&rq.x)
	}
	if g.reqlog != nil {
		g.reqlog.Record(&rq.x)
	}
	if rq.chain != nil {
		rq.chain.RunLog(&rq.pc)
	}
	rq.pc = plugin.Ctx{}
	requestPool.Put(rq)
}

// serve routes and forwards one request.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, rq *request, s *snapshot.Snapshot, trusted bool) error {
	x := &rq.x
	sanitizeRequestHeaders(r.Header)
	path, err := router.Canonicalize(rawPath(r))
	if err != nil {
		return gwerr.Newf(gwerr.BadRequest, err, "The request path is not valid.")
	}
	x.Path = path
	m, ok := s.Router.Match(r.Host, path, r.Method, r.Header)
	if !ok {
		return gwerr.New(gwerr.NoRoute, nil)
	}
	rt := &s.Routes[m.Index]
	x.Route = rt.Name
	rq.ai = rt.AI
	if rt.Backend == nil && rt.AI == nil {
		return gwerr.Newf(gwerr.NotImplemented, errors.New("route has no upstream"), "This route has no upstream.")
	}
	if rt.Plugins != nil {
		if err := runAccess(w, r, rq, rt); err != nil {
			return err
		}
	}
	if rt.AI != nil {
		if rq.chain != nil {
			return rt.AI.Serve(w, r, x, &rq.pc)
		}
		return rt.AI.Serve(w, r, x, nil)
	}
	return g.forward(w, r, rq, rt, path, m.Prefix, trusted)
}

// runAccess runs the route's plugins' access phase.
func runAccess(w http.ResponseWriter, r *http.Request, rq *request, rt *snapshot.Route) error {
	rq.chain = rt.Plugins
	rq.pc = plugin.Ctx{W: w, R: r, X: &rq.x, Route: rt.Name}
	if err := rt.Plugins.RunAccess(&rq.pc); err != nil {
		return err
	}
	if c := rq.pc.Consumer; c != nil {
		r.Header["X-Consumer-Name"] = []string{c.Name}
	}
	return nil
}

// forward proxies a request to its route's upstream. It is apart from
// serve so that its large frame is on the stack only for proxied requests
// (an AI stream held for minutes keeps a small stack).
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, rq *request, rt *snapshot.Route, path, prefix string, trusted bool) error {
	x := &rq.x
	out := proxy.Outbound{
		Path:         path,
		PreserveHost: rt.PreserveHost,
		ClientIP:     x.ClientIP,
		Peer:         rq.peer,
		TrustedPeer:  trusted,
		RequestID:    x.ID,
		Consumer:     x.Consumer,
	}
	if rt.StripPath {
		out.Path = router.StripPrefix(path, prefix)
	}
	if rq.chain != nil {
		out.Response = &rq.pc
	}
	if rq.trace.Active() {
		out.Trace = &rq.trace
	}
	return proxy.Forward(w, r, x, rt.Backend, &out)
}

// rawPath returns the request path as it was sent (escaped, no query).
func rawPath(r *http.Request) string {
	if u := r.RequestURI; len(u) > 0 && u[0] == '/' {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			return u[:i]
		}
		return u
	}
	return r.URL.EscapedPath()
}

// requestID returns the client's X-Request-Id when it is well formed
// (1..128 characters of [A-Za-z0-9._:-]), else a new random id.
func requestID(client string) string {
	if n := len(client); n > 0 && n <= 128 {
		ok := true
		for i := 0; i < n && ok; i++ {
			c := client[i]
			ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		}
		if ok {
			return client
		}
	}
	return NewRequestID()
}

// NewRequestID returns a new random 128-bit id as 32 hex digits.
func NewRequestID() string {
	const hex = "0123456789abcdef"
	var b [32]byte
	a, c := rand.Uint64(), rand.Uint64()
	for i := 0; i < 16; i++ {
		b[i] = hex[a>>(60-4*i)&0xf]
		b[16+i] = hex[c>>(60-4*i)&0xf]
	}
	return string(b[:])
}

// peerAddr parses the IP of a host:port remote address.
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// clientIP resolves the client's address: the TCP peer, unless the peer is
// a trusted proxy, in which case the right-most X-Forwarded-For entry that
// is not itself a trusted proxy.
func clientIP(peer netip.Addr, trusted bool, xff []string, s *snapshot.Snapshot) netip.Addr {
	if !trusted || len(xff) == 0 {
		return peer
	}
	client := peer
	for i := len(xff) - 1; i >= 0; i-- {
		list := xff[i]
		for list != "" {
			var part string
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				part, list = list[j+1:], list[:j]
			} else {
				part, list = list, ""
			}
			a, err := netip.ParseAddr(strings.TrimSpace(part))
			if err != nil {
				return client
			}
			a = a.Unmap()
			client = a
			if !s.Trusted(a) {
				return a
			}
		}
	}
	return client
}

// sanitizeRequestHeaders removes what a client must not send through:
//
//   - headers only the gateway may set (X-Consumer-Name, X-Consumer-Groups);
//   - method and URL override headers (X-HTTP-Method-Override and kin,
//     X-Original-URL, X-Rewrite-URL), which let an upstream run a method or
//     path other than the one the gateway routed and authorised;
//   - headers named in Connection: they are hop-by-hop, so they are dropped
//     now, before plugins run, and Connection is cut down to its upgrade
//     option so that the proxy cannot be made to strip headers the gateway
//     sets on the way out.
func sanitizeRequestHeaders(h http.Header) {
	for k, v := range h {
		switch k {
		case "X-Consumer-Name", "X-Consumer-Groups",
			"X-Http-Method-Override", "X-Http-Method", "X-Method-Override",
			"X-Original-Url", "X-Rewrite-Url":
			delete(h, k)
		case "Connection":
			upgrade := false
			for _, line := range v {
				for tok := range strings.SplitSeq(line, ",") {
					tok = strings.TrimSpace(tok)
					switch {
					case tok == "", strings.EqualFold(tok, "close"), strings.EqualFold(tok, "keep-alive"):
					case strings.EqualFold(tok, "upgrade"):
						upgrade = true
					default:
						delete(h, http.CanonicalHeaderKey(tok))
					}
				}
			}
			if upgrade {
				h[k] = connectionUpgrade
			} else {
				delete(h, k)
			}
		}
	}
}

var connectionUpgrade = []string{"Upgrade"}
