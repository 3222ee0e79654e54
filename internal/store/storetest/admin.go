package storetest

import (
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/store"
)

func (h *harness) testUsers(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	for _, n := range []string{"root", "admin"} {
		u, err := s.Users().Create(ctx, store.User{Username: n, PasswordHash: "$argon2id$" + n})
		wantErr(t, "create "+n, err, nil)
		if u.Created.IsZero() || !u.LastLogin.IsZero() {
			t.Fatalf("created user %+v", u)
		}
	}
	_, err := s.Users().Create(ctx, store.User{Username: "admin"})
	wantErr(t, "create duplicate", err, store.ErrConflict)
	_, err = s.Users().Create(ctx, store.User{})
	wantErr(t, "create unnamed", err, store.ErrInvalid)

	list, err := s.Users().List(ctx)
	wantErr(t, "list", err, nil)
	if len(list) != 2 || list[0].Username != "admin" || list[1].Username != "root" {
		t.Fatalf("list = %+v", list)
	}

	wantErr(t, "set password", s.Users().SetPassword(ctx, "admin", "$argon2id$new"), nil)
	wantErr(t, "set password of missing", s.Users().SetPassword(ctx, "ghost", "x"), store.ErrNotFound)
	login := time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.UTC)
	wantErr(t, "record login", s.Users().RecordLogin(ctx, "admin", login), nil)
	wantErr(t, "record login of missing", s.Users().RecordLogin(ctx, "ghost", login), store.ErrNotFound)
	u, err := s.Users().Get(ctx, "admin")
	wantErr(t, "get", err, nil)
	if u.PasswordHash != "$argon2id$new" || !u.LastLogin.Equal(login.Truncate(time.Microsecond)) {
		t.Fatalf("user after updates: %+v", u)
	}
	_, err = s.Users().Get(ctx, "ghost")
	wantErr(t, "get missing", err, store.ErrNotFound)

	// Deleting a user takes their tokens and sessions along.
	kr := Keyring(t)
	if _, err := s.Tokens().Create(ctx, store.APIToken{User: "admin", Name: "ci", Digest: kr.Digest("tok")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sessions().Create(ctx, store.Session{IDDigest: kr.Digest("sid"), User: "admin", CSRFDigest: kr.Digest("csrf"),
		Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "delete", s.Users().Delete(ctx, "admin"), nil)
	wantErr(t, "delete again", s.Users().Delete(ctx, "admin"), store.ErrNotFound)
	_, err = s.Tokens().FindByDigest(ctx, kr.Digest("tok"))
	wantErr(t, "token of deleted user", err, store.ErrNotFound)
	_, err = s.Sessions().Find(ctx, kr.Digest("sid"))
	wantErr(t, "session of deleted user", err, store.ErrNotFound)
	if v := version(t, s); v != 0 {
		t.Fatalf("admin writes moved the config version to %d", v)
	}
}

func (h *harness) testTokens(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	kr := Keyring(t)
	for _, n := range []string{"admin", "ops"} {
		if _, err := s.Users().Create(ctx, store.User{Username: n}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	live, err := s.Tokens().Create(ctx, store.APIToken{User: "admin", Name: "ci", Digest: kr.Digest("live")})
	wantErr(t, "create", err, nil)
	if live.ID == "" || live.Created.IsZero() {
		t.Fatalf("created token %+v", live)
	}
	_, err = s.Tokens().Create(ctx, store.APIToken{ID: "t-exp", User: "admin", Name: "old", Digest: kr.Digest("expired"), Expires: now.Add(-time.Minute)})
	wantErr(t, "create expired", err, nil)
	_, err = s.Tokens().Create(ctx, store.APIToken{ID: "t-ops", User: "ops", Name: "deploy", Digest: kr.Digest("ops"), Expires: now.Add(time.Hour)})
	wantErr(t, "create for ops", err, nil)

	cases := []struct {
		name string
		tok  store.APIToken
		want error
	}{
		{"missing user", store.APIToken{User: "ghost", Digest: kr.Digest("g")}, store.ErrNotFound},
		{"digest taken", store.APIToken{User: "ops", Digest: kr.Digest("live")}, store.ErrConflict},
		{"id taken", store.APIToken{ID: "t-ops", User: "ops", Digest: kr.Digest("new")}, store.ErrConflict},
		{"no digest", store.APIToken{User: "ops"}, store.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Tokens().Create(ctx, tc.tok)
			wantErr(t, "create", err, tc.want)
		})
	}

	got, err := s.Tokens().FindByDigest(ctx, kr.Digest("live"))
	wantErr(t, "find live", err, nil)
	if got.ID != live.ID || got.User != "admin" || got.Name != "ci" || !got.Expires.IsZero() {
		t.Fatalf("found %+v", got)
	}
	_, err = s.Tokens().FindByDigest(ctx, kr.Digest("expired"))
	wantErr(t, "find expired", err, store.ErrNotFound)
	_, err = s.Tokens().FindByDigest(ctx, kr.Digest("unknown"))
	wantErr(t, "find unknown", err, store.ErrNotFound)

	used := now.Add(time.Second)
	wantErr(t, "touch", s.Tokens().Touch(ctx, live.ID, used), nil)
	wantErr(t, "touch missing", s.Tokens().Touch(ctx, "nope", used), store.ErrNotFound)
	got, _ = s.Tokens().FindByDigest(ctx, kr.Digest("live"))
	if !got.LastUsed.Equal(used.Truncate(time.Microsecond)) {
		t.Fatalf("last used %v, want %v", got.LastUsed, used)
	}

	admins, err := s.Tokens().List(ctx, "admin")
	wantErr(t, "list admin", err, nil)
	if len(admins) != 2 {
		t.Fatalf("admin has %d tokens, want 2 (expired included)", len(admins))
	}
	all, err := s.Tokens().List(ctx, "")
	wantErr(t, "list all", err, nil)
	if len(all) != 3 {
		t.Fatalf("%d tokens in all, want 3", len(all))
	}

	wantErr(t, "delete", s.Tokens().Delete(ctx, live.ID), nil)
	wantErr(t, "delete again", s.Tokens().Delete(ctx, live.ID), store.ErrNotFound)
	_, err = s.Tokens().FindByDigest(ctx, kr.Digest("live"))
	wantErr(t, "find deleted", err, store.ErrNotFound)
}

func (h *harness) testSessions(t *testing.T) {
	s, _ := h.open(t)
	ctx := ctx(t)
	kr := Keyring(t)
	for _, n := range []string{"admin", "ops"} {
		if _, err := s.Users().Create(ctx, store.User{Username: n}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	mk := func(id, user string, expires time.Time) store.Session {
		return store.Session{IDDigest: kr.Digest(id), User: user, CSRFDigest: kr.Digest("csrf-" + id), Expires: expires}
	}
	for _, sess := range []store.Session{
		mk("a1", "admin", now.Add(time.Hour)),
		mk("a2", "admin", now.Add(2*time.Hour)),
		mk("gone", "admin", now.Add(-time.Second)),
		mk("o1", "ops", now.Add(time.Hour)),
		mk("o2", "ops", now.Add(-time.Hour)),
	} {
		if _, err := s.Sessions().Create(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		s    store.Session
		want error
	}{
		{"taken", mk("a1", "ops", now.Add(time.Hour)), store.ErrConflict},
		{"missing user", mk("g1", "ghost", now.Add(time.Hour)), store.ErrNotFound},
		{"no expiry", mk("n1", "ops", time.Time{}), store.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Sessions().Create(ctx, tc.s)
			wantErr(t, "create", err, tc.want)
		})
	}

	got, err := s.Sessions().Find(ctx, kr.Digest("a1"))
	wantErr(t, "find", err, nil)
	want := mk("a1", "admin", now.Add(time.Hour))
	if got.User != "admin" || !got.Expires.Equal(want.Expires.Truncate(time.Microsecond)) ||
		string(got.CSRFDigest) != string(want.CSRFDigest) || got.Created.IsZero() {
		t.Fatalf("found %+v", got)
	}
	_, err = s.Sessions().Find(ctx, kr.Digest("gone"))
	wantErr(t, "find expired", err, store.ErrNotFound)

	n, err := s.Sessions().DeleteExpired(ctx, time.Now())
	wantErr(t, "delete expired", err, nil)
	if n != 2 {
		t.Fatalf("deleted %d expired sessions, want 2", n)
	}
	n, err = s.Sessions().DeleteUser(ctx, "admin")
	wantErr(t, "delete user's", err, nil)
	if n != 2 {
		t.Fatalf("deleted %d of admin's sessions, want 2", n)
	}
	_, err = s.Sessions().Find(ctx, kr.Digest("a2"))
	wantErr(t, "find after logout", err, store.ErrNotFound)
	wantErr(t, "delete one", s.Sessions().Delete(ctx, kr.Digest("o1")), nil)
	wantErr(t, "delete one again", s.Sessions().Delete(ctx, kr.Digest("o1")), store.ErrNotFound)
}
