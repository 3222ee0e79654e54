package jwtauth_test

import (
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/gwerr"
	_ "github.com/sluicegw/sluice/internal/plugins/jwtauth"
	_ "github.com/sluicegw/sluice/internal/plugins/keyauth"
	"github.com/sluicegw/sluice/internal/testkit"
)

const hsSecret = "hs-secret-for-tests-0123456789abcdef"

// credentialSigners returns one signer per supported algorithm, keyed by
// the issuer its consumer's credential has.
func credentialSigners(t testing.TB) map[string]signer {
	keys(t)
	return map[string]signer{
		"hs256-app": {jwt.SigningMethodHS256, []byte(hsSecret + "256"), nil},
		"hs384-app": {jwt.SigningMethodHS384, []byte(hsSecret + "384"), nil},
		"hs512-app": {jwt.SigningMethodHS512, []byte(hsSecret + "512"), nil},
		"rs256-app": {jwt.SigningMethodRS256, rsaKey, &rsaKey.PublicKey},
		"rs384-app": {jwt.SigningMethodRS384, rsaKey, &rsaKey.PublicKey},
		"rs512-app": {jwt.SigningMethodRS512, rsaKey, &rsaKey.PublicKey},
		"ps256-app": {jwt.SigningMethodPS256, rsaKey, &rsaKey.PublicKey},
		"es256-app": {jwt.SigningMethodES256, ecKey256, &ecKey256.PublicKey},
		"es384-app": {jwt.SigningMethodES384, ecKey384, &ecKey384.PublicKey},
		"eddsa-app": {jwt.SigningMethodEdDSA, edKey, edKey.Public()},
	}
}

// jwtGateway starts a node whose consumers hold one jwt credential per
// algorithm (consumer name = issuer without "-app") and whose routes are
// extra.
func jwtGateway(t *testing.T, upstream, routes string) *gatewaytest.Gateway {
	t.Helper()
	var cons strings.Builder
	for iss, s := range credentialSigners(t) {
		name := strings.TrimSuffix(iss, "-app")
		cons.WriteString("  - name: " + name + "\n    credentials:\n      - type: jwt\n        issuer: " + iss +
			"\n        algorithm: " + s.method.Alg() + "\n")
		if s.pub == nil {
			cons.WriteString("        secret: \"" + string(s.priv.([]byte)) + "\"\n")
		} else {
			cons.WriteString("        public_key: " + yamlBlock(pubPEM(t, s.pub), "          "))
		}
	}
	cons.WriteString("  - name: keyed\n    credentials: [{ type: key-auth, key: plain-api-key }]\n")
	return gatewaytest.Start(t, `upstreams:
  - name: echo
    targets: [{ url: "`+upstream+`" }]
routes:
`+routes+`consumers:
`+cons.String())
}

func TestAlgorithms(t *testing.T) {
	u := testkit.Start(t, testkit.Echo)
	g := jwtGateway(t, u.URL, `  - name: jwt
    match: { paths: ["/jwt"] }
    upstream: echo
    plugins:
      jwt: {}
`)
	for iss, s := range credentialSigners(t) {
		t.Run(s.method.Alg(), func(t *testing.T) {
			tok := sign(t, s.method, s.priv, nil, claims(iss, time.Hour))
			resp, body := g.Get("/jwt", map[string]string{"Authorization": "Bearer " + tok, "X-Consumer-Name": "spoofed"})
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got := u.LastRequest()
			if c := got.Values("X-Consumer-Name"); len(c) != 1 || c[0] != strings.TrimSuffix(iss, "-app") {
				t.Errorf("upstream X-Consumer-Name = %q", c)
			}
			if a := got.Get("Authorization"); a != "" {
				t.Errorf("token reached the upstream: %q", a)
			}
		})
	}
}

