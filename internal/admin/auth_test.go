package admin

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/store"
)

// cookie returns the cookie called name that rep set, or fails.
func cookie(rep *reply, name string) *http.Cookie {
	for _, c := range rep.cookies {
		if c.Name == name {
			return c
		}
	}
	return &http.Cookie{Name: name}
}

// addUser creates a user through the store and returns its password.
func (e *env) addUser(name string) string {
	e.t.Helper()
	pw := "password-of-" + name
	hash, err := hashPassword(pw)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.Users().Create(context.Background(), store.User{Username: name, PasswordHash: hash}); err != nil {
		e.t.Fatal(err)
	}
	return pw
}

// login logs in and returns the session cookie and CSRF token.
func (e *env) login(user, pw string, old ...*http.Cookie) (*http.Cookie, string) {
	e.t.Helper()
	rep := e.must(http.StatusOK, req{method: "POST", path: "/api/v1/login", cookies: old, noAuth: true,
		body: map[string]any{"username": user, "password": pw}})
	csrf := str(rep.json(e.t)["csrf_token"])
	if csrf == "" || cookie(rep, csrfCookie).Value != csrf {
		e.t.Fatalf("login answer lacks the CSRF token: %s", rep.body)
	}
	return cookie(rep, sessionCookie), csrf
}

func TestSessionLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{})
	pw := e.addUser("ann")
	e.must(http.StatusUnauthorized, req{method: "POST", path: "/api/v1/login", noAuth: true,
		body: map[string]any{"username": "ann", "password": "wrong-password"}})
	e.must(http.StatusUnauthorized, req{method: "POST", path: "/api/v1/login", noAuth: true,
		body: map[string]any{"username": "nobody", "password": pw}})
	e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/login", noAuth: true, body: map[string]any{"username": "ann"}})

	sess, csrf := e.login("ann", pw)
	if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure || sess.Value == "" || sess.Path != "/" {
		t.Fatalf("session cookie %+v", sess)
	}
	ck := []*http.Cookie{sess}
	body := map[string]any{"name": "c"}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/consumers", cookies: ck})
	for name, h := range map[string]map[string]string{
		"no CSRF token":    nil,
		"wrong CSRF token": {csrfHeader: "wrong"},
		"empty CSRF token": {csrfHeader: ""},
	} {
		rep := e.must(http.StatusForbidden, req{method: "POST", path: "/api/v1/consumers", cookies: ck, header: h, body: body})
		if rep.code(t) != "forbidden" {
			t.Fatalf("%s: %s", name, rep.body)
		}
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers", cookies: ck, header: map[string]string{csrfHeader: csrf}, body: body})
	if !strings.Contains(e.logs.String(), "by=ann via=session") {
		t.Fatalf("the audit log does not name the user:\n%s", e.logs.String())
	}

	// Logging in again rotates the session: the old id no longer works.
	sess2, csrf2 := e.login("ann", pw, sess)
	if sess2.Value == sess.Value || csrf2 == csrf {
		t.Fatal("login reused the session id or CSRF token")
	}
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/consumers", cookies: ck})
	ck = []*http.Cookie{sess2}
	// The old CSRF token is not the new session's.
	e.must(http.StatusForbidden, req{method: "DELETE", path: "/api/v1/consumers/c", cookies: ck, header: map[string]string{csrfHeader: csrf}})

	rep := e.must(http.StatusNoContent, req{method: "POST", path: "/api/v1/logout", cookies: ck, header: map[string]string{csrfHeader: csrf2}})
	if c := cookie(rep, sessionCookie); c.MaxAge >= 0 {
		t.Fatalf("logout did not clear the cookie: %+v", c)
	}
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/consumers", cookies: ck})
	// Failures are logged, passwords never.
	if logs := e.logs.String(); !strings.Contains(logs, "login failed") || strings.Contains(logs, pw) || strings.Contains(logs, "wrong-password") {
		t.Fatalf("logs:\n%s", logs)
	}
}

