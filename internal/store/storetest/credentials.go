package storetest

import (
	"bytes"
	"testing"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/store"
)

func (h *harness) testCredentials(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	kr := Keyring(t)
	for _, n := range []string{"alice", "bob"} {
		if _, err := s.Consumers().Create(ctx, config.Consumer{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	aliceKey := store.Credential{Consumer: "alice", Type: "key-auth", Lookup: kr.Digest("alice-key"),
		Attrs: map[string]string{"key": "alic…(9 chars)"}}
	aliceJWT := store.Credential{ID: "jwt-1", Consumer: "alice", Type: "jwt", Lookup: kr.Digest("alice-app"),
		Secret: []byte("hs256-secret"), Attrs: map[string]string{"algorithm": "HS256"}}
	bobKey := store.Credential{Consumer: "bob", Type: "key-auth", Lookup: kr.Digest("bob-key")}

	created := map[string]store.Credential{}
	for _, c := range []store.Credential{aliceKey, aliceJWT, bobKey} {
		got, err := s.Credentials().Create(ctx, c)
		wantErr(t, "create "+c.Type+" for "+c.Consumer, err, nil)
		if got.ID == "" || got.Created.IsZero() {
			t.Fatalf("created credential lacks id or time: %+v", got)
		}
		created[c.Consumer+"/"+c.Type] = got
	}
	if created["alice/jwt"].ID != "jwt-1" {
		t.Fatalf("given id replaced by %q", created["alice/jwt"].ID)
	}

	t.Run("create errors", func(t *testing.T) {
		cases := []struct {
			name string
			c    store.Credential
			want error
		}{
			{"missing consumer", store.Credential{Consumer: "carol", Type: "key-auth", Lookup: kr.Digest("c")}, store.ErrNotFound},
			{"lookup taken for type", store.Credential{Consumer: "bob", Type: "key-auth", Lookup: kr.Digest("alice-key")}, store.ErrConflict},
			{"id taken", store.Credential{ID: "jwt-1", Consumer: "bob", Type: "jwt", Lookup: kr.Digest("bob-app")}, store.ErrConflict},
			{"no lookup", store.Credential{Consumer: "bob", Type: "key-auth"}, store.ErrInvalid},
			{"no type", store.Credential{Consumer: "bob", Lookup: kr.Digest("x")}, store.ErrInvalid},
			{"no consumer", store.Credential{Type: "key-auth", Lookup: kr.Digest("x")}, store.ErrInvalid},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.Credentials().Create(ctx, tc.c)
				wantErr(t, "create", err, tc.want)
			})
		}
		// The same lookup value under another type is a different credential.
		_, err := s.Credentials().Create(ctx, store.Credential{Consumer: "bob", Type: "basic-auth", Lookup: kr.Digest("alice-key")})
		wantErr(t, "same lookup, other type", err, nil)
	})

	t.Run("find by digest", func(t *testing.T) {
		cases := []struct {
			name, typ, value string
			want             *store.Credential
		}{
			{"alice key", "key-auth", "alice-key", &aliceKey},
			{"alice jwt with secret", "jwt", "alice-app", &aliceJWT},
			{"bob key", "key-auth", "bob-key", &bobKey},
			{"unknown key", "key-auth", "mallory", nil},
			{"right value wrong type", "jwt", "bob-key", nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Credentials().FindByDigest(ctx, tc.typ, kr.Digest(tc.value))
				if tc.want == nil {
					wantErr(t, "find", err, store.ErrNotFound)
					return
				}
				wantErr(t, "find", err, nil)
				want := created[tc.want.Consumer+"/"+tc.want.Type]
				sameCredential(t, got, want)
				if !bytes.Equal(got.Secret, tc.want.Secret) {
					t.Errorf("secret %q, want %q", got.Secret, tc.want.Secret)
				}
			})
		}
	})

	t.Run("get and list", func(t *testing.T) {
		got, err := s.Credentials().Get(ctx, "jwt-1")
		wantErr(t, "get", err, nil)
		sameCredential(t, got, created["alice/jwt"])
		_, err = s.Credentials().Get(ctx, "nope")
		wantErr(t, "get missing", err, store.ErrNotFound)

		list, err := s.Credentials().ListByConsumer(ctx, "alice")
		wantErr(t, "list alice", err, nil)
		if len(list) != 2 {
			t.Fatalf("alice has %d credentials, want 2", len(list))
		}
		sameCredential(t, list[0], created["alice/key-auth"])
		sameCredential(t, list[1], created["alice/jwt"])
		none, err := s.Credentials().ListByConsumer(ctx, "carol")
		wantErr(t, "list unknown consumer", err, nil)
		if len(none) != 0 {
			t.Fatalf("unknown consumer has %d credentials", len(none))
		}

		page, total, err := s.Credentials().List(ctx, store.Page{Offset: 1, Size: 2})
		wantErr(t, "list page", err, nil)
		if total != 4 || len(page) != 2 {
			t.Fatalf("page of %d, total %d; want 2 of 4", len(page), total)
		}
		all, _, _ := s.Credentials().List(ctx, store.Page{})
		for i := 1; i < len(all); i++ {
			if all[i-1].Consumer > all[i].Consumer || all[i-1].Consumer == all[i].Consumer && all[i-1].ID > all[i].ID {
				t.Fatalf("list not ordered by consumer, id: %v then %v", all[i-1], all[i])
			}
		}
		_, _, err = s.Credentials().List(ctx, store.Page{Offset: -1})
		wantErr(t, "list bad page", err, store.ErrInvalid)
	})

	t.Run("delete", func(t *testing.T) {
		id := created["bob/key-auth"].ID
		wantErr(t, "delete", s.Credentials().Delete(ctx, id), nil)
		wantErr(t, "delete again", s.Credentials().Delete(ctx, id), store.ErrNotFound)
		_, err := s.Credentials().FindByDigest(ctx, "key-auth", kr.Digest("bob-key"))
		wantErr(t, "find deleted", err, store.ErrNotFound)
		// The lookup value is free again.
		_, err = s.Credentials().Create(ctx, bobKey)
		wantErr(t, "recreate", err, nil)
	})
}