// TestAttacks is the JWT attack table: every token here must be refused
// with the same public 401, and the access log must say why.
func TestAttacks(t *testing.T) {
	u := testkit.Start(t, testkit.Echo)
	g := jwtGateway(t, u.URL, `  - name: jwt
    match: { paths: ["/jwt"] }
    upstream: echo
    plugins:
      jwt: {}
  - name: aud
    match: { paths: ["/aud"] }
    upstream: echo
    plugins:
      jwt: { audience: ["api://orders", "api://billing"], maximum_expiration: 1h }
  - name: both
    match: { paths: ["/both"] }
    upstream: echo
    plugins:
      jwt: { cookie_names: [session] }
      key-auth: {}
`)
	signers := credentialSigners(t)
	hs, rs := signers["hs256-app"], signers["rs256-app"]
	rsPubPEM := []byte(pubPEM(t, rs.pub))
	rsPubDER, _ := x509.MarshalPKIXPublicKey(rs.pub)
	now := time.Now()
	good := claims("hs256-app", time.Hour)
	goodTok := sign(t, hs.method, hs.priv, nil, good)
	parts := strings.Split(goodTok, ".")
	forgedPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"hs256-app","exp":` + strconv.FormatInt(now.Add(time.Hour).Unix(), 10) + `,"admin":true}`))

	cases := []struct {
		name   string
		path   string
		h      http.Header
		want   string // consumer when accepted; "" refused
		reason string
	}{
		// Controls: what the attacks are variations of.
		{name: "control: valid", path: "/jwt", h: bearer(goodTok), want: "hs256"},
		{name: "control: expired within leeway", path: "/jwt", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "exp", now.Add(-10*time.Second).Unix()))), want: "hs256"},
		{name: "control: nbf within leeway", path: "/jwt", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "nbf", now.Add(10*time.Second).Unix()))), want: "hs256"},
		{name: "control: audience", path: "/aud", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "aud", []string{"x", "api://billing"}))), want: "hs256"},
		{name: "control: api key beside jwt", path: "/both", h: bearer("plain-api-key"), want: "keyed"},
		{name: "control: jwt beside api key", path: "/both", h: bearer(goodTok), want: "hs256"},

		{name: "alg none", path: "/jwt", h: bearer(unsigned(t, nil, good)), reason: `token algorithm "none"`},
		{name: "alg none for an RSA issuer", path: "/jwt", h: bearer(unsigned(t, nil, claims("rs256-app", time.Hour))), reason: `token algorithm "none"`},
		{name: "alg NONE spelled otherwise", path: "/jwt", h: bearer(rawToken(`{"alg":"None","typ":"JWT"}`, `{"iss":"hs256-app"}`, nil)), reason: "unsupported or missing alg"},
		{name: "no alg", path: "/jwt", h: bearer(rawToken(`{"typ":"JWT"}`, `{"iss":"hs256-app"}`, []byte("x"))), reason: "unsupported or missing alg"},
		{name: "confusion: HS256 with the RSA public key PEM as secret", path: "/jwt", h: bearer(sign(t, jwt.SigningMethodHS256, rsPubPEM, nil, claims("rs256-app", time.Hour))), reason: `"HS256" is not the credential's RS256`},
		{name: "confusion: HS256 with the RSA public key DER as secret", path: "/jwt", h: bearer(sign(t, jwt.SigningMethodHS256, rsPubDER, nil, claims("rs256-app", time.Hour))), reason: `"HS256" is not the credential's RS256`},
		{name: "other HMAC strength with the right secret", path: "/jwt", h: bearer(sign(t, jwt.SigningMethodHS512, hs.priv, nil, good)), reason: `"HS512" is not the credential's HS256`},
		{name: "RS256 token for a PS256 issuer", path: "/jwt", h: bearer(sign(t, jwt.SigningMethodRS256, rsaKey, nil, claims("ps256-app", time.Hour))), reason: "not the credential's PS256"},
		{name: "expired", path: "/jwt", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "exp", now.Add(-time.Hour).Unix()))), reason: "token expired (iss hs256-app)"},
		{name: "expired beyond leeway", path: "/jwt", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "exp", now.Add(-45*time.Second).Unix()))), reason: "token expired"},
		{name: "no exp", path: "/jwt", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "exp", nil))), reason: "required claim is missing: exp"},
		{name: "exp not a number", path: "/jwt", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "exp", "tomorrow"))), reason: "invalid claims"},
		{name: "future nbf", path: "/jwt", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "nbf", now.Add(time.Hour).Unix()))), reason: "not valid yet"},
		{name: "wrong aud", path: "/aud", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "aud", "api://other"))), reason: "audience not accepted"},
		{name: "no aud where one is required", path: "/aud", h: bearer(goodTok), reason: "required claim is missing: aud"},
		{name: "exp too far ahead", path: "/aud", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "aud", "api://orders", "exp", now.Add(3*time.Hour).Unix()))), reason: "maximum_expiration"},
		{name: "unknown iss", path: "/jwt", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "iss", "evil-app"))), reason: "no credential for the token's issuer"},
		{name: "no iss", path: "/jwt", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "iss", nil))), reason: "no credential for the token's issuer"},
		{name: "iss not a string", path: "/jwt", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "iss", 7))), reason: "no credential"},
		{name: "bad signature: other secret", path: "/jwt", h: bearer(sign(t, hs.method, []byte("guessed"), nil, good)), reason: "invalid signature"},
		{name: "bad signature: other RSA key", path: "/jwt", h: bearer(sign(t, rs.method, rsaKey2, nil, claims("rs256-app", time.Hour))), reason: "invalid signature"},
		{name: "bad signature: payload swapped", path: "/jwt", h: bearer(parts[0] + "." + forgedPayload + "." + parts[2]), reason: "invalid signature"},
		{name: "signature stripped", path: "/jwt", h: bearer(parts[0] + "." + parts[1] + "."), reason: "invalid signature"},
		{name: "huge token", path: "/jwt", h: bearer(sign(t, hs.method, hs.priv, nil, with(good, "pad", strings.Repeat("A", 9000)))), reason: "larger than max_token_size"},
		{name: "huge opaque bearer", path: "/jwt", h: bearer(strings.Repeat("A", 9000)), reason: "larger than max_token_size"},
		{name: "malformed segments", path: "/jwt", h: bearer("a.b.c"), reason: "malformed token"},
		{name: "empty segments", path: "/jwt", h: bearer(".."), reason: "malformed token"},
		{name: "header not JSON", path: "/jwt", h: bearer(base64.RawURLEncoding.EncodeToString([]byte("{oops")) + "." + parts[1] + "." + parts[2]), reason: "malformed token"},
		{name: "padded segments", path: "/jwt", h: bearer(parts[0] + "==." + parts[1] + "." + parts[2]), reason: "malformed token"},
		{name: "four segments", path: "/jwt", h: bearer(goodTok + ".x")},
		{name: "two segments", path: "/jwt", h: bearer(parts[0] + "." + parts[1])},
		{name: "empty bearer", path: "/jwt", h: http.Header{"Authorization": {"Bearer"}}, reason: "malformed Authorization"},
		{name: "two authorization fields", path: "/jwt", h: http.Header{"Authorization": {"Bearer " + goodTok, "Bearer " + goodTok}}, reason: "several Authorization"},
		{name: "two different tokens", path: "/both", h: http.Header{"Authorization": {"Bearer " + goodTok}, "Cookie": {"session=" + sign(t, hs.method, hs.priv, nil, with(good, "sub", "x"))}}, reason: "two different tokens"},
		{name: "empty cookie", path: "/both", h: http.Header{"Cookie": {"session="}}, reason: "empty token"},
		{name: "opaque cookie", path: "/both", h: http.Header{"Cookie": {"session=abc"}}, reason: "malformed token"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "jwt-attack-" + strconv.Itoa(i)
			before := u.Hits()
			h := tc.h.Clone()
			h.Set("X-Request-Id", id)
			resp, body := send(t, g, tc.path, h)
			if tc.want != "" {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s (log: %v)", resp.StatusCode, body, g.LogFor(id)["error"])
				}
				if c := u.LastRequest().Get("X-Consumer-Name"); c != tc.want {
					t.Errorf("consumer %q, want %q", c, tc.want)
				}
				return
			}
			p := gatewaytest.CheckProblem(t, resp, body, 401, "unauthorized")
			if p.Detail != gwerr.Unauthorized.Detail() {
				t.Errorf("public detail %q hints at the reason", p.Detail)
			}
			if u.Hits() != before {
				t.Errorf("a refused token reached the upstream")
			}
			if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `Bearer realm="sluice"`) {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Values("WWW-Authenticate"))
			}
			if tc.reason != "" {
				if got, _ := g.LogFor(id)["error"].(string); !strings.Contains(got, tc.reason) {
					t.Errorf("access log error = %q, want it to contain %q", got, tc.reason)
				}
			}
		})
	}
}