func TestSessionCookieSecureOverTLS(t *testing.T) {
	e := newEnv(t, envOptions{tls: true})
	pw := e.addUser("ann")
	sess, _ := e.login("ann", pw)
	if !sess.Secure || !sess.HttpOnly {
		t.Fatalf("cookie over TLS %+v", sess)
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, envOptions{})
	pw := e.addUser("ann")
	sess, _ := e.login("ann", pw)
	ck := []*http.Cookie{sess}
	digest := e.api.keys.Digest(sess.Value)
	expires := func() time.Time {
		s, err := e.store.Sessions().Find(context.Background(), digest)
		if err != nil {
			t.Fatal(err)
		}
		return s.Expires
	}
	first := expires()
	if d := time.Until(first); d < sessionIdle-time.Minute || d > sessionIdle+time.Minute {
		t.Fatalf("idle deadline in %v", d)
	}
	// Use within sessionExtendEvery does not write.
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/routes", cookies: ck})
	if !expires().Equal(first) {
		t.Fatal("the session was extended too soon")
	}
	// Later use moves the idle deadline.
	e.advance(time.Hour)
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/routes", cookies: ck})
	if got := expires(); got.Sub(first) < 59*time.Minute {
		t.Fatalf("idle deadline moved by %v, want about an hour", got.Sub(first))
	}
	// Never past the absolute end.
	e.advance(sessionAbsolute - 2*time.Hour)
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/routes", cookies: ck})
	s, err := e.store.Sessions().Find(context.Background(), digest)
	if err != nil {
		t.Fatal(err)
	}
	if end := s.Created.Add(sessionAbsolute); !s.Expires.Equal(end) {
		t.Fatalf("expires %v, want the absolute end %v", s.Expires, end)
	}
}

func TestLoginBackoff(t *testing.T) {
	e := newEnv(t, envOptions{})
	pw := e.addUser("ann")
	bad := req{method: "POST", path: "/api/v1/login", noAuth: true, body: map[string]any{"username": "ann", "password": "guess"}}
	good := req{method: "POST", path: "/api/v1/login", noAuth: true, body: map[string]any{"username": "ann", "password": pw}}
	for range userFreeFailures + 1 {
		e.must(http.StatusUnauthorized, bad)
	}
	// Locked out: even the right password is not checked.
	rep := e.must(http.StatusTooManyRequests, good)
	if rep.header.Get("Retry-After") != "1" || rep.code(t) != "rate_limited" {
		t.Fatalf("Retry-After %q, %s", rep.header.Get("Retry-After"), rep.body)
	}
	e.advance(1100 * time.Millisecond)
	e.must(http.StatusUnauthorized, bad)
	rep = e.must(http.StatusTooManyRequests, good)
	if n, _ := strconv.Atoi(rep.header.Get("Retry-After")); n != 2 {
		t.Fatalf("Retry-After %q after the 7th failure, want 2", rep.header.Get("Retry-After"))
	}
	e.advance(2100 * time.Millisecond)
	e.login("ann", pw)
	// Success forgets the user's failures.
	e.must(http.StatusUnauthorized, bad)
	e.login("ann", pw)

	t.Run("per address", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.addUser("ann")
		for i := range ipFreeFailures + 1 {
			e.must(http.StatusUnauthorized, req{method: "POST", path: "/api/v1/login", noAuth: true,
				body: map[string]any{"username": "user" + strconv.Itoa(i), "password": "guess"}})
		}
		e.must(http.StatusTooManyRequests, req{method: "POST", path: "/api/v1/login", noAuth: true,
			body: map[string]any{"username": "someone-else", "password": "guess"}})
	})
}

