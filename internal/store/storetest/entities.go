package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/secret"
	"github.com/sluicegw/sluice/internal/store"
)

// entityCase exercises one entity store.
type entityCase[T any] struct {
	repo func(store.Repos) store.Entities[T]
	// make builds the entity called name; rev changes its content.
	make func(name string, rev int) T
}

func (h *harness) testEntities(t *testing.T) {
	t.Run("routes", func(t *testing.T) {
		runEntityCase(t, h, entityCase[config.Route]{
			repo: func(r store.Repos) store.Routes { return r.Routes() },
			make: func(name string, rev int) config.Route {
				return config.Route{Name: name, Upstream: "up", StripPath: rev%2 == 1,
					Match:   config.RouteMatch{Paths: []string{fmt.Sprintf("/%s/v%d", name, rev)}, Headers: map[string]string{"X-Rev": fmt.Sprint(rev)}},
					Plugins: map[string]map[string]any{"key-auth": {}, "request-transform": {"add_headers": map[string]any{"X-A": "b"}}}}
			},
		})
	})
	t.Run("upstreams", func(t *testing.T) {
		runEntityCase(t, h, entityCase[config.Upstream]{
			repo: func(r store.Repos) store.Upstreams { return r.Upstreams() },
			make: func(name string, rev int) config.Upstream {
				return config.Upstream{Name: name, Balancer: "round_robin", Retries: rev,
					Targets:  []config.Target{{URL: "http://127.0.0.1:9001", Weight: 100 + rev}},
					Timeouts: config.Timeouts{Connect: config.Duration(2 * time.Second), Read: config.Duration(time.Minute)}}
			},
		})
	})
	t.Run("consumers", func(t *testing.T) {
		runEntityCase(t, h, entityCase[config.Consumer]{
			repo: func(r store.Repos) store.Consumers { return r.Consumers() },
			make: func(name string, rev int) config.Consumer {
				return config.Consumer{Name: name, Groups: []string{fmt.Sprintf("tier-%d", rev)}}
			},
		})
	})
	t.Run("plugins", func(t *testing.T) {
		runEntityCase(t, h, entityCase[store.Plugin]{
			repo: func(r store.Repos) store.Plugins { return r.Plugins() },
			make: func(name string, rev int) store.Plugin {
				return store.Plugin{Name: name, Config: map[string]any{"origins": []any{"https://app.example.com"}, "rev": float64(rev)}}
			},
		})
	})
	t.Run("ai providers", func(t *testing.T) {
		runEntityCase(t, h, entityCase[config.Provider]{
			repo: func(r store.Repos) store.AIProviders { return r.AIProviders() },
			make: func(name string, rev int) config.Provider {
				return config.Provider{Name: name, Type: "openai", BaseURL: "https://api.example.com",
					APIKeys: []string{fmt.Sprintf("sk-%s-%d", name, rev)}, Headers: map[string]string{"OpenAI-Organization": "org-1"}}
			},
		})
	})
	t.Run("ai models", func(t *testing.T) {
		runEntityCase(t, h, entityCase[config.Model]{
			repo: func(r store.Repos) store.AIModels { return r.AIModels() },
			make: func(name string, rev int) config.Model {
				return config.Model{Name: name, Fallbacks: []string{"other"},
					Targets: []config.ModelTarget{{Provider: "openai", Model: fmt.Sprintf("gpt-%d", rev), Weight: 1}}}
			},
		})
	})
}

