package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/secret"
	"github.com/sluicegw/sluice/internal/store"
)

// Consumer credentials. A credential is stored as a store.Credential:
//
//   - Lookup is the keyed digest (Keyring.Digest) of the value the
//     gateway finds it by: the key of key-auth, the username of
//     basic-auth, the issuer of jwt.
//   - Secret is, for basic-auth, the keyed digest of the password (checked
//     per request in constant time: argon2id is far too slow for every
//     proxied request); for jwt with an HS* algorithm, the HMAC secret,
//     which the store seals; nothing otherwise.
//   - Attrs hold what may be shown: type, the masked key, username,
//     issuer, algorithm, public_key.
//
// The key, password or HMAC secret is answered once, by the POST that
// creates the credential (generated when the request leaves it out), and
// never again.

// keyAuthPrefix starts every generated key-auth key.
const keyAuthPrefix = "sk_"

// credentialJSON is a credential as answered.
type credentialJSON struct {
	ID        string `json:"id"`
	Consumer  string `json:"consumer"`
	Type      string `json:"type"`
	Key       string `json:"key,omitempty"`
	Username  string `json:"username,omitempty"`
	Password  string `json:"password,omitempty"`
	Issuer    string `json:"issuer,omitempty"`
	Algorithm string `json:"algorithm,omitempty"`
	Secret    string `json:"secret,omitempty"`
	PublicKey string `json:"public_key,omitempty"`
	Source    string `json:"source"`
	CreatedAt string `json:"created_at,omitempty"`
}

// showStored renders a stored credential: its key is masked, and it holds
// no password or secret at all.
func showStored(c store.Credential) credentialJSON {
	return credentialJSON{ID: c.ID, Consumer: c.Consumer, Type: c.Type,
		Key: c.Attrs["key"], Username: c.Attrs["username"], Issuer: c.Attrs["issuer"],
		Algorithm: c.Attrs["algorithm"], PublicKey: c.Attrs["public_key"],
		Source: "api", CreatedAt: timeJSON(c.Created)}
}

// showFile renders the i-th credential of a consumer of the config file,
// its secrets masked.
func showFile(consumer string, i int, c config.Credential) credentialJSON {
	out := credentialJSON{ID: fileCredentialID(i), Consumer: consumer, Type: c.Type,
		Key: secret.Mask(c.Key), Username: c.Username, Issuer: c.Issuer, Algorithm: c.Algorithm,
		PublicKey: c.PublicKey, Source: "file"}
	if c.Password != "" {
		out.Password = masked
	}
	if c.Secret != "" {
		out.Secret = masked
	}
	return out
}

// fileCredentialID names the i-th credential of a file consumer.
func fileCredentialID(i int) string { return "file-" + strconv.Itoa(i) }

