// Package admin is sluice's admin REST API (CONTRACT §6), served on the
// admin listener under /api/v1 on top of the store.
//
// Config entities (routes, upstreams, consumers, global plugins, AI
// providers and models) come from two sources that the node merges: the
// config file, whose entities are listed and readable here but never
// written (every write is 409 read_only), and the store, which this API
// manages. Every write is validated first against the merged config with
// the write applied (Config.Check), so a route naming a missing upstream or
// an invalid regular expression is refused with a 400 whose problems name
// the field; only then is it written to the store, where every node picks
// it up through store.Watch.
//
// Every route but GET /healthz and POST /api/v1/login needs a caller: a
// bearer token (SLUICE_ADMIN_TOKEN or an API token) or a console session
// cookie, with an X-CSRF-Token header on state-changing requests. There is
// one role: every authenticated caller is an administrator with full
// access, users and tokens included.
//
// Secrets are shown once, in the response that creates them (a generated
// key, password or token); afterwards they are masked in every response and
// never logged.
package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/secret"
	"github.com/sluicegw/sluice/internal/store"
)

// Config is what the API needs from the node's config pipeline.
type Config interface {
	// Current returns the merged config the node serves now: the config
	// file's entities plus the store's. The API does not change it.
	Current() *config.Config
	// FileOwned reports whether an entity is declared in the config file.
	// Such entities are listed and readable through the API (marked
	// "source": "file") but every write to them is refused with 409.
	FileOwned(kind Kind, name string) bool
	// Check validates a prospective change: mutate is applied to a deep
	// copy of the merged config, which is then validated whole and
	// dry-run compiled. It returns nil, a config.Problems (each with Path
	// like "routes[3].match.paths[0]" and Message), or another error when
	// the check itself could not run. mutate is called at most once,
	// before Check returns; the API reads the config it was given after
	// Check returns (to name the entity a problem lies in), so Check must
	// not reuse it.
	Check(mutate func(c *config.Config)) error
}

// Kind names a kind of config entity: the path segment of its collection
// under /api/v1.
type Kind string

// The kinds of config entity.
const (
	KindRoutes      Kind = "routes"
	KindUpstreams   Kind = "upstreams"
	KindConsumers   Kind = "consumers"
	KindPlugins     Kind = "plugins"
	KindAIProviders Kind = "ai/providers"
	KindAIModels    Kind = "ai/models"
)