// runEntityCase runs the CRUD, pagination and error checks on one entity
// store.
func runEntityCase[T any](t *testing.T, h *harness, c entityCase[T]) {
	s, _ := h.open(t)
	ctx := ctx(t)
	repo := c.repo(s)

	// Created out of order; listed by name.
	names := []string{"delta", "alpha", "echo", "charlie", "bravo"}
	created := map[string]store.Record[T]{}
	for _, n := range names {
		rec, err := repo.Create(ctx, c.make(n, 0))
		wantErr(t, "create "+n, err, nil)
		if rec.Version != 1 || rec.Created.IsZero() || !rec.Created.Equal(rec.Updated) {
			t.Fatalf("create %s: version %d, created %v, updated %v", n, rec.Version, rec.Created, rec.Updated)
		}
		created[n] = rec
	}

	t.Run("get", func(t *testing.T) {
		for _, n := range names {
			rec, err := repo.Get(ctx, n)
			wantErr(t, "get "+n, err, nil)
			sameJSON(t, "get "+n, rec.Value, c.make(n, 0))
			if rec.Version != 1 || !rec.Created.Equal(created[n].Created) {
				t.Errorf("get %s: version %d created %v, want 1 and %v", n, rec.Version, rec.Created, created[n].Created)
			}
		}
		_, err := repo.Get(ctx, "zulu")
		wantErr(t, "get missing", err, store.ErrNotFound)
	})

	t.Run("create errors", func(t *testing.T) {
		_, err := repo.Create(ctx, c.make("alpha", 9))
		wantErr(t, "create duplicate", err, store.ErrConflict)
		_, err = repo.Create(ctx, c.make("", 0))
		wantErr(t, "create unnamed", err, store.ErrInvalid)
		rec, err := repo.Get(ctx, "alpha")
		wantErr(t, "get after duplicate", err, nil)
		sameJSON(t, "duplicate create changed nothing", rec.Value, c.make("alpha", 0))
	})

	t.Run("list", func(t *testing.T) {
		cases := []struct {
			name string
			page store.Page
			want []string
			err  error
		}{
			{"first page", store.Page{Offset: 0, Size: 2}, []string{"alpha", "bravo"}, nil},
			{"middle page", store.Page{Offset: 2, Size: 2}, []string{"charlie", "delta"}, nil},
			{"last short page", store.Page{Offset: 4, Size: 2}, []string{"echo"}, nil},
			{"past the end", store.Page{Offset: 5, Size: 2}, nil, nil},
			{"all", store.Page{}, []string{"alpha", "bravo", "charlie", "delta", "echo"}, nil},
			{"all from offset", store.Page{Offset: 3}, []string{"delta", "echo"}, nil},
			{"negative offset", store.Page{Offset: -1, Size: 2}, nil, store.ErrInvalid},
			{"negative size", store.Page{Size: -2}, nil, store.ErrInvalid},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				recs, total, err := repo.List(ctx, tc.page)
				wantErr(t, "list", err, tc.err)
				if tc.err != nil {
					return
				}
				if total != len(names) {
					t.Errorf("total = %d, want %d", total, len(names))
				}
				var got []string
				for _, r := range recs {
					got = append(got, fmt.Sprint(nameOf(r.Value)))
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("names = %v, want %v", got, tc.want)
				}
				for _, r := range recs {
					sameJSON(t, "listed value", r.Value, c.make(nameOf(r.Value), 0))
				}
			})
		}
	})

	t.Run("update", func(t *testing.T) {
		rec, err := repo.Update(ctx, c.make("bravo", 1), 1)
		wantErr(t, "update at version 1", err, nil)
		if rec.Version != 2 || !rec.Created.Equal(created["bravo"].Created) || rec.Updated.Before(rec.Created) {
			t.Fatalf("update: version %d created %v updated %v", rec.Version, rec.Created, rec.Updated)
		}
		_, err = repo.Update(ctx, c.make("bravo", 2), 1)
		wantErr(t, "update at stale version", err, store.ErrConflict)
		got, _ := repo.Get(ctx, "bravo")
		sameJSON(t, "stale update changed nothing", got.Value, c.make("bravo", 1))
		if got.Version != 2 {
			t.Fatalf("version after stale update = %d, want 2", got.Version)
		}
		rec, err = repo.Update(ctx, c.make("bravo", 3), store.AnyVersion)
		wantErr(t, "update at any version", err, nil)
		if rec.Version != 3 {
			t.Fatalf("unconditional update: version %d, want 3", rec.Version)
		}
		got, _ = repo.Get(ctx, "bravo")
		sameJSON(t, "updated value", got.Value, c.make("bravo", 3))
		_, err = repo.Update(ctx, c.make("zulu", 1), 1)
		wantErr(t, "update missing", err, store.ErrNotFound)
		_, err = repo.Update(ctx, c.make("zulu", 1), store.AnyVersion)
		wantErr(t, "update missing at any version", err, store.ErrNotFound)
	})

	t.Run("delete", func(t *testing.T) {
		wantErr(t, "delete", repo.Delete(ctx, "charlie"), nil)
		_, err := repo.Get(ctx, "charlie")
		wantErr(t, "get deleted", err, store.ErrNotFound)
		wantErr(t, "delete again", repo.Delete(ctx, "charlie"), store.ErrNotFound)
		_, total, err := repo.List(ctx, store.Page{})
		wantErr(t, "list after delete", err, nil)
		if total != len(names)-1 {
			t.Fatalf("total after delete = %d", total)
		}
		rec, err := repo.Create(ctx, c.make("charlie", 0))
		wantErr(t, "recreate", err, nil)
		if rec.Version != 1 {
			t.Fatalf("recreated at version %d, want 1", rec.Version)
		}
	})
}

// nameOf returns the name field of any entity type.
func nameOf(v any) string {
	switch e := v.(type) {
	case config.Route:
		return e.Name
	case config.Upstream:
		return e.Name
	case config.Consumer:
		return e.Name
	case store.Plugin:
		return e.Name
	case config.Provider:
		return e.Name
	case config.Model:
		return e.Name
	}
	panic(fmt.Sprintf("nameOf %T", v))
}

