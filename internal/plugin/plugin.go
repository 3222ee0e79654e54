// Package plugin is sluice's plugin framework: a registry of factories that
// build and validate plugin instances once per config snapshot, the three
// scopes a plugin can be configured at (global, route, consumer; the most
// specific applies, as in Kong), and one fixed phase order:
//
//	request id → ip-restriction → cors → auth (key-auth, jwt, basic-auth)
//	→ acl → request-size-limit → rate limits → request transforms
//	→ request-termination → proxy → response transforms → log
//
// A plugin is a value built by its factory that implements one or more of
// the phase interfaces below. Plugins are phase hooks rather than wrapping
// handlers so that a consumer's own config of a plugin can replace the
// route's once authentication has said who the consumer is, and so that
// running a chain is a walk over a slice: nothing is built per request.
package plugin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"

	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/exchange"
)

// Phase orders plugins; lower runs first.
type Phase uint8

// The phases, in the order they run.
const (
	PhaseIPRules Phase = iota + 1
	PhaseCORS
	PhaseAuth
	PhaseACL
	PhaseSizeLimit
	PhaseRateLimit
	PhaseTransform
	PhaseTermination
)

// Ctx is one request as plugins see it. It lives for one request and is
// owned by the goroutine serving it.
type Ctx struct {
	W http.ResponseWriter
	R *http.Request
	X *exchange.Exchange

	// Route is the matched route's name.
	Route string
	// Consumer and Credential are set by the auth phase.
	Consumer *consumer.Consumer
	// CredentialID names the credential that authenticated (its type and
	// a non-secret id), for limits keyed by credential.
	CredentialID string

	chain *Chain
}

// Access is implemented by plugins that act on the request before it is
// forwarded. Returning an error stops the request: a *gwerr.Error is
// rendered by the gateway; ErrHandled means the plugin wrote the whole
// response itself.
type Access interface {
	Access(c *Ctx) error
}

// Authenticator is implemented by auth plugins. Authenticate returns the
// consumer the request's credential belongs to, ErrNoCredential when the
// request carries none of this plugin's kind, or another error (a
// *gwerr.Error with code unauthorized) when it carries a bad one.
// Challenge is the WWW-Authenticate value for a 401.
type Authenticator interface {
	Authenticate(c *Ctx) (*consumer.Consumer, string, error)
	Challenge() string
}

// Response is implemented by plugins that change the response head, for
// proxied responses and the gateway's own errors alike.
type Response interface {
	Response(c *Ctx, status int, h http.Header)
}

// Log is implemented by plugins that observe the finished request.
type Log interface {
	Log(c *Ctx)
}

// ErrHandled is returned by Access when the plugin wrote the response; the
// plugin must also set c.X.Status (and c.X.Code when it is an error).
var ErrHandled = errors.New("plugin: response written by plugin")

// ErrNoCredential is returned by Authenticate when the request carries no
// credential of the plugin's kind.
var ErrNoCredential = errors.New("plugin: no credential")

// Env is what a factory may use to build an instance.
type Env struct {
	// Consumers is the snapshot's consumer index (for auth plugins).
	Consumers *consumer.Index
	// State keeps long-lived state (limiter counters) across snapshots.
	State *State
	// Scope names where the instance is configured: "global",
	// "route:NAME" or "consumer:NAME". Stateful plugins key their state by
	// it, so a reload keeps counters of unchanged configs.
	Scope string
	Log   *slog.Logger
	// RedisURL is the config's top-level redis.url ("" when none), for
	// plugins that share state across nodes.
	RedisURL string
}

// Factory builds a plugin instance from its raw config, validating it.
type Factory func(cfg map[string]any, env Env) (any, error)

// Spec registers a plugin.
type Spec struct {
	Name  string
	Phase Phase
	New   Factory
}

var (
	regMu    sync.RWMutex
	registry = map[string]Spec{}
)

// Register adds a plugin; plugin packages call it from init. It panics on
// a duplicate name.
func Register(s Spec) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[s.Name]; dup {
		panic("plugin: duplicate registration of " + s.Name)
	}
	registry[s.Name] = s
}

// Lookup returns the registered plugin called name.
func Lookup(name string) (Spec, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	s, ok := registry[name]
	return s, ok
}

// State is a registry of long-lived plugin state keyed by a stable name.
type State struct {
	mu sync.Mutex
	m  map[string]any
}

// NewState returns an empty State.
func NewState() *State { return &State{m: map[string]any{}} }

// Get returns the state stored under key, creating it with create first.
// A create that returns nil (it failed) stores nothing: the next Get tries
// again.
func (s *State) Get(key string, create func() any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		v = create()
		if v != nil {
			s.m[key] = v
		}
	}
	return v
}

// Build creates an instance of plugin name from cfg.
func Build(name string, cfg map[string]any, env Env) (any, Spec, error) {
	s, ok := Lookup(name)
	if !ok {
		return nil, Spec{}, fmt.Errorf("plugin %q is not available in this build", name)
	}
	inst, err := s.New(cfg, env)
	if err != nil {
		return nil, s, fmt.Errorf("plugin %s: %w", name, err)
	}
	if inst == nil {
		return nil, s, fmt.Errorf("plugin %s: factory returned nothing", name)
	}
	return inst, s, nil
}

