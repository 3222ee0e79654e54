package jwtauth_test

import (
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// jwksServer serves JWKS documents by path, counts fetches per path, and
// lets a test rotate keys or fail a path.
type jwksServer struct {
	*httptest.Server
	mu     sync.Mutex
	docs   map[string][]byte
	status map[string]int
	hits   map[string]int
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{docs: map[string][]byte{}, status: map[string]int{}, hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		doc, status := s.docs[r.URL.Path], s.status[r.URL.Path]
		s.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(path string, doc []byte, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path], s.status[path] = doc, status
}

func (s *jwksServer) fetches(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func TestJWKS(t *testing.T) {
	keys(t)
	js := newJWKSServer(t)
	u := testkit.Start(t, testkit.Echo)
	ec1 := jwkOf(t, &ecKey256.PublicKey, "ec-1", "")
	ed2 := jwkOf(t, edKey.Public(), "ed-2", "EdDSA")
	rs3 := jwkOf(t, &rsaKey.PublicKey, "rs-3", "RS256")
	js.set("/rotate", jwksDoc(t, ec1), 0)
	js.set("/limited", jwksDoc(t, ec1), 0)
	js.set("/refresh", jwksDoc(t, ec1), 0)
	js.set("/down", nil, 500)
	js.set("/idp", jwksDoc(t, rs3, jwkOf(t, &rsaKey2.PublicKey, "rs-other", "")), 0)
	route := func(name, settings string) string {
		return "  - name: " + name + "\n    match: { paths: [\"/" + name + "\"] }\n    upstream: echo\n    plugins:\n      jwt: { jwks_url: \"" + js.URL + "/" + name + "\"" + settings + " }\n"
	}
	g := gatewaytest.Start(t, `upstreams:
  - name: echo
    targets: [{ url: "`+u.URL+`" }]
routes:
`+route("rotate", ", jwks_min_refetch_interval: 1ms")+
		route("limited", ", jwks_min_refetch_interval: 1h, jwks_refresh_interval: 1h")+
		route("refresh", ", jwks_min_refetch_interval: 1ms, jwks_refresh_interval: 200ms")+
		route("down", ", jwks_min_refetch_interval: 1h, jwks_refresh_interval: 1h")+
		route("idp", ", jwks_issuer: \"https://idp.example\", consumer_claim: email, jwks_algorithms: [RS256, ES256], audience: [orders]")+`
consumers:
  - name: alice
  - name: bob
  - name: "carol.example.com"
  - name: hs
    credentials: [{ type: jwt, issuer: hs-app, algorithm: HS256, secret: "`+hsSecret+`" }]
`)
	ecTok := func(kid string, c jwt.MapClaims) string {
		return sign(t, jwt.SigningMethodES256, ecKey256, map[string]any{"kid": kid}, c)
	}
	edTok := func(kid string, c jwt.MapClaims) string {
		return sign(t, jwt.SigningMethodEdDSA, edKey, map[string]any{"kid": kid}, c)
	}
	sub := func(name string) jwt.MapClaims {
		c := claims("https://idp.example", time.Hour)
		c["sub"] = name
		return c
	}
	type step struct {
		name    string
		path    string
		token   string
		rotate  []byte // when set, the path's JWKS is replaced first
		want    string // consumer; "" refused
		reason  string
		fetches int // fetches of the path's JWKS after the step
	}
	run := func(t *testing.T, steps []step) {
		for i, st := range steps {
			// Let the 1ms minimum refetch interval of /rotate pass, so
			// whether a step refetches never depends on machine speed.
			time.Sleep(3 * time.Millisecond)
			if st.rotate != nil {
				js.set(st.path, st.rotate, 0)
			}
			id := "jwks-" + strings.TrimPrefix(st.path, "/") + "-" + strconv.Itoa(i)
			resp, body := g.Get(st.path, map[string]string{"Authorization": "Bearer " + st.token, "X-Request-Id": id})
			if st.want != "" {
				if resp.StatusCode != 200 {
					t.Fatalf("%s: status %d: %s (log: %v)", st.name, resp.StatusCode, body, g.LogFor(id)["error"])
				}
				if c := u.LastRequest().Get("X-Consumer-Name"); c != st.want {
					t.Errorf("%s: consumer %q, want %q", st.name, c, st.want)
				}
			} else {
				gatewaytest.CheckProblem(t, resp, body, 401, "unauthorized")
				if got, _ := g.LogFor(id)["error"].(string); !strings.Contains(got, st.reason) {
					t.Errorf("%s: access log error = %q, want %q", st.name, got, st.reason)
				}
			}
			if n := js.fetches(st.path); n != st.fetches {
				t.Errorf("%s: %d JWKS fetches, want %d", st.name, n, st.fetches)
			}
		}
	}

	t.Run("rotation", func(t *testing.T) {
		run(t, []step{
			{name: "first use fetches", path: "/rotate", token: ecTok("ec-1", sub("alice")), want: "alice", fetches: 1},
			{name: "cached", path: "/rotate", token: ecTok("ec-1", sub("bob")), want: "bob", fetches: 1},
			{name: "no kid, one key", path: "/rotate", token: ecTok("", sub("alice")), want: "alice", fetches: 1},
			{name: "claim names no consumer", path: "/rotate", token: ecTok("ec-1", sub("nobody")), reason: "sub claim names no consumer", fetches: 1},
			{name: "no sub", path: "/rotate", token: ecTok("ec-1", claims("x", time.Hour)), reason: "sub claim names no consumer", fetches: 1},
			{name: "expired", path: "/rotate", token: ecTok("ec-1", with(sub("alice"), "exp", time.Now().Add(-time.Hour).Unix())), reason: "token expired (JWKS)", fetches: 1},
			{name: "unknown kid refetches: rotated in", path: "/rotate", rotate: jwksDoc(t, ed2), token: edTok("ed-2", sub("bob")), want: "bob", fetches: 2},
			{name: "rotated out", path: "/rotate", token: ecTok("ec-1", sub("alice")), reason: "no JWKS key has the token's kid", fetches: 3},
			{name: "confusion: HS256 keyed with the JWK's public bytes", path: "/rotate", token: sign(t, jwt.SigningMethodHS256, []byte(edKey.Public().(ed25519.PublicKey)), map[string]any{"kid": "ed-2"}, sub("bob")), reason: `"HS256" is not allowed for JWKS key "ed-2"`, fetches: 3},
			{name: "alg none", path: "/rotate", token: unsigned(t, map[string]any{"kid": "ed-2"}, sub("bob")), reason: `"none" is not allowed`, fetches: 3},
			{name: "signed by another key under the kid", path: "/rotate", token: sign(t, jwt.SigningMethodEdDSA, otherEd(t), map[string]any{"kid": "ed-2"}, sub("bob")), reason: "invalid signature", fetches: 3},
			{name: "embedded jwk and jku are ignored", path: "/rotate", token: embedded(t, "ed-2", sub("bob"), js.URL+"/attacker"), reason: "invalid signature", fetches: 3},
			{name: "crit header", path: "/rotate", token: sign(t, jwt.SigningMethodEdDSA, edKey, map[string]any{"kid": "ed-2", "crit": []string{"exp"}}, sub("bob")), reason: "crit header", fetches: 3},
			{name: "configured issuer still wins", path: "/rotate", token: sign(t, jwt.SigningMethodHS256, []byte(hsSecret), nil, claims("hs-app", time.Hour)), want: "hs", fetches: 3},
		})
	})
	if n := js.fetches("/attacker"); n != 0 {
		t.Errorf("the token's jku was fetched %d times", n)
	}
	t.Run("refetch is rate-limited", func(t *testing.T) {
		steps := []step{{name: "first use fetches", path: "/limited", token: ecTok("ec-1", sub("alice")), want: "alice", fetches: 1}}
		for i := range 5 {
			steps = append(steps, step{name: "made-up kid " + strconv.Itoa(i), path: "/limited", token: ecTok("kid-"+strconv.Itoa(i), sub("alice")), reason: "no JWKS key has the token's kid", fetches: 1})
		}
		steps = append(steps, step{name: "rotated key waits for the interval", path: "/limited", rotate: jwksDoc(t, ed2), token: edTok("ed-2", sub("bob")), reason: "kid", fetches: 1})
		run(t, steps)
	})
	t.Run("background refresh", func(t *testing.T) {
		run(t, []step{{name: "first use fetches", path: "/refresh", token: ecTok("ec-1", sub("alice")), want: "alice", fetches: 1}})
		time.Sleep(250 * time.Millisecond)
		js.set("/refresh", jwksDoc(t, ed2), 0)
		// Stale keys still serve while the refresh runs behind.
		resp, body := g.Get("/refresh", map[string]string{"Authorization": "Bearer " + ecTok("ec-1", sub("alice"))})
		if resp.StatusCode != 200 {
			t.Fatalf("stale keys refused: %d %s", resp.StatusCode, body)
		}
		deadline := time.Now().Add(5 * time.Second)
		for js.fetches("/refresh") < 2 {
			if time.Now().After(deadline) {
				t.Fatal("keys were not refreshed in the background")
			}
			time.Sleep(10 * time.Millisecond)
		}
		waitFor(t, func() bool {
			resp, _ := g.Get("/refresh", map[string]string{"Authorization": "Bearer " + ecTok("ec-1", sub("alice"))})
			return resp.StatusCode == 401
		})
	})
	t.Run("unreachable", func(t *testing.T) {
		run(t, []step{
			{name: "fetch fails", path: "/down", token: ecTok("ec-1", sub("alice")), reason: "JWKS keys are unavailable", fetches: 1},
			{name: "no refetch storm", path: "/down", token: ecTok("ec-1", sub("alice")), reason: "JWKS keys are unavailable", fetches: 1},
		})
		if logs := g.RawLogs(); !strings.Contains(logs, "JWKS fetch failed") || !strings.Contains(logs, "status 500") {
			t.Errorf("the failed fetch is not in the application log")
		}
	})
	t.Run("issuer, audience, claim and algorithms", func(t *testing.T) {
		idp := func(kid string, m jwt.SigningMethod, c jwt.MapClaims, kv ...any) string {
			c["aud"] = "orders"
			return sign(t, m, rsaKey, map[string]any{"kid": kid}, with(c, kv...))
		}
		c := claims("https://idp.example", time.Hour)
		run(t, []step{
			{name: "accepted", path: "/idp", token: idp("rs-3", jwt.SigningMethodRS256, c, "email", "carol.example.com"), want: "carol.example.com", fetches: 1},
			{name: "other issuer", path: "/idp", token: idp("rs-3", jwt.SigningMethodRS256, c, "email", "carol.example.com", "iss", "https://evil.example"), reason: "issuer not accepted", fetches: 1},
			{name: "no issuer", path: "/idp", token: idp("rs-3", jwt.SigningMethodRS256, c, "email", "carol.example.com", "iss", nil), reason: "required claim is missing: iss", fetches: 1},
			{name: "wrong audience", path: "/idp", token: idp("rs-3", jwt.SigningMethodRS256, c, "email", "carol.example.com", "aud", "billing"), reason: "audience not accepted", fetches: 1},
			{name: "key's alg pins RS256", path: "/idp", token: idp("rs-3", jwt.SigningMethodRS512, c, "email", "carol.example.com"), reason: `"RS512" is not allowed`, fetches: 1},
			{name: "PS256 not in jwks_algorithms", path: "/idp", token: sign(t, jwt.SigningMethodPS256, rsaKey2, map[string]any{"kid": "rs-other"}, with(c, "aud", "orders", "email", "carol.example.com")), reason: `"PS256" is not allowed`, fetches: 1},
			{name: "consumer_claim, not sub", path: "/idp", token: idp("rs-3", jwt.SigningMethodRS256, c, "sub", "alice"), reason: "email claim names no consumer", fetches: 1},
			{name: "no kid, several keys", path: "/idp", token: idp("", jwt.SigningMethodRS256, c, "email", "carol.example.com"), reason: "no JWKS key has the token's kid", fetches: 1},
		})
	})
}

// TestJWKSSingleFlight: concurrent first requests share one fetch.
func TestJWKSSingleFlight(t *testing.T) {
	keys(t)
	js := newJWKSServer(t)
	js.set("/keys", jwksDoc(t, jwkOf(t, edKey.Public(), "ed", "")), 0)
	u := testkit.Start(t, testkit.Echo)
	g := gatewaytest.Start(t, `upstreams:
  - name: echo
    targets: [{ url: "`+u.URL+`" }]
routes:
  - name: r
    match: { paths: ["/"] }
    upstream: echo
    plugins:
      jwt: { jwks_url: "`+js.URL+`/keys" }
consumers:
  - name: alice
`)
	tok := sign(t, jwt.SigningMethodEdDSA, edKey, map[string]any{"kid": "ed"}, with(claims("idp", time.Hour), "sub", "alice"))
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", g.URL+"/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := g.Client.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("request %d: status %d", i, c)
		}
	}
	if n := js.fetches("/keys"); n != 1 {
		t.Errorf("%d fetches for 20 concurrent first requests, want 1", n)
	}
}

// embedded signs c with a fresh key and carries that key in the token's
// own jwk header and a jku pointing at jku, under the victim's kid.
func embedded(t *testing.T, kid string, c jwt.MapClaims, jku string) string {
	k := otherEd(t)
	return sign(t, jwt.SigningMethodEdDSA, k, map[string]any{"kid": kid, "jwk": jwkOf(t, k.Public(), kid, "EdDSA"), "jku": jku}, c)
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