func (h *harness) testConsumerCredentialsRefused(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	c := config.Consumer{Name: "alice", Credentials: []config.Credential{{Type: "key-auth", Key: "k"}}}
	_, err := s.Consumers().Create(ctx, c)
	wantErr(t, "create with credentials", err, store.ErrInvalid)
	_, err = s.Consumers().Create(ctx, config.Consumer{Name: "alice"})
	wantErr(t, "create", err, nil)
	_, err = s.Consumers().Update(ctx, c, store.AnyVersion)
	wantErr(t, "update with credentials", err, store.ErrInvalid)
	if v := version(t, s); v != 1 {
		t.Fatalf("refused writes bumped the config version to %d", v)
	}
}

func (h *harness) testProviderSecrets(t *testing.T) {
	s, db := h.open(t)
	ctx := ctx(t)
	p := config.Provider{Name: "openai", Type: "openai", APIKeys: []string{"sk-one", "sk-two"},
		Headers: map[string]string{"Authorization": "Bearer hdr-secret"}}
	if _, err := s.AIProviders().Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	plain := config.Provider{Name: "ollama", Type: "ollama"}
	if _, err := s.AIProviders().Create(ctx, plain); err != nil {
		t.Fatal(err)
	}
	got, err := s.AIProviders().Get(ctx, "openai")
	wantErr(t, "get", err, nil)
	sameJSON(t, "provider with secrets", got.Value, p)

	// A store with another master key reads the provider without secrets
	// fine, and fails loudly on the sealed one instead of returning it
	// without keys.
	otherKey, _ := secret.NewKeyring(make([]byte, secret.MasterKeySize))
	other := h.openDB(t, db, store.Options{Sealer: otherKey})
	_, err = other.AIProviders().Get(ctx, "openai")
	if !errors.Is(err, secret.ErrWrongKey) {
		t.Fatalf("get under another master key: err = %v, want ErrWrongKey", err)
	}
	got, err = other.AIProviders().Get(ctx, "ollama")
	wantErr(t, "get provider without secrets under another key", err, nil)
	sameJSON(t, "provider without secrets", got.Value, plain)
}

// testUnstorableText checks that text one of the databases cannot hold
// (invalid UTF-8, NUL) is refused on write and simply not found on read,
// the same way on both.
func (h *harness) testUnstorableText(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	kr := Keyring(t)
	if _, err := s.Consumers().Create(ctx, config.Consumer{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users().Create(ctx, store.User{Username: "admin"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"nul\x00name", "bad\xffutf8"} {
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
			_, err := s.Routes().Create(ctx, config.Route{Name: bad})
			wantErr(t, "create route named it", err, store.ErrInvalid)
			_, err = s.Routes().Create(ctx, config.Route{Name: "r", Upstream: bad})
			if bad == "bad\xffutf8" {
				// encoding/json writes invalid UTF-8 as U+FFFD: storable.
				wantErr(t, "create route holding it", err, nil)
				wantErr(t, "cleanup", s.Routes().Delete(ctx, "r"), nil)
			} else {
				wantErr(t, "create route holding it", err, store.ErrInvalid)
			}
			_, err = s.Routes().Get(ctx, bad)
			wantErr(t, "get", err, store.ErrNotFound)
			wantErr(t, "delete", s.Routes().Delete(ctx, bad), store.ErrNotFound)
			_, err = s.Credentials().Create(ctx, store.Credential{Consumer: "alice", Type: bad, Lookup: kr.Digest("x")})
			wantErr(t, "create credential", err, store.ErrInvalid)
			_, err = s.Credentials().Create(ctx, store.Credential{Consumer: "alice", Type: "jwt", Lookup: kr.Digest("x"),
				Attrs: map[string]string{"k": bad}})
			if bad == "bad\xffutf8" {
				wantErr(t, "create credential with attrs", err, nil)
			} else {
				wantErr(t, "create credential with attrs", err, store.ErrInvalid)
			}
			_, err = s.Credentials().FindByDigest(ctx, bad, kr.Digest("x"))
			wantErr(t, "find credential", err, store.ErrNotFound)
			list, err := s.Credentials().ListByConsumer(ctx, bad)
			if err != nil || len(list) != 0 {
				t.Fatalf("list credentials: %v, %v", list, err)
			}
			_, err = s.Users().Create(ctx, store.User{Username: bad})
			wantErr(t, "create user", err, store.ErrInvalid)
			_, err = s.Users().Get(ctx, bad)
			wantErr(t, "get user", err, store.ErrNotFound)
			wantErr(t, "set password", s.Users().SetPassword(ctx, "admin", bad), store.ErrInvalid)
			_, err = s.Tokens().Create(ctx, store.APIToken{User: "admin", Name: bad, Digest: kr.Digest(bad)})
			wantErr(t, "create token", err, store.ErrInvalid)
			wantErr(t, "register node", s.RegisterNode(ctx, store.Node{ID: bad}), store.ErrInvalid)
			logs, err := s.QueryRequestLogs(ctx, store.LogFilter{Route: bad})
			if err != nil || len(logs) != 0 {
				t.Fatalf("query logs: %v, %v", logs, err)
			}
		})
	}
}