func TestBackoffForgetsAndBounds(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	b := newBackoff(func() time.Time { return now })
	for range userFreeFailures + 30 {
		b.fail("u", "ip")
	}
	if w := b.wait("u", "other"); w != maxLockout {
		t.Fatalf("lockout %v after many failures, want the cap %v", w, maxLockout)
	}
	now = now.Add(maxLockout + failureWindow + time.Second)
	if w := b.wait("u", "ip"); w > 0 {
		t.Fatalf("still locked after the window: %v", w)
	}
	if n := b.fail("u", "ip"); n != 1 {
		t.Fatalf("failures were not forgotten: %d", n)
	}
	for i := range maxTracked + 10 {
		b.fail("spray"+strconv.Itoa(i), "ip")
	}
	if len(b.m) > maxTracked {
		t.Fatalf("%d keys tracked, bound %d", len(b.m), maxTracked)
	}
}

func TestAPITokens(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("admin")
	rep := e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/tokens", body: map[string]any{"name": "ci deploy", "expires_in": "720h"}})
	tok := rep.json(t)
	token, id := str(tok["token"]), str(tok["id"])
	if !strings.HasPrefix(token, apiTokenPrefix) || len(token) < 40 || tok["user"] != "admin" || tok["expires_at"] == nil {
		t.Fatalf("token answer %v", tok)
	}
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/status", auth: token})
	// A token acts as its user: it may create, and the audit log says who.
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers", auth: token, body: map[string]any{"name": "via-token"}})
	if !strings.Contains(e.logs.String(), "by=admin via=api_token") {
		t.Fatalf("audit log:\n%s", e.logs.String())
	}
	list := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/tokens"})
	if bytes.Contains(list.body, []byte(token)) || !bytes.Contains(list.body, []byte(`"last_used_at":"`)) {
		t.Fatalf("list: %s", list.body)
	}
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/tokens/" + id})
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/status", auth: token})
	e.must(http.StatusNotFound, req{method: "DELETE", path: "/api/v1/tokens/" + id})

	// An expired token is refused.
	e.advance(-2 * time.Hour)
	old := e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/tokens", body: map[string]any{"name": "short", "expires_in": "1h"}}).json(t)
	e.advance(2 * time.Hour)
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/status", auth: str(old["token"])})

	for _, c := range []struct {
		body map[string]any
		path string
	}{
		{map[string]any{"name": ""}, "name"},
		{map[string]any{"name": "x", "expires_in": "-1h"}, "expires_in"},
		{map[string]any{"name": "x", "expires_in": 3600}, "expires_in"},
		{map[string]any{"name": "x", "user": "ghost"}, "user"},
	} {
		rep := e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/tokens", body: c.body})
		if ps := rep.problems(t); len(ps) == 0 || ps[0].Path != c.path {
			t.Fatalf("%v: problems %+v", c.body, ps)
		}
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t, envOptions{})
	annPW := e.addUser("ann")
	rep := e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/users", body: map[string]any{"username": "bob"}})
	bobPW := str(rep.json(t)["password"])
	if len(bobPW) < minPasswordLength {
		t.Fatalf("generated password %q", bobPW)
	}
	e.login("bob", bobPW)
	list := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/users"})
	if bytes.Contains(list.body, []byte(bobPW)) || bytes.Contains(list.body, []byte("argon2")) || list.json(t)["total"] != 2.0 {
		t.Fatalf("list: %s", list.body)
	}
	e.must(http.StatusConflict, req{method: "POST", path: "/api/v1/users", body: map[string]any{"username": "bob"}})
	for _, body := range []map[string]any{{"username": "has space"}, {"username": "carl", "password": "short"}} {
		e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/users", body: body})
	}
	// Nobody deletes themselves.
	sess, csrf := e.login("ann", annPW)
	e.must(http.StatusConflict, req{method: "DELETE", path: "/api/v1/users/ann", cookies: []*http.Cookie{sess}, header: map[string]string{csrfHeader: csrf}})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/users/bob", cookies: []*http.Cookie{sess}, header: map[string]string{csrfHeader: csrf}})
	// The last user stays.
	e.must(http.StatusConflict, req{method: "DELETE", path: "/api/v1/users/ann"})
	e.must(http.StatusNotFound, req{method: "DELETE", path: "/api/v1/users/bob"})
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t, envOptions{})
	pw := e.addUser("ann")
	sess, csrf := e.login("ann", pw)
	other, _ := e.login("ann", pw)
	ck := []*http.Cookie{sess}
	h := map[string]string{csrfHeader: csrf}
	newPW := "a-brand-new-password"
	rep := e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/users/me/password", cookies: ck, header: h,
		body: map[string]any{"old": "wrong", "new": newPW}})
	if ps := rep.problems(t); len(ps) != 1 || ps[0].Path != "old" {
		t.Fatalf("problems %+v", ps)
	}
	rep = e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/users/me/password", cookies: ck, header: h,
		body: map[string]any{"old": pw, "new": "short"}})
	if ps := rep.problems(t); len(ps) != 1 || ps[0].Path != "new" {
		t.Fatalf("problems %+v", ps)
	}
	rep = e.must(http.StatusOK, req{method: "POST", path: "/api/v1/users/me/password", cookies: ck, header: h,
		body: map[string]any{"old": pw, "new": newPW}})
	fresh := cookie(rep, sessionCookie)
	if fresh.Value == "" || fresh.Value == sess.Value || str(rep.json(t)["csrf_token"]) == "" {
		t.Fatalf("no new session after the change: %s", rep.body)
	}
	// Every earlier session ended; the new one works.
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/routes", cookies: ck})
	e.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/routes", cookies: []*http.Cookie{other}})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/routes", cookies: []*http.Cookie{fresh}})
	e.must(http.StatusUnauthorized, req{method: "POST", path: "/api/v1/login", noAuth: true, body: map[string]any{"username": "ann", "password": pw}})
	e.login("ann", newPW)
	// The admin token is no user.
	e.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/users/me/password", body: map[string]any{"old": newPW, "new": pw}})
}