// TestTokenSources: the token is read from the bearer field, cookies and
// query parameters, and removed from each upstream unless configured
// otherwise.
func TestTokenSources(t *testing.T) {
	u := testkit.Start(t, testkit.Echo)
	g := jwtGateway(t, u.URL, `  - name: hidden
    match: { paths: ["/hidden"] }
    upstream: echo
    plugins:
      jwt: { cookie_names: [jwt, session], query_names: [access_token] }
  - name: visible
    match: { paths: ["/visible"] }
    upstream: echo
    plugins:
      jwt: { cookie_names: [jwt], query_names: [access_token], hide_credentials: false }
`)
	s := credentialSigners(t)["es256-app"]
	tok := sign(t, s.method, s.priv, map[string]any{"kid": "ignored-for-credentials"}, claims("es256-app", time.Hour))
	cases := []struct {
		name, target string
		h            http.Header
		wantCookie   string
		wantQuery    string
		wantAuthz    string
	}{
		{name: "bearer", target: "/hidden?x=1", h: bearer(tok), wantQuery: "x=1"},
		{name: "cookie among others", target: "/hidden", h: http.Header{"Cookie": {"a=1; jwt=" + tok + "; b=2"}}, wantCookie: "a=1; b=2"},
		{name: "quoted cookie", target: "/hidden", h: http.Header{"Cookie": {`jwt="` + tok + `"`}}},
		{name: "same token in two cookies", target: "/hidden", h: http.Header{"Cookie": {"jwt=" + tok, "session=" + tok + "; c=3"}}, wantCookie: "c=3"},
		{name: "query", target: "/hidden?a=1&access_token=" + tok + "&b=2", wantQuery: "a=1&b=2"},
		{name: "same token everywhere", target: "/hidden?access_token=" + tok, h: http.Header{"Authorization": {"Bearer " + tok}, "Cookie": {"jwt=" + tok}}},
		{name: "visible", target: "/visible?access_token=" + tok, h: http.Header{"Authorization": {"Bearer " + tok}, "Cookie": {"jwt=" + tok}},
			wantCookie: "jwt=" + tok, wantQuery: "access_token=" + tok, wantAuthz: "Bearer " + tok},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := send(t, g, tc.target, tc.h)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got := u.LastRequest()
			if c := got.Get("X-Consumer-Name"); c != "es256" {
				t.Errorf("consumer %q", c)
			}
			if c := strings.Join(got.Values("Cookie"), " | "); c != tc.wantCookie {
				t.Errorf("upstream Cookie = %q, want %q", c, tc.wantCookie)
			}
			if q := got.RawQuery(); q != tc.wantQuery {
				t.Errorf("upstream query = %q, want %q", q, tc.wantQuery)
			}
			if a := got.Get("Authorization"); a != tc.wantAuthz {
				t.Errorf("upstream Authorization = %q, want %q", a, tc.wantAuthz)
			}
		})
	}
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// send makes one request with possibly repeated header fields.
func send(t *testing.T, g *gatewaytest.Gateway, target string, h http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", g.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := g.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp, []byte(buf.String())
}
