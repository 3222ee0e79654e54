package admin

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/secret"
	"github.com/sluicegw/sluice/internal/store"
)

// minPasswordLength is the fewest characters a password set through the
// API may have.
const minPasswordLength = 12

// passwordParams are the argon2id parameters of new password hashes;
// tests lower them.
var passwordParams = secret.DefaultPasswordParams

// hashPassword hashes a password with passwordParams.
func hashPassword(password string) (string, error) {
	return secret.HashPasswordWith(password, passwordParams)
}

type loginBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// login answers POST /api/v1/login: it checks the password (argon2id)
// and starts a new console session, ending the one the client presented
// (the session id is rotated at every login). After repeated failures for
// a user name or a client address it answers 429 with Retry-After without
// checking the password.
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var b loginBody
	if err := decodeBody(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	var ps []problem
	if b.Username == "" {
		ps = append(ps, newProblem("username", "required"))
	}
	if b.Password == "" {
		ps = append(ps, newProblem("password", "required"))
	}
	if len(ps) > 0 {
		a.fail(w, r, invalid(ps, "Send a username and a password."))
		return
	}
	ip := clientIP(r)
	if wait := a.logins.wait(b.Username, ip); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		a.fail(w, r, gwerr.Newf(gwerr.RateLimited, nil, "Too many failed logins; retry in %d seconds.", secs))
		return
	}
	ok, user, err := a.checkPassword(r, b.Username, b.Password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !ok {
		n := a.logins.fail(b.Username, ip)
		a.log.Warn("admin: login failed", "user", short(b.Username), "client_ip", ip, "failures", n, "request_id", requestID(ctx))
		a.fail(w, r, unauthorized("Wrong username or password."))
		return
	}
	a.logins.succeed(b.Username)
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if err := a.store.Sessions().Delete(ctx, a.keys.Digest(ck.Value)); err != nil && !errors.Is(err, store.ErrNotFound) {
			a.log.Warn("admin: ending the session presented at login", "error", err)
		}
	}
	if _, err := a.store.Sessions().DeleteExpired(ctx, a.now()); err != nil {
		a.log.Warn("admin: removing expired sessions", "error", err)
	}
	csrf, expires, err := a.newSession(w, r, user.Username)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.store.Users().RecordLogin(ctx, user.Username, a.now()); err != nil {
		a.log.Warn("admin: recording a login", "user", user.Username, "error", err)
	}
	a.rehash(r, user, b.Password)
	a.log.Info("admin: login", "user", user.Username, "client_ip", ip, "request_id", requestID(ctx))
	writeJSON(w, http.StatusOK, map[string]any{
		"user": user.Username, "csrf_token": csrf, "csrf_header": csrfHeader,
		"expires_at": expires.UTC().Format(time.RFC3339),
	})
}

// checkPassword reports whether password is the user's. For an unknown
// user it verifies against a dummy hash all the same, so the answer takes
// as long and does not tell which user names exist.
func (a *API) checkPassword(r *http.Request, username, password string) (bool, store.User, error) {
	u, err := a.store.Users().Get(r.Context(), username)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, u, a.storeError(r.Context(), err, "the user")
	}
	hash := u.PasswordHash
	if !known {
		a.dummyOnce.Do(func() { a.dummyHash, _ = hashPassword(randomSecret(16)) })
		hash = a.dummyHash
	}
	ok, err := secret.VerifyPassword(hash, password)
	if err != nil {
		a.log.Error("admin: a stored password hash is unreadable", "user", username, "error", err)
		return false, u, nil
	}
	return ok && known, u, nil
}

// rehash replaces a user's password hash made with other parameters than
// the current ones, now that the password is known to be right.
func (a *API) rehash(r *http.Request, u store.User, password string) {
	if !secret.NeedsRehash(u.PasswordHash, passwordParams) {
		return
	}
	hash, err := hashPassword(password)
	if err == nil {
		err = a.store.Users().SetPassword(r.Context(), u.Username, hash)
	}
	if err != nil {
		a.log.Warn("admin: upgrading a password hash", "user", u.Username, "error", err)
	}
}

// logout answers POST /api/v1/logout: it ends the caller's console
// session and clears its cookies. For a bearer token it does nothing.
func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	c := callerFrom(r.Context())
	if c.session != nil {
		if err := a.store.Sessions().Delete(r.Context(), c.session.IDDigest); err != nil && !errors.Is(err, store.ErrNotFound) {
			a.fail(w, r, a.storeError(r.Context(), err, "the session"))
			return
		}
		a.log.Info("admin: logout", "user", c.user, "request_id", requestID(r.Context()))
	}
	clearSessionCookies(w, r)
	w.WriteHeader(http.StatusNoContent)
}

