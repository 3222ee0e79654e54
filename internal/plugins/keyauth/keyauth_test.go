package keyauth_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/gwerr"
	_ "github.com/sluicegw/sluice/internal/plugins/keyauth"
	"github.com/sluicegw/sluice/internal/testkit"
)

const (
	aliceKey = "alice-key-0123456789abcdef"
	bobKey   = "bob-key-fedcba9876543210"
)

// gatewayYAML is a node with three key-auth routes over one echo upstream.
func gatewayYAML(upstream string) string {
	return `upstreams:
  - name: echo
    targets: [{ url: "` + upstream + `" }]
routes:
  - name: default
    match: { paths: ["/default"] }
    upstream: echo
    plugins:
      key-auth: {}
  - name: custom
    match: { paths: ["/custom"] }
    upstream: echo
    plugins:
      key-auth: { key_names: [apikey, X-Token], key_in_query: true, key_in_bearer: false }
  - name: visible
    match: { paths: ["/visible"] }
    upstream: echo
    plugins:
      key-auth: { hide_credentials: false, key_in_query: true }
consumers:
  - name: alice
    groups: [gold]
    credentials:
      - { type: key-auth, key: "` + aliceKey + `" }
  - name: bob
    credentials:
      - { type: key-auth, key: "` + bobKey + `" }
`
}

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
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestKeyAuth(t *testing.T) {
	u := testkit.Start(t, testkit.Echo)
	g := gatewaytest.Start(t, gatewayYAML(u.URL))

	cases := []struct {
		name   string
		target string
		h      http.Header
		want   string // consumer; "" means a 401
		reason string // substring of the access log's private reason
		// upstream checks for accepted requests
		wantQuery   string
		keptHeaders []string // header fields that must still reach the upstream
	}{
		{name: "bearer", target: "/default", h: http.Header{"Authorization": {"Bearer " + aliceKey}}, want: "alice"},
		{name: "bearer scheme case-insensitive", target: "/default", h: http.Header{"Authorization": {"bEaReR " + bobKey}}, want: "bob"},
		{name: "x-api-key", target: "/default", h: http.Header{"X-Api-Key": {aliceKey}}, want: "alice"},
		{name: "same key in two places", target: "/default", h: http.Header{"X-Api-Key": {aliceKey}, "Authorization": {"Bearer " + aliceKey}}, want: "alice"},
		{name: "same key twice in one header", target: "/default", h: http.Header{"X-Api-Key": {aliceKey, aliceKey}}, want: "alice"},
		{name: "other scheme left alone", target: "/default", h: http.Header{"X-Api-Key": {bobKey}, "Authorization": {"Basic Zm9vOmJhcg=="}}, want: "bob", keptHeaders: []string{"Authorization"}},
		{name: "custom header", target: "/custom", h: http.Header{"X-Token": {bobKey}}, want: "bob"},
		{name: "custom query", target: "/custom?a=1&apikey=" + aliceKey + "&b=%20x", want: "alice", wantQuery: "a=1&b=%20x"},
		{name: "escaped query name", target: "/custom?api%6Bey=" + aliceKey, want: "alice", wantQuery: ""},
		{name: "spoofed consumer replaced", target: "/default", h: http.Header{"X-Api-Key": {bobKey}, "X-Consumer-Name": {"alice"}}, want: "bob"},
		{name: "hide_credentials false", target: "/visible?x-api-key=" + aliceKey, h: http.Header{"Authorization": {"Bearer " + aliceKey}}, want: "alice",
			wantQuery: "x-api-key=" + aliceKey, keptHeaders: []string{"Authorization"}},

		{name: "no key", target: "/default", reason: ""},
		{name: "unknown key", target: "/default", h: http.Header{"X-Api-Key": {"nope"}}, reason: "unknown key"},
		{name: "key of another case", target: "/default", h: http.Header{"X-Api-Key": {strings.ToUpper(aliceKey)}}, reason: "unknown key"},
		{name: "empty header", target: "/default", h: http.Header{"X-Api-Key": {""}}, reason: "empty key"},
		{name: "empty bearer", target: "/default", h: http.Header{"Authorization": {"Bearer "}}, reason: "malformed"},
		{name: "blank authorization", target: "/default", h: http.Header{"Authorization": {" "}, "X-Api-Key": {aliceKey}}, reason: "malformed"},
		{name: "two keys in two headers", target: "/default", h: http.Header{"X-Api-Key": {aliceKey}, "Authorization": {"Bearer " + bobKey}}, reason: "two different keys"},
		{name: "two keys in duplicate headers", target: "/default", h: http.Header{"X-Api-Key": {aliceKey, bobKey}}, reason: "two different keys"},
		{name: "valid then empty duplicate", target: "/default", h: http.Header{"X-Api-Key": {aliceKey, ""}}, reason: "empty key"},
		{name: "list-combined header", target: "/default", h: http.Header{"X-Api-Key": {aliceKey + ", " + bobKey}}, reason: "list separator"},
		{name: "two authorization fields", target: "/default", h: http.Header{"Authorization": {"Bearer " + aliceKey, "Bearer " + aliceKey}}, reason: "several Authorization"},
		{name: "bearer with two tokens", target: "/default", h: http.Header{"Authorization": {"Bearer " + aliceKey + " " + bobKey}}, reason: "malformed"},
		{name: "header and query disagree", target: "/custom?apikey=" + bobKey, h: http.Header{"Apikey": {aliceKey}}, reason: "two different keys"},
		{name: "query twice, different", target: "/custom?apikey=" + bobKey + "&apikey=" + aliceKey, reason: "two different keys"},
		{name: "empty query key", target: "/custom?apikey=", reason: "empty key"},
		{name: "query not read by default", target: "/default?x-api-key=" + aliceKey, reason: ""},
		{name: "bearer disabled", target: "/custom", h: http.Header{"Authorization": {"Bearer " + aliceKey}}, reason: ""},
		{name: "undecodable query value", target: "/custom?apikey=%zz", reason: "does not decode"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := u.Hits()
			id := "key-auth-case-" + strconv.Itoa(i)
			h := tc.h.Clone()
			if h == nil {
				h = http.Header{}
			}
			h.Set("X-Request-Id", id)
			resp, body := send(t, g, tc.target, h)
			if tc.want == "" {
				p := gatewaytest.CheckProblem(t, resp, body, 401, "unauthorized")
				if p.Detail != gwerr.Unauthorized.Detail() {
					t.Errorf("public detail %q hints at the reason", p.Detail)
				}
				if got := resp.Header.Get("WWW-Authenticate"); got != `Key realm="sluice"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				if u.Hits() != before {
					t.Errorf("a refused request reached the upstream")
				}
				if tc.reason != "" {
					if got, _ := g.LogFor(id)["error"].(string); !strings.Contains(got, tc.reason) {
						t.Errorf("access log error = %q, want it to contain %q", got, tc.reason)
					}
				}
				return
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got := u.LastRequest()
			if c := got.Values("X-Consumer-Name"); len(c) != 1 || c[0] != tc.want {
				t.Errorf("upstream X-Consumer-Name = %q, want [%s]", c, tc.want)
			}
			if c := g.LogFor(id)["consumer"]; c != tc.want {
				t.Errorf("access log consumer = %v", c)
			}
			if got.RawQuery() != tc.wantQuery {
				t.Errorf("upstream query = %q, want %q", got.RawQuery(), tc.wantQuery)
			}
			for _, f := range got.Headers {
				if (strings.Contains(f.Value, aliceKey) || strings.Contains(f.Value, bobKey)) && !contains(tc.keptHeaders, http.CanonicalHeaderKey(f.Name)) {
					t.Errorf("credential reached the upstream in %s", f.Name)
				}
			}
			for _, k := range tc.keptHeaders {
				if got.Get(k) == "" {
					t.Errorf("%s was removed", k)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
