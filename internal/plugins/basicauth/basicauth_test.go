package basicauth_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/plugin"
	_ "github.com/sluicegw/sluice/internal/plugins/basicauth"
	"github.com/sluicegw/sluice/internal/testkit"
)

const (
	alicePassword = "correct horse battery staple"
	bobPassword   = "pa:ss:wo:rd" // colons after the first belong to the password
)

func basic(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

func TestBasicAuth(t *testing.T) {
	u := testkit.Start(t, testkit.Echo)
	g := gatewaytest.Start(t, `upstreams:
  - name: echo
    targets: [{ url: "`+u.URL+`" }]
routes:
  - name: hidden
    match: { paths: ["/hidden"] }
    upstream: echo
    plugins:
      basic-auth: {}
  - name: visible
    match: { paths: ["/visible"] }
    upstream: echo
    plugins:
      basic-auth: { hide_credentials: false }
consumers:
  - name: alice
    credentials:
      - { type: basic-auth, username: alice, password: "`+alicePassword+`" }
  - name: bob
    credentials:
      - { type: basic-auth, username: "bob@example.com", password: "`+bobPassword+`" }
`)
	cases := []struct {
		name   string
		path   string
		authz  []string
		want   string // consumer; "" means 401
		reason string
	}{
		{"alice", "/hidden", []string{basic("alice:" + alicePassword)}, "alice", ""},
		{"password with colons", "/hidden", []string{basic("bob@example.com:" + bobPassword)}, "bob", ""},
		{"scheme case-insensitive", "/hidden", []string{"bAsIc " + base64.StdEncoding.EncodeToString([]byte("alice:"+alicePassword))}, "alice", ""},
		{"visible", "/visible", []string{basic("alice:" + alicePassword)}, "alice", ""},

		{"no credentials", "/hidden", nil, "", ""},
		{"bearer is not basic", "/hidden", []string{"Bearer abc"}, "", ""},
		{"wrong password", "/hidden", []string{basic("alice:" + alicePassword + "x")}, "", "unknown username or wrong password"},
		{"password of another user", "/hidden", []string{basic("alice:" + bobPassword)}, "", "unknown username or wrong password"},
		{"unknown user", "/hidden", []string{basic("mallory:" + alicePassword)}, "", "unknown username or wrong password"},
		{"username case matters", "/hidden", []string{basic("Alice:" + alicePassword)}, "", "unknown username or wrong password"},
		{"empty password", "/hidden", []string{basic("alice:")}, "", "unknown username or wrong password"},
		{"malformed base64", "/hidden", []string{"Basic !!!notbase64"}, "", "not valid base64"},
		{"unpadded base64", "/hidden", []string{"Basic " + strings.TrimRight(base64.StdEncoding.EncodeToString([]byte("alice:x")), "=")}, "", "not valid base64"},
		{"url-safe alphabet", "/hidden", []string{"Basic " + base64.URLEncoding.EncodeToString([]byte("alice:??>>??>>"))}, "", "not valid base64"},
		{"no colon", "/hidden", []string{basic("alice")}, "", "no \":\""},
		{"empty username", "/hidden", []string{basic(":" + alicePassword)}, "", "empty username"},
		{"nothing after scheme", "/hidden", []string{"Basic"}, "", "malformed"},
		{"two tokens", "/hidden", []string{basic("alice:a") + " extra"}, "", "malformed"},
		{"blank field", "/hidden", []string{""}, "", "malformed"},
		{"two fields", "/hidden", []string{basic("alice:" + alicePassword), basic("alice:" + alicePassword)}, "", "several Authorization"},
		{"too long", "/hidden", []string{basic("alice:" + strings.Repeat("p", 2000))}, "", "longer than 1 KiB"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "basic-case-" + strconv.Itoa(i)
			before := u.Hits()
			req, _ := http.NewRequest("GET", g.URL+tc.path, nil)
			req.Header["Authorization"] = tc.authz
			req.Header.Set("X-Request-Id", id)
			req.Header.Set("X-Consumer-Name", "spoofed")
			resp, err := g.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.want == "" {
				p := gatewaytest.CheckProblem(t, resp, body, 401, "unauthorized")
				if p.Detail != gwerr.Unauthorized.Detail() {
					t.Errorf("public detail %q", p.Detail)
				}
				if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="sluice", charset="UTF-8"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				if u.Hits() != before {
					t.Errorf("a refused request reached the upstream")
				}
				if tc.reason != "" {
					if got, _ := g.LogFor(id)["error"].(string); !strings.Contains(got, tc.reason) {
						t.Errorf("access log error = %q, want %q", got, tc.reason)
					}
				}
				return
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got := u.LastRequest()
			if c := got.Values("X-Consumer-Name"); len(c) != 1 || c[0] != tc.want {
				t.Errorf("upstream X-Consumer-Name = %q, want %s", c, tc.want)
			}
			visible := tc.path == "/visible"
			if a := got.Get("Authorization"); (a != "") != visible {
				t.Errorf("upstream Authorization = %q (hide_credentials %v)", a, !visible)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	ix, _ := consumer.Build(nil)
	env := plugin.Env{Consumers: ix}
	cases := []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"defaults", nil, ""},
		{"hide false", map[string]any{"hide_credentials": false}, ""},
		{"unknown key", map[string]any{"realm": "x"}, `unknown key "realm"`},
		{"wrong type", map[string]any{"hide_credentials": "no"}, "hide_credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := plugin.Build("basic-auth", tc.cfg, env)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// BenchmarkAuthenticate measures one basic-auth decision.
func BenchmarkAuthenticate(b *testing.B) {
	ix, err := consumer.Build([]config.Consumer{{Name: "alice", Credentials: []config.Credential{{Type: "basic-auth", Username: "alice", Password: alicePassword}}}})
	if err != nil {
		b.Fatal(err)
	}
	inst, _, err := plugin.Build("basic-auth", nil, plugin.Env{Consumers: ix})
	if err != nil {
		b.Fatal(err)
	}
	a := inst.(plugin.Authenticator)
	r, _ := http.NewRequest("GET", "http://x/", nil)
	c := &plugin.Ctx{R: r}
	vals := []string{basic("alice:" + alicePassword)}
	b.ReportAllocs()
	for b.Loop() {
		r.Header["Authorization"] = vals
		if cons, _, err := a.Authenticate(c); err != nil || cons == nil {
			b.Fatal(err)
		}
	}
}