// Options configure New.
type Options struct {
	// Store holds the API-managed entities, users, tokens and sessions.
	// Required.
	Store store.Store
	// Keys digests credentials, tokens and session ids. Required.
	Keys *secret.Keyring
	// Config is the node's config pipeline. Required.
	Config Config
	// Status returns the body of GET /api/v1/status; the API adds
	// "store_config_version" (the latest committed config version). Nil
	// serves only that.
	Status func() map[string]any
	// Health returns the body of GET /api/v1/upstreams/{name}/health, and
	// false when there is no such upstream. Nil answers 404 for all.
	Health func(upstream string) (any, bool)
	// Stats returns the body of GET /api/v1/stats: the node's traffic over
	// the last window in buckets of step (whole seconds, window at most an
	// hour; the API checks both). Nil answers 501.
	Stats func(window, step time.Duration) any
	// Playground serves POST /api/v1/playground/chat. Nil answers 501.
	Playground Playground
	// AdminToken is SLUICE_ADMIN_TOKEN, accepted as a bearer token; ""
	// accepts none.
	AdminToken string
	// Log receives the audit trail (every write, with its caller) and
	// failures. Secrets never reach it. Default slog.Default().
	Log *slog.Logger
	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// API is the admin REST API. It is safe for concurrent use.
type API struct {
	store      store.Store
	keys       *secret.Keyring
	cfg        Config
	status     func() map[string]any
	health     func(string) (any, bool)
	stats      func(window, step time.Duration) any
	playground Playground
	adminToken []byte
	log        *slog.Logger
	now        func() time.Time

	// writeMu serialises config writes on this node, so that the check of
	// one write sees the result of the one before.
	writeMu sync.Mutex
	logins  *backoff
	// dummyHash is verified against when a login names an unknown user,
	// so that the answer takes as long as for a known one.
	dummyOnce sync.Once
	dummyHash string
}

// New returns the API. It fails when a required option is missing.
func New(o Options) (*API, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("admin: Options.Store is required")
	case o.Keys == nil:
		return nil, errors.New("admin: Options.Keys is required")
	case o.Config == nil:
		return nil, errors.New("admin: Options.Config is required")
	}
	a := &API{
		store: o.Store, keys: o.Keys, cfg: o.Config,
		status: o.Status, health: o.Health,
		stats: o.Stats, playground: o.Playground,
		log: o.Log, now: o.Now,
	}
	if o.AdminToken != "" {
		a.adminToken = []byte(o.AdminToken)
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.logins = newBackoff(a.now)
	return a, nil
}

// route is one entry of the route table.
type route struct {
	method string
	// pattern is a net/http.ServeMux path pattern.
	pattern string
	// public routes are served without a caller.
	public  bool
	handler http.HandlerFunc
}

// routes returns the route table: every path the API serves. It is the
// one place routes are declared, so tests can enumerate it.
func (a *API) routes() []route {
	rs := []route{
		{method: "GET", pattern: "/healthz", public: true, handler: a.healthz},
		{method: "POST", pattern: "/api/v1/login", public: true, handler: a.login},
		{method: "POST", pattern: "/api/v1/logout", handler: a.logout},
		{method: "POST", pattern: "/api/v1/users/me/password", handler: a.changePassword},
		{method: "GET", pattern: "/api/v1/users", handler: a.listUsers},
		{method: "POST", pattern: "/api/v1/users", handler: a.createUser},
		{method: "DELETE", pattern: "/api/v1/users/{name}", handler: a.deleteUser},
		{method: "GET", pattern: "/api/v1/tokens", handler: a.listTokens},
		{method: "POST", pattern: "/api/v1/tokens", handler: a.createToken},
		{method: "DELETE", pattern: "/api/v1/tokens/{id}", handler: a.deleteToken},
		{method: "GET", pattern: "/api/v1/status", handler: a.getStatus},
		{method: "GET", pattern: "/api/v1/upstreams/{name}/health", handler: a.upstreamHealth},
		{method: "GET", pattern: "/api/v1/logs", handler: a.queryLogs},
		{method: "GET", pattern: "/api/v1/usage", handler: a.queryUsage},
		{method: "GET", pattern: "/api/v1/stats", handler: a.getStats},
		{method: "POST", pattern: "/api/v1/playground/chat", handler: a.playgroundChat},
		{method: "GET", pattern: "/api/v1/config", handler: a.exportConfig},
		{method: "POST", pattern: "/api/v1/config", handler: a.importConfig},
		{method: "GET", pattern: "/api/v1/consumers/{name}/credentials", handler: a.listCredentials},
		{method: "POST", pattern: "/api/v1/consumers/{name}/credentials", handler: a.createCredential},
		{method: "GET", pattern: "/api/v1/consumers/{name}/credentials/{id}", handler: a.getCredential},
		{method: "DELETE", pattern: "/api/v1/consumers/{name}/credentials/{id}", handler: a.deleteCredential},
	}
	rs = append(rs, entityRoutes(a, routeKind)...)
	rs = append(rs, entityRoutes(a, upstreamKind)...)
	rs = append(rs, entityRoutes(a, consumerKind)...)
	rs = append(rs, entityRoutes(a, pluginKind)...)
	rs = append(rs, entityRoutes(a, providerKind)...)
	rs = append(rs, entityRoutes(a, modelKind)...)
	return rs
}

// Handler returns the handler of every route, to be mounted at the root of
// the admin listener: it serves /healthz and /api/v1/. Any other path is,
// for an authenticated caller, 404.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	// paths knows every pattern whatever the method, to tell a wrong
	// method (405) from a wrong path (404).
	paths := http.NewServeMux()
	allow := map[string][]string{}
	for _, r := range a.routes() {
		mux.Handle(r.method+" "+r.pattern, a.wrap(r.public, r.handler))
		if allow[r.pattern] == nil {
			paths.Handle(r.pattern, http.NotFoundHandler())
		}
		allow[r.pattern] = append(allow[r.pattern], r.method)
	}
	mux.Handle("/", a.wrap(false, func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := paths.Handler(r); allow[pattern] != nil {
			w.Header().Set("Allow", strings.Join(allow[pattern], ", "))
			a.fail(w, r, withStatus("method_not_allowed", http.StatusMethodNotAllowed,
				"%s is not allowed on %s; use %s.", r.Method, r.URL.Path, strings.Join(allow[pattern], ", ")))
			return
		}
		a.fail(w, r, errNotFound("There is no admin API endpoint at %s.", r.URL.Path))
	}))
	return mux
}

// wrap adds what every route shares: response headers, and unless public
// the caller's authentication and CSRF check.
func (a *API) wrap(public bool, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Cache-Control", "no-store")
		hdr.Set("X-Content-Type-Options", "nosniff")
		id := newRequestID()
		hdr.Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		if !public {
			c, err := a.authenticate(w, r)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
		}
		h(w, r)
	})
}

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// Bootstrap prepares the store on first start: when it holds no admin
// user, it creates "admin" with password, or, when password is empty
// (SLUICE_ADMIN_PASSWORD unset), with a random password printed once to
// out with a hint to change it. The password is never logged. When a user
// exists, or another node creates one concurrently, it does nothing.
func (a *API) Bootstrap(ctx context.Context, out io.Writer, password string) error {
	users, err := a.store.Users().List(ctx)
	if err != nil {
		return fmt.Errorf("admin: bootstrap: %w", err)
	}
	if len(users) > 0 {
		return nil
	}
	generated := password == ""
	if generated {
		password = randomSecret(18)
	} else if len([]rune(password)) < minPasswordLength {
		a.log.Warn("admin: SLUICE_ADMIN_PASSWORD is shorter than recommended", "min_length", minPasswordLength)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return fmt.Errorf("admin: bootstrap: %w", err)
	}
	_, err = a.store.Users().Create(ctx, store.User{Username: bootstrapUser, PasswordHash: hash})
	if errors.Is(err, store.ErrConflict) {
		return nil // another node won the race
	}
	if err != nil {
		return fmt.Errorf("admin: bootstrap: %w", err)
	}
	source := "SLUICE_ADMIN_PASSWORD"
	if generated {
		source = "generated"
		_, err = fmt.Fprintf(out, "sluice: created admin user %q\nadmin password: %s\n"+
			"This password is shown only now. Log in to the console or POST /api/v1/login and change it "+
			"(POST /api/v1/users/me/password), or set SLUICE_ADMIN_PASSWORD before the first start.\n",
			bootstrapUser, password)
		if err != nil {
			return fmt.Errorf("admin: bootstrap: printing the password: %w", err)
		}
	}
	a.log.Info("admin: created the first admin user", "user", bootstrapUser, "password_source", source)
	return nil
}

// bootstrapUser is the user Bootstrap creates.
const bootstrapUser = "admin"