// sameCredential compares everything but the secret.
func sameCredential(t *testing.T, got, want store.Credential) {
	t.Helper()
	if got.ID != want.ID || got.Consumer != want.Consumer || got.Type != want.Type ||
		!bytes.Equal(got.Lookup, want.Lookup) || !got.Created.Equal(want.Created) {
		t.Fatalf("credential\n got %+v\nwant %+v", got, want)
	}
	sameJSON(t, "attrs", got.Attrs, want.Attrs)
}

func (h *harness) testCredentialCascade(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	kr := Keyring(t)
	for _, n := range []string{"alice", "bob"} {
		if _, err := s.Consumers().Create(ctx, config.Consumer{Name: n}); err != nil {
			t.Fatal(err)
		}
		for _, typ := range []string{"key-auth", "basic-auth"} {
			if _, err := s.Credentials().Create(ctx, store.Credential{Consumer: n, Type: typ, Lookup: kr.Digest(n), Secret: []byte("s")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := version(t, s)
	wantErr(t, "delete consumer", s.Consumers().Delete(ctx, "alice"), nil)
	if v := version(t, s); v != before+1 {
		t.Fatalf("config version %d after deleting a consumer, want %d", v, before+1)
	}
	for _, typ := range []string{"key-auth", "basic-auth"} {
		_, err := s.Credentials().FindByDigest(ctx, typ, kr.Digest("alice"))
		wantErr(t, "find credential of deleted consumer", err, store.ErrNotFound)
		_, err = s.Credentials().FindByDigest(ctx, typ, kr.Digest("bob"))
		wantErr(t, "find credential of other consumer", err, nil)
	}
	left, total, err := s.Credentials().List(ctx, store.Page{})
	wantErr(t, "list", err, nil)
	if total != 2 || len(left) != 2 {
		t.Fatalf("%d credentials left, want bob's 2", total)
	}
}
