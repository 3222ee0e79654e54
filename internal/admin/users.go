package admin

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/store"
)

// Users and API tokens. There is one role: every user may manage every
// user and token.

// userJSON is a user as answered; the password hash is never shown.
type userJSON struct {
	Username  string  `json:"username"`
	CreatedAt string  `json:"created_at"`
	LastLogin *string `json:"last_login_at"`
	// Password is set only in the answer that created the user with a
	// generated password.
	Password string `json:"password,omitempty"`
}

func showUser(u store.User) userJSON {
	return userJSON{Username: u.Username, CreatedAt: timeJSON(u.Created), LastLogin: optTime(u.LastLogin)}
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	users, err := a.store.Users().List(r.Context())
	if err != nil {
		a.fail(w, r, a.storeError(r.Context(), err, "the users"))
		return
	}
	out := make([]userJSON, len(users))
	for i, u := range users {
		out[i] = showUser(u)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "total": len(out)})
}

type newUserBody struct {
	Username string `json:"username"`
	// Password may be left out: a random one is generated and answered
	// once.
	Password string `json:"password"`
}

// createUser answers POST /api/v1/users {username, password}.
func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var b newUserBody
	if err := decodeBody(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	var ps []problem
	if !validUsername(b.Username) {
		ps = append(ps, newProblem("username", `must be 1 to 64 letters, digits, ".", "_", "-" or "@"`))
	}
	generated := b.Password == ""
	if generated {
		b.Password = randomSecret(18)
	} else {
		ps = append(ps, checkNewPassword("password", b.Password)...)
	}
	if len(ps) > 0 {
		a.fail(w, r, invalid(ps, "The user is not valid."))
		return
	}
	hash, err := hashPassword(b.Password)
	if err != nil {
		a.fail(w, r, gwerr.New(gwerr.Internal, err))
		return
	}
	u, err := a.store.Users().Create(r.Context(), store.User{Username: b.Username, PasswordHash: hash})
	if err != nil {
		a.fail(w, r, a.storeError(r.Context(), err, "the user "+b.Username))
		return
	}
	a.audit(r, "user created", "user", u.Username)
	out := showUser(u)
	if generated {
		out.Password = b.Password
	}
	w.Header().Set("Location", "/api/v1/users/"+url.PathEscape(u.Username))
	writeJSON(w, http.StatusCreated, out)
}

// deleteUser answers DELETE /api/v1/users/{name}; the user's tokens and
// sessions go with it. Callers cannot delete themselves, and the last
// user cannot be deleted.
func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	if name == callerFrom(ctx).user {
		a.fail(w, r, errConflict("You cannot delete the user you are logged in as."))
		return
	}
	users, err := a.store.Users().List(ctx)
	if err != nil {
		a.fail(w, r, a.storeError(ctx, err, "the users"))
		return
	}
	if len(users) == 1 && users[0].Username == name {
		a.fail(w, r, errConflict("%q is the last user; create another before deleting it.", name))
		return
	}
	if err := a.store.Users().Delete(ctx, name); err != nil {
		a.fail(w, r, a.storeError(ctx, err, "the user "+name))
		return
	}
	a.audit(r, "user deleted", "user", name)
	w.WriteHeader(http.StatusNoContent)
}

// validUsername reports whether s is 1 to 64 of [A-Za-z0-9._@-].
func validUsername(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@') {
			return false
		}
	}
	return true
}

// tokenJSON is an API token as answered.
type tokenJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	User      string  `json:"user"`
	CreatedAt string  `json:"created_at"`
	LastUsed  *string `json:"last_used_at"`
	ExpiresAt *string `json:"expires_at"`
	Expired   bool    `json:"expired"`
	// Token is set only in the answer that created it.
	Token string `json:"token,omitempty"`
}

func (a *API) showToken(t store.APIToken) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, User: t.User, CreatedAt: timeJSON(t.Created),
		LastUsed: optTime(t.LastUsed), ExpiresAt: optTime(t.Expires),
		Expired: !t.Expires.IsZero() && !t.Expires.After(a.now())}
}

// listTokens answers GET /api/v1/tokens: every user's tokens, without
// the tokens themselves.
func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	tokens, err := a.store.Tokens().List(r.Context(), "")
	if err != nil {
		a.fail(w, r, a.storeError(r.Context(), err, "the tokens"))
		return
	}
	out := make([]tokenJSON, len(tokens))
	for i, t := range tokens {
		out[i] = a.showToken(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "total": len(out)})
}

type newTokenBody struct {
	Name string `json:"name"`
	// ExpiresIn is the token's lifetime, a Go duration like "720h";
	// absent or "0s" means it does not expire.
	ExpiresIn config.Duration `json:"expires_in"`
	// User is the user the token acts as; default the caller (for
	// SLUICE_ADMIN_TOKEN, "admin").
	User string `json:"user"`
}

// createToken answers POST /api/v1/tokens {name, expires_in, user}. The
// token is in this answer only; the store keeps its digest.
func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var b newTokenBody
	if err := decodeBody(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	var ps []problem
	if b.Name == "" || len(b.Name) > 200 {
		ps = append(ps, newProblem("name", "a label of 1 to 200 characters is required, like \"ci deploy\""))
	}
	if b.ExpiresIn < 0 {
		ps = append(ps, newProblem("expires_in", "must not be negative"))
	}
	if b.User == "" {
		b.User = callerFrom(ctx).user
	}
	if b.User == "" {
		b.User = bootstrapUser
	}
	if len(ps) > 0 {
		a.fail(w, r, invalid(ps, "The token is not valid."))
		return
	}
	token := apiTokenPrefix + randomSecret(32)
	t := store.APIToken{User: b.User, Name: b.Name, Digest: a.keys.Digest(token)}
	if b.ExpiresIn > 0 {
		t.Expires = a.now().Add(b.ExpiresIn.D())
	}
	t, err := a.store.Tokens().Create(ctx, t)
	if errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, invalid([]problem{newProblem("user", "there is no user %q", b.User)}, "The token's user does not exist."))
		return
	}
	if err != nil {
		a.fail(w, r, a.storeError(ctx, err, "the token"))
		return
	}
	a.audit(r, "API token created", "token_id", t.ID, "token_name", t.Name, "token_user", t.User)
	out := a.showToken(t)
	out.Token = token
	w.Header().Set("Location", "/api/v1/tokens/"+url.PathEscape(t.ID))
	writeJSON(w, http.StatusCreated, out)
}

// deleteToken answers DELETE /api/v1/tokens/{id}.
func (a *API) deleteToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := a.store.Tokens().Delete(r.Context(), id); err != nil {
		a.fail(w, r, a.storeError(r.Context(), err, "the token "+id))
		return
	}
	a.audit(r, "API token deleted", "token_id", id)
	w.WriteHeader(http.StatusNoContent)
}

// audit logs a change with who made it. args are slog key-value pairs
// and must hold no secret.
func (a *API) audit(r *http.Request, event string, args ...any) {
	c := callerFrom(r.Context())
	by := c.user
	if c.via == viaAdminToken {
		by = "SLUICE_ADMIN_TOKEN"
	}
	a.log.Info("admin: "+event, append(args, "by", by, "via", c.via, "request_id", requestID(r.Context()))...)
}

// timeJSON formats a time for answers.
func timeJSON(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// optTime formats a time that may be unset (zero): nil then.
func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timeJSON(t)
	return &s
}
