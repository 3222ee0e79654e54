package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/secret"
	"github.com/sluicegw/sluice/internal/store"
	_ "github.com/sluicegw/sluice/internal/store/sqlite"
)

func TestMain(m *testing.M) {
	// Real argon2id, with costs a test can afford.
	passwordParams = secret.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	os.Exit(m.Run())
}

const testAdminToken = "test-admin-token-0123456789"

// fakeConfig stands in for the node's config pipeline: the file's config
// in memory, validated whole by config.Validate. Its Current holds only
// the file's entities, as a node that has not caught up with the store
// would: the API must not depend on it for stored ones.
type fakeConfig struct {
	file *config.Config
}

func (f *fakeConfig) Current() *config.Config { return f.file }

func (f *fakeConfig) FileOwned(kind Kind, name string) bool {
	c := f.file
	switch kind {
	case KindRoutes:
		return findItem(routeKind, c.Routes, name) >= 0
	case KindUpstreams:
		return findItem(upstreamKind, c.Upstreams, name) >= 0
	case KindConsumers:
		return findItem(consumerKind, c.Consumers, name) >= 0
	case KindPlugins:
		_, ok := c.Plugins[name]
		return ok
	case KindAIProviders:
		return findItem(providerKind, c.AI.Providers, name) >= 0
	case KindAIModels:
		return findItem(modelKind, c.AI.Models, name) >= 0
	}
	return false
}

func (f *fakeConfig) Check(mutate func(c *config.Config)) error {
	c := f.file.Clone()
	mutate(c)
	ps := c.Validate()
	// The dry-run compile of plugins: a route plugin config with the key
	// "invalid" does not build.
	for i, r := range c.Routes {
		for name, pc := range r.Plugins {
			if _, bad := pc["invalid"]; bad {
				ps = append(ps, config.Problem{Path: config.JoinKey(config.JoinKey(listPath("routes")(i, ""), "plugins"), name) + ".invalid",
					Message: "this setting is not valid"})
			}
		}
	}
	if len(ps) > 0 {
		return ps
	}
	return nil
}

// fileYAML is the config file of most tests.
const fileYAML = `
upstreams:
  - name: file-up
    targets: [{url: "http://127.0.0.1:9001"}]
  - name: file-up2
    targets: [{url: "http://127.0.0.1:9002"}]
routes:
  - name: file-route
    match: {paths: [/file]}
    upstream: file-up
consumers:
  - name: file-consumer
    credentials:
      - {type: key-auth, key: file-key-plaintext-0001}
      - {type: basic-auth, username: file-user, password: file-password-plaintext}
plugins:
  cors: {}
ai:
  providers:
    - {name: file-prov, type: openai, api_keys: [sk-file-provider-plaintext-key]}
  models:
    - {name: file-model, targets: [{provider: file-prov, model: gpt-4o}]}
`

// env is one API on a real SQLite store behind a real listener.
type env struct {
	t     *testing.T
	api   *API
	srv   *httptest.Server
	store store.Store
	dir   string
	cfg   *fakeConfig
	logs  *syncBuffer
	// clock is the API's clock: real time plus skew.
	mu   sync.Mutex
	skew time.Duration
}

type envOptions struct {
	file       string
	tls        bool
	stats      func(window, step time.Duration) any
	playground Playground
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.file == "" {
		o.file = fileYAML
	}
	dir := t.TempDir()
	keys, err := secret.LoadKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(dir, "sluice.db"), store.Options{Sealer: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	file, err := config.Parse("sluice.yaml", []byte(o.file))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, dir: dir, cfg: &fakeConfig{file: file}, logs: &syncBuffer{}}
	e.api, err = New(Options{
		Store: st, Keys: keys, Config: e.cfg, AdminToken: testAdminToken,
		Log: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now: e.now, Stats: o.stats, Playground: o.playground,
		Status: func() map[string]any {
			return map[string]any{"version": "test", "config_version": 0}
		},
		Health: func(name string) (any, bool) {
			if name != "file-up" {
				return nil, false
			}
			return map[string]any{"targets": []any{map[string]any{"url": "http://127.0.0.1:9001", "healthy": true}}}, true
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.tls {
		e.srv = httptest.NewTLSServer(e.api.Handler())
	} else {
		e.srv = httptest.NewServer(e.api.Handler())
	}
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Now().Add(e.skew)
}

// advance moves the API's clock forward.
func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.skew += d
	e.mu.Unlock()
}

// reply is an answer of the API.
type reply struct {
	status int
	header http.Header
	body   []byte
	// cookies are those the answer set.
	cookies []*http.Cookie
}

// json decodes the body into a generic value.
func (r *reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", r.status, err, r.body)
	}
	return m
}

// problems returns the problems of a problem+json answer.
func (r *reply) problems(t *testing.T) []problem {
	t.Helper()
	var b problemBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("answer %d is not problem+json: %v\n%s", r.status, err, r.body)
	}
	return b.Problems
}

func (r *reply) code(t *testing.T) string {
	t.Helper()
	var b problemBody
	json.Unmarshal(r.body, &b)
	return b.Code
}

// req describes one request.
type req struct {
	method, path string
	body         any // string or []byte sent as is, anything else as JSON
	// auth is the bearer token; "" sends none. Defaults to the admin
	// token unless noAuth.
	auth    string
	noAuth  bool
	cookies []*http.Cookie
	header  map[string]string
}

func (e *env) do(r req) *reply {
	e.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	hr, err := http.NewRequest(r.method, e.srv.URL+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	switch {
	case r.auth != "":
		hr.Header.Set("Authorization", "Bearer "+r.auth)
	case !r.noAuth && r.cookies == nil:
		hr.Header.Set("Authorization", "Bearer "+testAdminToken)
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: data, cookies: resp.Cookies()}
}

// must does r and fails the test unless the answer has status want.
func (e *env) must(want int, r req) *reply {
	e.t.Helper()
	rep := e.do(r)
	if rep.status != want {
		e.t.Fatalf("%s %s: status %d, want %d\n%s", r.method, r.path, rep.status, want, rep.body)
	}
	return rep
}

// configVersion returns the store's config version.
func (e *env) configVersion() uint64 {
	e.t.Helper()
	v, err := e.store.ConfigVersion(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// storedBytes returns the bytes of every file of the SQLite database.
func (e *env) storedBytes() []byte {
	e.t.Helper()
	var all []byte
	matches, _ := filepath.Glob(filepath.Join(e.dir, "sluice.db*"))
	if len(matches) == 0 {
		e.t.Fatal("no database files")
	}
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// syncBuffer is a goroutine-safe buffer for captured logs.
type syncBuffer = testkit.SyncBuffer
