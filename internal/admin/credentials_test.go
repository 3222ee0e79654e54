package admin

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/secret"
)

// TestCredentials checks each credential type: the secret is answered
// once at creation (generated when left out), masked or absent ever
// after, and stored so the gateway can find and check it.
func TestCredentials(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers", body: map[string]any{"name": "alice"}})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers", body: map[string]any{"name": "bob"}})
	base := "/api/v1/consumers/alice/credentials"
	cases := []struct {
		name string
		body map[string]any
		// secretField is the field answered once; given says the request
		// sent it rather than having it generated.
		secretField string
		given       string
		prefix      string
	}{
		{"key-auth generated", map[string]any{"type": "key-auth"}, "key", "", keyAuthPrefix},
		{"key-auth given", map[string]any{"type": "key-auth", "key": "alice-chosen-key-0123456789"}, "key", "alice-chosen-key-0123456789", ""},
		{"basic-auth given", map[string]any{"type": "basic-auth", "username": "alice", "password": "alice-password-0123456789"}, "password", "alice-password-0123456789", ""},
		{"basic-auth generated", map[string]any{"type": "basic-auth", "username": "alice2"}, "password", "", ""},
		{"jwt HS generated", map[string]any{"type": "jwt", "issuer": "alice-app", "algorithm": "HS256"}, "secret", "", ""},
		{"jwt public key", map[string]any{"type": "jwt", "issuer": "alice-rs", "algorithm": "RS256", "public_key": "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"}, "", "", ""},
	}
	var secrets []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := e.must(http.StatusCreated, req{method: "POST", path: base, body: c.body})
			got := rep.json(t)
			id, _ := got["id"].(string)
			if id == "" || rep.header.Get("Location") != base+"/"+id || got["source"] != "api" {
				t.Fatalf("created %v, Location %q", got, rep.header.Get("Location"))
			}
			if c.secretField == "" {
				if got["key"] != nil || got["password"] != nil || got["secret"] != nil {
					t.Fatalf("a public-key credential answered a secret: %v", got)
				}
			} else {
				s, _ := got[c.secretField].(string)
				switch {
				case c.given != "" && s != c.given:
					t.Fatalf("%s = %q, want the one sent", c.secretField, s)
				case c.given == "" && len(s) < 24:
					t.Fatalf("generated %s %q is too short", c.secretField, s)
				case !strings.HasPrefix(s, c.prefix):
					t.Fatalf("generated %s %q lacks prefix %q", c.secretField, s, c.prefix)
				}
				secrets = append(secrets, s)
				// Never again: not in the credential, not in the list.
				for _, p := range []string{base + "/" + id, base} {
					body := e.must(http.StatusOK, req{method: "GET", path: p}).body
					if bytes.Contains(body, []byte(s)) {
						t.Fatalf("GET %s shows the secret: %s", p, body)
					}
				}
			}
			// What the gateway reads: the lookup digest finds it.
			sc, err := e.store.Credentials().Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			lookup := map[string]string{"key-auth": str(got["key"]), "basic-auth": str(got["username"]), "jwt": str(got["issuer"])}[sc.Type]
			if !secret.Equal(sc.Lookup, e.api.keys.Digest(lookup)) {
				t.Fatalf("lookup digest is not the digest of %q", lookup)
			}
			switch sc.Type {
			case "key-auth":
				if len(sc.Secret) != 0 || sc.Attrs["key"] != secret.Mask(lookup) {
					t.Fatalf("key-auth stored %q, attrs %v", sc.Secret, sc.Attrs)
				}
			case "basic-auth":
				if !secret.Equal(sc.Secret, e.api.keys.Digest(str(got["password"]))) || sc.Attrs["username"] != lookup {
					t.Fatal("basic-auth secret is not the keyed digest of the password")
				}
			case "jwt":
				if str(got["secret"]) != string(sc.Secret) || sc.Attrs["algorithm"] != c.body["algorithm"] {
					t.Fatalf("jwt stored %q, attrs %v", sc.Secret, sc.Attrs)
				}
			}
		})
	}
	rep := e.must(http.StatusOK, req{method: "GET", path: base})
	if n := rep.json(t)["total"]; n != float64(len(cases)) {
		t.Fatalf("total %v", n)
	}

	t.Run("conflicts", func(t *testing.T) {
		for _, c := range []struct {
			name string
			path string
			body map[string]any
		}{
			{"same key, other consumer", "/api/v1/consumers/bob/credentials", map[string]any{"type": "key-auth", "key": "alice-chosen-key-0123456789"}},
			{"same username", "/api/v1/consumers/bob/credentials", map[string]any{"type": "basic-auth", "username": "alice", "password": "whatever-password-1"}},
			{"same issuer", "/api/v1/consumers/bob/credentials", map[string]any{"type": "jwt", "issuer": "alice-app", "algorithm": "HS256", "secret": "s"}},
			{"key of a file consumer", "/api/v1/consumers/bob/credentials", map[string]any{"type": "key-auth", "key": "file-key-plaintext-0001"}},
			{"username of a file consumer", "/api/v1/consumers/bob/credentials", map[string]any{"type": "basic-auth", "username": "file-user"}},
		} {
			rep := e.must(http.StatusConflict, req{method: "POST", path: c.path, body: c.body})
			if rep.code(t) != "conflict" {
				t.Fatalf("%s: %s", c.name, rep.body)
			}
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, c := range []struct {
			body map[string]any
			path string
		}{
			{map[string]any{"type": "oauth"}, "type"},
			{map[string]any{"type": "basic-auth", "password": "p-0123456789abc"}, "username"},
			{map[string]any{"type": "key-auth", "username": "x"}, "username"},
			{map[string]any{"type": "jwt", "issuer": "i", "algorithm": "RS256"}, "public_key"},
			{map[string]any{"type": "key-auth", "key": "***"}, "key"},
			{map[string]any{"type": "key-auth", "kee": "x"}, "kee"},
		} {
			rep := e.must(http.StatusBadRequest, req{method: "POST", path: base, body: c.body})
			if ps := rep.problems(t); len(ps) == 0 || ps[0].Path != c.path {
				t.Fatalf("%v: problems %+v, want one at %q", c.body, ps, c.path)
			}
		}
	})
	t.Run("delete", func(t *testing.T) {
		list := e.must(http.StatusOK, req{method: "GET", path: base}).json(t)["data"].([]any)
		id := list[0].(map[string]any)["id"].(string)
		e.must(http.StatusNotFound, req{method: "DELETE", path: "/api/v1/consumers/bob/credentials/" + id})
		e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/consumers/bob/credentials/" + id})
		e.must(http.StatusNoContent, req{method: "DELETE", path: base + "/" + id})
		e.must(http.StatusNotFound, req{method: "GET", path: base + "/" + id})
		e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/consumers/ghost/credentials"})
		e.must(http.StatusNotFound, req{method: "POST", path: "/api/v1/consumers/ghost/credentials", body: map[string]any{"type": "key-auth"}})
	})

	// No secret is in the database files or the logs.
	db, logs := e.storedBytes(), e.logs.String()
	for _, s := range secrets {
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("secret %s… found in the SQLite files", s[:6])
		}
		if strings.Contains(logs, s) {
			t.Errorf("secret %s… found in the logs", s[:6])
		}
	}
	if !strings.Contains(logs, "credential created") {
		t.Fatalf("the audit log lacks the creations:\n%s", logs)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// TestSecretsNotAtRest puts one secret of every kind through the API and
// then looks for each in the SQLite files and the logs.
func TestSecretsNotAtRest(t *testing.T) {
	e := newEnv(t, envOptions{})
	providerKey := "sk-provider-at-rest-0123456789abcdef"
	headerValue := "header-secret-at-rest-0123456789"
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/ai/providers", body: map[string]any{
		"name": "p", "type": "openai", "api_keys": []string{providerKey}, "headers": map[string]string{"X-Key": headerValue}}})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers", body: map[string]any{"name": "c"}})
	secrets := []string{providerKey, headerValue}
	for _, body := range []map[string]any{
		{"type": "key-auth"},
		{"type": "basic-auth", "username": "c-user"},
		{"type": "jwt", "issuer": "c-app", "algorithm": "HS512"},
	} {
		got := e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/consumers/c/credentials", body: body}).json(t)
		secrets = append(secrets, str(got["key"])+str(got["password"])+str(got["secret"]))
	}
	e.addUser("admin")
	tok := e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/tokens", body: map[string]any{"name": "t"}}).json(t)
	user := e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/users", body: map[string]any{"username": "ops"}}).json(t)
	secrets = append(secrets, str(tok["token"]), str(user["password"]))
	login := e.must(http.StatusOK, req{method: "POST", path: "/api/v1/login", noAuth: true,
		body: map[string]any{"username": "ops", "password": str(user["password"])}})
	secrets = append(secrets, str(login.json(t)["csrf_token"]), cookie(login, sessionCookie).Value)
	// The export holds none either.
	export := string(e.must(http.StatusOK, req{method: "GET", path: "/api/v1/config"}).body)

	db, logs := e.storedBytes(), e.logs.String()
	for i, s := range secrets {
		if len(s) < 16 {
			t.Fatalf("secret %d is %q: the test lost it", i, s)
		}
		for where, hay := range map[string]string{"the SQLite files": string(db), "the logs": logs, "the export": export} {
			if strings.Contains(hay, s) {
				t.Errorf("secret %d (%s…) found in %s", i, s[:4], where)
			}
		}
	}
}