type passwordBody struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// changePassword answers POST /api/v1/users/me/password {old, new}. It
// ends every session of the user; a session caller gets a new one (new
// cookies and CSRF token in the answer). API tokens stay valid. A wrong
// old password counts as a failed login.
func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerFrom(ctx)
	if c.user == "" {
		a.fail(w, r, errBadRequest("SLUICE_ADMIN_TOKEN belongs to no user; log in as a user to change its password."))
		return
	}
	var b passwordBody
	if err := decodeBody(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	ip := clientIP(r)
	if wait := a.logins.wait(c.user, ip); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		a.fail(w, r, gwerr.Newf(gwerr.RateLimited, nil, "Too many wrong passwords; retry in %d seconds.", secs))
		return
	}
	if ps := checkNewPassword("new", b.New); len(ps) > 0 {
		a.fail(w, r, invalid(ps, "The new password is not acceptable."))
		return
	}
	ok, _, err := a.checkPassword(r, c.user, b.Old)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !ok {
		n := a.logins.fail(c.user, ip)
		a.log.Warn("admin: password change with a wrong old password", "user", c.user, "client_ip", ip, "failures", n)
		a.fail(w, r, invalid([]problem{newProblem("old", "is not the current password")}, "The old password is wrong."))
		return
	}
	hash, err := hashPassword(b.New)
	if err != nil {
		a.fail(w, r, gwerr.New(gwerr.Internal, err))
		return
	}
	if err := a.store.Users().SetPassword(ctx, c.user, hash); err != nil {
		a.fail(w, r, a.storeError(ctx, err, "the user"))
		return
	}
	if _, err := a.store.Sessions().DeleteUser(ctx, c.user); err != nil {
		a.log.Error("admin: ending the sessions of a user whose password changed", "user", c.user, "error", err)
	}
	a.audit(r, "password changed")
	body := map[string]any{"user": c.user}
	if c.via == viaSession {
		csrf, expires, err := a.newSession(w, r, c.user)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		body["csrf_token"], body["expires_at"] = csrf, expires.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, body)
}

// checkNewPassword checks a password about to be set, at path in the body.
func checkNewPassword(path, pw string) []problem {
	if n := len([]rune(pw)); n < minPasswordLength {
		return []problem{newProblem(path, "must have at least %d characters, got %d", minPasswordLength, n)}
	}
	return nil
}

// short cuts a user name sent by a client for the log, so a long one (or
// a password typed in the wrong field) does not flood it.
func short(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "…"
	}
	return s
}

// clientIP returns the address of the peer. The admin listener is meant
// for loopback or a private network: X-Forwarded-For is not believed.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Login back-off. Each failed login counts against the user name and
// against the client address; past a number of free failures, each further
// one locks that key out for twice as long as the one before, from one
// second up to maxLockout. Failures are forgotten failureWindow after the
// last one. Counts live in memory, per node.
const (
	userFreeFailures = 5
	// ipFreeFailures is higher: several people may share an address.
	ipFreeFailures = 20
	failureWindow  = 15 * time.Minute
	maxLockout     = 15 * time.Minute
	// maxTracked bounds the keys remembered, so a flood of made-up user
	// names cannot exhaust memory.
	maxTracked = 10000
)

type backoff struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*failures
}

type failures struct {
	n     int
	last  time.Time
	until time.Time
}

func newBackoff(now func() time.Time) *backoff {
	return &backoff{now: now, m: map[string]*failures{}}
}

// wait returns how long logins for user or from ip are locked out; 0
// when they are not.
func (b *backoff) wait(user, ip string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	var d time.Duration
	for _, k := range []string{"user:" + user, "ip:" + ip} {
		if f := b.m[k]; f != nil {
			d = max(d, f.until.Sub(now))
		}
	}
	return d
}

// fail records a failed login and returns the user name's failure count.
func (b *backoff) fail(user, ip string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.record("ip:"+ip, ipFreeFailures, now)
	return b.record("user:"+user, userFreeFailures, now)
}

func (b *backoff) record(key string, free int, now time.Time) int {
	f := b.m[key]
	if f != nil && now.Sub(f.last) > failureWindow && !now.Before(f.until) {
		f = nil // forgotten
	}
	if f == nil {
		if len(b.m) >= maxTracked {
			b.prune(now)
		}
		f = &failures{}
		b.m[key] = f
	}
	f.n++
	f.last = now
	if over := f.n - free; over > 0 {
		lock := maxLockout
		if over <= 20 {
			lock = min(time.Second<<(over-1), maxLockout)
		}
		f.until = now.Add(lock)
	}
	return f.n
}

// succeed forgets the failures of a user name. Those of the address stay:
// a right password for one account must not reset guessing at others.
func (b *backoff) succeed(user string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, "user:"+user)
}

// prune drops forgotten keys and, if that is not enough, arbitrary ones.
func (b *backoff) prune(now time.Time) {
	for k, f := range b.m {
		if now.Sub(f.last) > failureWindow && !now.Before(f.until) {
			delete(b.m, k)
		}
	}
	for k := range b.m {
		if len(b.m) < maxTracked {
			break
		}
		delete(b.m, k)
	}
}
