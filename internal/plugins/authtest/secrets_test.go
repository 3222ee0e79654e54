package authtest_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// TestSecretsNeverLogged drives every auth plugin through successes and
// each kind of failure at debug log level, then checks that neither the
// access log nor the application log holds a configured secret, a
// credential a client sent, or a JWKS URL's query secret.
func TestSecretsNeverLogged(t *testing.T) {
	const (
		apiKey      = "sk-live-KEYSECRET-41b7e2"
		password    = "PASSWORDSECRET-9f3a"
		jwtSecret   = "JWTSECRET-HS256-c4d1e0f9a8b7"
		wrongKey    = "sk-live-WRONGKEY-77aa"
		wrongPass   = "WRONGPASSWORD-1234"
		jwksSecret  = "JWKSQUERYSECRET-5e6f"
		spoofedName = "SPOOFEDCONSUMER"
	)
	u := testkit.Start(t, testkit.Echo)
	deadJWKS := "http://" + testkit.RefusingAddr(t) + "/keys?api_key=" + jwksSecret
	g := gatewaytest.Start(t, `log: { level: debug }
upstreams:
  - name: echo
    targets: [{ url: "`+u.URL+`" }]
routes:
  - name: all
    match: { paths: ["/all"] }
    upstream: echo
    plugins:
      basic-auth: {}
      jwt: { query_names: [token], jwks_url: "`+deadJWKS+`" }
      key-auth: { key_in_query: true }
consumers:
  - name: alice
    credentials:
      - { type: key-auth, key: "`+apiKey+`" }
      - { type: basic-auth, username: alice, password: "`+password+`" }
      - { type: jwt, issuer: alice-app, algorithm: HS256, secret: "`+jwtSecret+`" }
`)
	mk := func(secret, iss string, exp time.Duration) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": iss, "exp": time.Now().Add(exp).Unix()}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	goodJWT, badJWT, expiredJWT, jwksJWT := mk(jwtSecret, "alice-app", time.Hour), mk("guess", "alice-app", time.Hour), mk(jwtSecret, "alice-app", -time.Hour), mk("x", "other-idp", time.Hour)
	requests := []struct {
		target string
		h      http.Header
		status int
	}{
		{"/all", http.Header{"X-Api-Key": {apiKey}}, 200},
		{"/all?x-api-key=" + apiKey, nil, 200},
		{"/all", http.Header{"Authorization": {"Bearer " + apiKey}}, 200},
		{"/all", http.Header{"Authorization": {basic("alice", password)}}, 200},
		{"/all", http.Header{"Authorization": {"Bearer " + goodJWT}}, 200},
		{"/all?token=" + goodJWT, nil, 200},
		{"/all", http.Header{"X-Api-Key": {wrongKey}}, 401},
		{"/all", http.Header{"X-Api-Key": {apiKey, wrongKey}}, 401},
		{"/all?x-api-key=" + wrongKey, http.Header{"X-Api-Key": {apiKey}}, 401},
		{"/all", http.Header{"Authorization": {basic("alice", wrongPass)}}, 401},
		{"/all", http.Header{"Authorization": {basic(wrongPass, password)}}, 401},
		{"/all", http.Header{"Authorization": {"Basic " + wrongPass}}, 401},
		{"/all", http.Header{"Authorization": {"Bearer " + badJWT}}, 401},
		{"/all", http.Header{"Authorization": {"Bearer " + expiredJWT}}, 401},
		{"/all", http.Header{"Authorization": {"Bearer " + jwksJWT}}, 401},
		{"/all", http.Header{"X-Consumer-Name": {spoofedName}}, 401},
	}
	for i, r := range requests {
		req, _ := http.NewRequest("GET", g.URL+r.target, nil)
		for k, v := range r.h {
			req.Header[k] = v
		}
		resp, err := g.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != r.status {
			t.Fatalf("request %d: status %d, want %d", i, resp.StatusCode, r.status)
		}
	}
	logs := g.RawLogs()
	if !strings.Contains(logs, "JWKS fetch failed") {
		t.Fatalf("the JWKS failure was not logged; the check below would prove nothing about it:\n%s", logs)
	}
	if !strings.Contains(logs, "unknown key") || !strings.Contains(logs, "wrong password") || !strings.Contains(logs, "invalid signature") {
		t.Fatalf("the private reasons are missing from the access log:\n%s", logs)
	}
	secrets := map[string]string{
		"API key": apiKey, "password": password, "JWT secret": jwtSecret, "wrong key": wrongKey,
		"wrong password": wrongPass, "JWKS URL secret": jwksSecret, "spoofed consumer": spoofedName,
		"basic credentials": base64.StdEncoding.EncodeToString([]byte("alice:" + password)),
		"token":             goodJWT, "bad token": badJWT, "expired token": expiredJWT,
		"token signature": goodJWT[strings.LastIndexByte(goodJWT, '.')+1:],
	}
	for what, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the %s appears in the logs", what)
		}
	}
}