// entry is one plugin slot of a chain.
type entry struct {
	name  string
	phase Phase
	inst  any // the route's or global instance; nil for a consumer-only slot
}

// Chain is the plugins of one route in phase order. It is immutable.
type Chain struct {
	pre   []entry // before auth
	auth  []Authenticator
	post  []entry // after auth: consumer configs may replace these
	resp  []entry
	logs  []entry
	names map[string]bool
}

// NewChain builds a route's chain from instances by name (the route's own
// configs merged over the global ones by the caller) and the names of
// plugins that some consumer configures (slots that run only for those
// consumers).
func NewChain(insts map[string]any, consumerOnly []string) *Chain {
	ch := &Chain{names: map[string]bool{}}
	var all []entry
	for name, inst := range insts {
		s, _ := Lookup(name)
		all = append(all, entry{name: name, phase: s.Phase, inst: inst})
		ch.names[name] = true
	}
	for _, name := range consumerOnly {
		if ch.names[name] {
			continue
		}
		s, ok := Lookup(name)
		if !ok || s.Phase <= PhaseAuth {
			continue
		}
		all = append(all, entry{name: name, phase: s.Phase})
		ch.names[name] = true
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].phase != all[j].phase {
			return all[i].phase < all[j].phase
		}
		return all[i].name < all[j].name
	})
	for _, e := range all {
		switch {
		case e.phase < PhaseAuth:
			ch.pre = append(ch.pre, e)
		case e.phase == PhaseAuth:
			if a, ok := e.inst.(Authenticator); ok {
				ch.auth = append(ch.auth, a)
			}
		default:
			ch.post = append(ch.post, e)
		}
		if _, ok := e.inst.(Response); ok || e.inst == nil {
			ch.resp = append(ch.resp, e)
		}
		if _, ok := e.inst.(Log); ok || e.inst == nil {
			ch.logs = append(ch.logs, e)
		}
	}
	return ch
}

// Empty reports whether the chain has no plugins at all.
func (ch *Chain) Empty() bool { return ch == nil || len(ch.names) == 0 }

// Has reports whether the chain runs plugin name.
func (ch *Chain) Has(name string) bool { return ch != nil && ch.names[name] }

// instance returns the instance of e for this request: the consumer's own
// config when it has one, else the route's or global one.
func (c *Ctx) instance(e *entry) any {
	if c.Consumer != nil && c.Consumer.Plugins != nil {
		if inst, ok := c.Consumer.Plugins[e.name]; ok {
			return inst
		}
	}
	return e.inst
}

// RunAccess runs the access phases up to the proxy: pre-auth plugins, then
// authentication (the request passes when any of the route's auth plugins
// accepts its credential), then the rest with consumer-scoped configs.
func (ch *Chain) RunAccess(c *Ctx) error {
	c.chain = ch
	for i := range ch.pre {
		if a, ok := ch.pre[i].inst.(Access); ok {
			if err := a.Access(c); err != nil {
				return err
			}
		}
	}
	if len(ch.auth) > 0 {
		if err := ch.authenticate(c); err != nil {
			return err
		}
	}
	for i := range ch.post {
		if a, ok := c.instance(&ch.post[i]).(Access); ok {
			if err := a.Access(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// authenticate tries the auth plugins in order; the first that recognises
// a credential decides.
func (ch *Chain) authenticate(c *Ctx) error {
	for _, a := range ch.auth {
		cons, credID, err := a.Authenticate(c)
		if errors.Is(err, ErrNoCredential) {
			continue
		}
		if err != nil {
			c.challenge()
			return err
		}
		c.Consumer, c.CredentialID = cons, credID
		c.X.Consumer = cons.Name
		return nil
	}
	c.challenge()
	return ErrUnauthorized
}

// challenge sets WWW-Authenticate for every auth plugin of the chain.
func (c *Ctx) challenge() {
	h := c.W.Header()
	for _, a := range c.chain.auth {
		h.Add("WWW-Authenticate", a.Challenge())
	}
}

// RunResponse lets response plugins change the response head.
func (ch *Chain) RunResponse(c *Ctx, status int, h http.Header) {
	if ch == nil {
		return
	}
	for i := range ch.resp {
		if r, ok := c.instance(&ch.resp[i]).(Response); ok {
			r.Response(c, status, h)
		}
	}
}

// SetGatewayHeaders sets the headers every gateway response carries
// (X-Request-Id, Server-Timing; CONTRACT §3) on a response a plugin writes
// itself, before it writes it.
func (c *Ctx) SetGatewayHeaders() { exchange.SetGatewayHeaders(c.W.Header(), c.X) }

// BeforeResponse runs the chain's response plugins; it makes a Ctx a
// proxy.ResponseHook.
func (c *Ctx) BeforeResponse(status int, h http.Header) {
	c.chain.RunResponse(c, status, h)
}

// RunLog lets log plugins observe the finished request.
func (ch *Chain) RunLog(c *Ctx) {
	if ch == nil {
		return
	}
	for i := range ch.logs {
		if l, ok := c.instance(&ch.logs[i]).(Log); ok {
			l.Log(c)
		}
	}
}
