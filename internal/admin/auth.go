package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/secret"
	"github.com/sluicegw/sluice/internal/store"
)

// Console sessions.
const (
	// sessionCookie holds the session id: HttpOnly, SameSite=Strict,
	// Secure when the request came over TLS.
	sessionCookie = "sluice_session"
	// csrfCookie holds the session's CSRF token where the console's
	// script can read it (double submit); the token is also in the body
	// of the login answer.
	csrfCookie = "sluice_csrf"
	// csrfHeader must carry the CSRF token on every state-changing
	// request a session makes.
	csrfHeader = "X-CSRF-Token"
	// sessionIdle ends a session unused for this long.
	sessionIdle = 12 * time.Hour
	// sessionAbsolute ends a session this long after login, used or not.
	sessionAbsolute = 7 * 24 * time.Hour
	// sessionExtendEvery bounds how often use of a session moves its idle
	// deadline, which costs a write.
	sessionExtendEvery = 5 * time.Minute
	// tokenTouchEvery bounds how often use of an API token is recorded.
	tokenTouchEvery = time.Minute
	// apiTokenPrefix starts every API token, so secret scanners and people
	// can tell one apart.
	apiTokenPrefix = "slt_"
)

// How a caller authenticated.
const (
	viaAdminToken = "admin_token"
	viaAPIToken   = "api_token"
	viaSession    = "session"
)

type callerKey struct{}

// caller is who makes an authenticated request.
type caller struct {
	// user is the admin user; "" for the SLUICE_ADMIN_TOKEN, which is
	// no user.
	user string
	// via is how the caller authenticated: viaAdminToken, viaAPIToken or
	// viaSession.
	via string
	// session is the console session, for via == viaSession.
	session *store.Session
}

// callerFrom returns the caller wrap authenticated.
func callerFrom(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	if c == nil {
		return &caller{}
	}
	return c
}

// authenticate finds the caller of r: a bearer token when the request
// has an Authorization header, else a session cookie, whose
// state-changing requests must carry the CSRF token.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (*caller, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			return nil, unauthorized("The Authorization header must be Bearer TOKEN.")
		}
		return a.bearer(r.Context(), token)
	}
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		return a.sessionCaller(w, r, ck.Value)
	}
	return nil, unauthorized("The admin API needs a bearer token (SLUICE_ADMIN_TOKEN or an API token) or a console session.")
}

func unauthorized(detail string) error {
	return gwerr.Newf(gwerr.Unauthorized, nil, "%s", detail)
}

// bearer authenticates a bearer token: SLUICE_ADMIN_TOKEN, compared in
// constant time, or an API token, found by its digest.
func (a *API) bearer(ctx context.Context, token string) (*caller, error) {
	if a.adminToken != nil && subtle.ConstantTimeCompare([]byte(token), a.adminToken) == 1 {
		return &caller{via: viaAdminToken}, nil
	}
	t, err := a.store.Tokens().FindByDigest(ctx, a.keys.Digest(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, unauthorized("The bearer token is not valid or has expired.")
	}
	if err != nil {
		return nil, a.storeError(ctx, err, "the token")
	}
	if now := a.now(); now.Sub(t.LastUsed) >= tokenTouchEvery {
		if err := a.store.Tokens().Touch(ctx, t.ID, now); err != nil {
			a.log.Warn("admin: recording the use of an API token", "token_id", t.ID, "error", err)
		}
	}
	return &caller{user: t.User, via: viaAPIToken}, nil
}

// sessionCaller authenticates a session cookie, checks the CSRF token of
// state-changing requests, and moves the session's idle deadline.
func (a *API) sessionCaller(w http.ResponseWriter, r *http.Request, value string) (*caller, error) {
	ctx := r.Context()
	s, err := a.store.Sessions().Find(ctx, a.keys.Digest(value))
	if errors.Is(err, store.ErrNotFound) {
		clearSessionCookies(w, r)
		return nil, unauthorized("The console session has ended; log in again.")
	}
	if err != nil {
		return nil, a.storeError(ctx, err, "the session")
	}
	if !safeMethod(r.Method) {
		got := r.Header.Get(csrfHeader)
		if got == "" || !secret.Equal(a.keys.Digest(got), s.CSRFDigest) {
			return nil, gwerr.Newf(gwerr.Forbidden, nil,
				"A console session must send its CSRF token in the %s header on %s requests.", csrfHeader, r.Method)
		}
	}
	a.extendSession(ctx, &s)
	return &caller{user: s.User, via: viaSession, session: &s}, nil
}

// safeMethod reports whether a request with method changes nothing.
func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// extendSession moves the idle deadline of a session in use, at most
// every sessionExtendEvery and never past its absolute end. The store has
// no update for sessions, so the row is replaced in one transaction. A
// failure only shortens the session, so it is logged and ignored.
func (a *API) extendSession(ctx context.Context, s *store.Session) {
	now := a.now()
	expires := now.Add(sessionIdle)
	if end := s.Created.Add(sessionAbsolute); end.Before(expires) {
		expires = end
	}
	if !expires.After(s.Expires.Add(sessionExtendEvery)) {
		return
	}
	next := *s
	next.Expires = expires
	err := a.store.Tx(ctx, func(tx store.Tx) error {
		if err := tx.Sessions().Delete(ctx, s.IDDigest); err != nil {
			return err
		}
		_, err := tx.Sessions().Create(ctx, next)
		return err
	})
	if err != nil {
		a.log.Warn("admin: extending a console session", "user", s.User, "error", err)
		return
	}
	*s = next
}

// newSession starts a console session for user: it stores the digests of
// a new session id and CSRF token, sets both cookies, and returns the CSRF
// token and when the session ends at the latest.
func (a *API) newSession(w http.ResponseWriter, r *http.Request, user string) (string, time.Time, error) {
	id, csrf := randomSecret(32), randomSecret(32)
	now := a.now()
	s := store.Session{
		IDDigest: a.keys.Digest(id), User: user, CSRFDigest: a.keys.Digest(csrf),
		Created: now, Expires: now.Add(sessionIdle),
	}
	if _, err := a.store.Sessions().Create(r.Context(), s); err != nil {
		return "", time.Time{}, a.storeError(r.Context(), err, "the session")
	}
	maxAge := int(sessionAbsolute / time.Second)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: csrf, Path: "/", MaxAge: maxAge,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return csrf, now.Add(sessionAbsolute), nil
}

// clearSessionCookies tells the browser to drop both session cookies.
func clearSessionCookies(w http.ResponseWriter, r *http.Request) {
	for _, name := range []string{sessionCookie, csrfCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: name == sessionCookie, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	}
}

// randomSecret returns n random bytes in unpadded base64url.
func randomSecret(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