// listCredentials answers GET /api/v1/consumers/{name}/credentials.
func (a *API) listCredentials(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if fc, ok := fileItem(a, consumerKind, name); ok {
		out := make([]credentialJSON, len(fc.Credentials))
		for i, c := range fc.Credentials {
			out[i] = showFile(name, i, c)
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": out, "total": len(out)})
		return
	}
	ctx := r.Context()
	if _, err := a.store.Consumers().Get(ctx, name); err != nil {
		a.fail(w, r, a.storeError(ctx, err, "consumer "+strconv.Quote(name)))
		return
	}
	creds, err := a.store.Credentials().ListByConsumer(ctx, name)
	if err != nil {
		a.fail(w, r, a.storeError(ctx, err, "the credentials"))
		return
	}
	out := make([]credentialJSON, len(creds))
	for i, c := range creds {
		out[i] = showStored(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "total": len(out)})
}

// getCredential answers GET /api/v1/consumers/{name}/credentials/{id}.
func (a *API) getCredential(w http.ResponseWriter, r *http.Request) {
	name, id := r.PathValue("name"), r.PathValue("id")
	if fc, ok := fileItem(a, consumerKind, name); ok {
		for i, c := range fc.Credentials {
			if fileCredentialID(i) == id {
				writeJSON(w, http.StatusOK, showFile(name, i, c))
				return
			}
		}
		a.fail(w, r, errNotFound("Consumer %q has no credential %q.", name, id))
		return
	}
	c, err := a.consumerCredential(r.Context(), name, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, showStored(c))
}

// consumerCredential returns the stored credential id of consumer name.
func (a *API) consumerCredential(ctx context.Context, name, id string) (store.Credential, error) {
	c, err := a.store.Credentials().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.Consumer != name {
		return c, errNotFound("Consumer %q has no credential %q.", name, id)
	}
	if err != nil {
		return c, a.storeError(ctx, err, "the credential")
	}
	return c, nil
}

// deleteCredential answers DELETE /api/v1/consumers/{name}/credentials/{id}.
func (a *API) deleteCredential(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, id := r.PathValue("name"), r.PathValue("id")
	if a.cfg.FileOwned(KindConsumers, name) {
		a.fail(w, r, errReadOnly("consumer", name))
		return
	}
	c, err := a.consumerCredential(ctx, name, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.store.Credentials().Delete(ctx, id); err != nil {
		a.fail(w, r, a.storeError(ctx, err, "the credential"))
		return
	}
	a.audit(r, "credential deleted", "consumer", name, "credential_id", id, "type", c.Type)
	w.WriteHeader(http.StatusNoContent)
}

// createCredential answers POST /api/v1/consumers/{name}/credentials with
// a config.Credential body. A key-auth key, basic-auth password or HS*
// secret left out is generated. The answer holds the secret; nothing
// later does.
func (a *API) createCredential(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	if a.cfg.FileOwned(KindConsumers, name) {
		a.fail(w, r, errReadOnly("consumer", name))
		return
	}
	var cr config.Credential
	if err := decodeBody(w, r, &cr); err != nil {
		a.fail(w, r, err)
		return
	}
	generateSecrets(&cr)
	if ps := maskedSecrets(cr, ""); len(ps) > 0 {
		a.fail(w, r, invalid(ps, "The credential is not valid."))
		return
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	cons, err := a.store.Consumers().Get(ctx, name)
	if err != nil {
		a.fail(w, r, a.storeError(ctx, err, "consumer "+strconv.Quote(name)))
		return
	}
	res, err := a.check(ctx, func(c *config.Config) string {
		v := cons.Value
		v.Credentials = []config.Credential{cr}
		return upsert(consumerKind, c, v) + ".credentials[0]"
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if owner := a.credentialOwner(ctx, cr); owner != "" {
		a.fail(w, r, errConflict("This %s is already used by consumer %q.", lookupWhat(cr), owner))
		return
	}
	if len(res.problems) > 0 {
		ps := bodyProblems(consumerKind, res)
		a.fail(w, r, invalid(ps, "The credential is not valid: %s.", countProblems(len(ps))))
		return
	}
	sc, err := a.store.Credentials().Create(ctx, a.toStored(name, cr))
	if errors.Is(err, store.ErrConflict) {
		a.fail(w, r, errConflict("This %s is already used.", lookupWhat(cr)))
		return
	}
	if err != nil {
		a.fail(w, r, a.storeError(ctx, err, "the credential"))
		return
	}
	a.audit(r, "credential created", "consumer", name, "credential_id", sc.ID, "type", sc.Type)
	out := showStored(sc)
	out.Key, out.Password, out.Secret = cr.Key, cr.Password, cr.Secret
	w.Header().Set("Location", "/api/v1/consumers/"+url.PathEscape(name)+"/credentials/"+url.PathEscape(sc.ID))
	writeJSON(w, http.StatusCreated, out)
}

// generateSecrets fills in a secret the credential's type needs and the
// request left out.
func generateSecrets(cr *config.Credential) {
	switch {
	case cr.Type == "key-auth" && cr.Key == "":
		cr.Key = keyAuthPrefix + randomSecret(32)
	case cr.Type == "basic-auth" && cr.Password == "":
		cr.Password = randomSecret(18)
	case cr.Type == "jwt" && strings.HasPrefix(cr.Algorithm, "HS") && cr.Secret == "":
		cr.Secret = randomSecret(32)
	}
}

// maskedSecrets reports secrets of cr that are masked values (at path, the
// credential's path in the body): a masked value is no secret.
func maskedSecrets(cr config.Credential, path string) []problem {
	var ps []problem
	for _, f := range []struct{ name, value string }{{"key", cr.Key}, {"password", cr.Password}, {"secret", cr.Secret}} {
		if isMasked(f.value) {
			ps = append(ps, newProblem(config.JoinKey(path, f.name), "is a masked value; send the secret itself, or leave it out to have one generated"))
		}
	}
	return ps
}

// lookupWhat names what identifies a credential of cr's type.
func lookupWhat(cr config.Credential) string {
	switch cr.Type {
	case "basic-auth":
		return "basic-auth username"
	case "jwt":
		return "jwt issuer"
	}
	return "key-auth key"
}

// lookupValue returns the value a credential is found by.
func lookupValue(cr config.Credential) string {
	switch cr.Type {
	case "basic-auth":
		return cr.Username
	case "jwt":
		return cr.Issuer
	}
	return cr.Key
}

// credentialOwner returns the consumer that already holds cr's lookup
// value, in the config file or in the store, or "".
func (a *API) credentialOwner(ctx context.Context, cr config.Credential) string {
	want := lookupValue(cr)
	if want == "" {
		return ""
	}
	for _, c := range a.cfg.Current().Consumers {
		if !a.cfg.FileOwned(KindConsumers, c.Name) {
			continue
		}
		for _, fc := range c.Credentials {
			if fc.Type == cr.Type && secret.Equal([]byte(lookupValue(fc)), []byte(want)) {
				return c.Name
			}
		}
	}
	if sc, err := a.store.Credentials().FindByDigest(ctx, cr.Type, a.keys.Digest(want)); err == nil {
		return sc.Consumer
	}
	return ""
}

// toStored turns a credential into what the store keeps.
func (a *API) toStored(consumer string, cr config.Credential) store.Credential {
	sc := store.Credential{Consumer: consumer, Type: cr.Type,
		Lookup: a.keys.Digest(lookupValue(cr)), Attrs: map[string]string{"type": cr.Type}}
	switch cr.Type {
	case "key-auth":
		sc.Attrs["key"] = secret.Mask(cr.Key)
	case "basic-auth":
		sc.Attrs["username"] = cr.Username
		sc.Secret = a.keys.Digest(cr.Password)
	case "jwt":
		sc.Attrs["issuer"], sc.Attrs["algorithm"] = cr.Issuer, cr.Algorithm
		if cr.PublicKey != "" {
			sc.Attrs["public_key"] = cr.PublicKey
		}
		if cr.Secret != "" {
			sc.Secret = []byte(cr.Secret)
		}
	}
	return sc
}