func TestBootstrap(t *testing.T) {
	t.Run("generated password", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		var out bytes.Buffer
		if err := e.api.Bootstrap(context.Background(), &out, ""); err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(out.String(), "admin password: ")
		pw, _, _ := strings.Cut(rest, "\n")
		if !ok || len(pw) < 20 || !strings.Contains(out.String(), "change it") {
			t.Fatalf("output:\n%s", out.String())
		}
		e.login("admin", pw)
		if strings.Contains(e.logs.String(), pw) {
			t.Fatal("the password was logged")
		}
		// A second start creates nothing and prints nothing.
		out.Reset()
		if err := e.api.Bootstrap(context.Background(), &out, ""); err != nil {
			t.Fatal(err)
		}
		users, _ := e.store.Users().List(context.Background())
		if out.Len() != 0 || len(users) != 1 {
			t.Fatalf("second bootstrap printed %q, %d users", out.String(), len(users))
		}
		e.login("admin", pw)
	})
	t.Run("SLUICE_ADMIN_PASSWORD", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		var out bytes.Buffer
		pw := "from-the-environment-1"
		if err := e.api.Bootstrap(context.Background(), &out, pw); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 0 {
			t.Fatalf("printed %q", out.String())
		}
		e.login("admin", pw)
		if strings.Contains(e.logs.String(), pw) {
			t.Fatal("the password was logged")
		}
		if err := e.api.Bootstrap(context.Background(), &out, "another-password-2"); err != nil {
			t.Fatal(err)
		}
		e.login("admin", pw)
	})
	t.Run("existing user", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.addUser("ops")
		var out bytes.Buffer
		if err := e.api.Bootstrap(context.Background(), &out, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Users().Get(context.Background(), "admin"); out.Len() != 0 || err == nil {
			t.Fatalf("bootstrap acted on a store with a user: %q, %v", out.String(), err)
		}
	})
}
