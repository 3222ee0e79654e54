package plugin

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
)

// recorder plugins append their tag to the request's trace header.
type tracer struct {
	tag string
}

func (p tracer) Access(c *Ctx) error {
	c.R.Header.Add("X-Trace", p.tag)
	return nil
}

func (p tracer) Response(c *Ctx, status int, h http.Header) { h.Add("X-Resp", p.tag) }

// fakeAuth accepts "X-User: NAME" for consumers in the index.
type fakeAuth struct{ header string }

func (a fakeAuth) Authenticate(c *Ctx) (*consumer.Consumer, string, error) {
	v := c.R.Header.Get(a.header)
	if v == "" {
		return nil, "", ErrNoCredential
	}
	cons, ok := c.chainConsumers().ByName(v)
	if !ok {
		return nil, "", Unauthorized("unknown user")
	}
	return cons, a.header + ":" + v, nil
}

func (a fakeAuth) Challenge() string { return a.header }

var testIndex *consumer.Index

func (c *Ctx) chainConsumers() *consumer.Index { return testIndex }

func init() {
	for name, phase := range map[string]Phase{
		"test-ip": PhaseIPRules, "test-acl": PhaseACL, "test-limit": PhaseRateLimit, "test-transform": PhaseTransform,
	} {
		Register(Spec{Name: name, Phase: phase, New: func(cfg map[string]any, env Env) (any, error) {
			tag, _ := cfg["tag"].(string)
			if tag == "" {
				return nil, errors.New("tag: required")
			}
			return tracer{tag: tag}, nil
		}})
	}
	for _, h := range []string{"X-User", "X-Other"} {
		Register(Spec{Name: "test-auth-" + strings.ToLower(h), Phase: PhaseAuth, New: func(map[string]any, Env) (any, error) {
			return fakeAuth{header: h}, nil
		}})
	}
}

func build(t *testing.T, name, tag string) any {
	t.Helper()
	inst, _, err := Build(name, map[string]any{"tag": tag}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func newCtx(hdr map[string]string) *Ctx {
	r := httptest.NewRequest("GET", "/", nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	x := &exchange.Exchange{}
	x.Reset()
	return &Ctx{W: httptest.NewRecorder(), R: r, X: x}
}

func TestChainOrderAndConsumerScope(t *testing.T) {
	ix, err := consumer.Build([]config.Consumer{{Name: "alice"}, {Name: "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	testIndex = ix
	alice, _ := ix.ByName("alice")
	// alice has her own limit config, and a transform no route has.
	alice.Plugins = map[string]any{"test-limit": build(t, "test-limit", "alice-limit"), "test-transform": build(t, "test-transform", "alice-transform")}

	auth, _, _ := Build("test-auth-x-user", nil, Env{})
	insts := map[string]any{
		"test-limit":       build(t, "test-limit", "route-limit"),
		"test-acl":         build(t, "test-acl", "acl"),
		"test-ip":          build(t, "test-ip", "ip"),
		"test-auth-x-user": auth,
	}
	ch := NewChain(insts, []string{"test-transform"})

	cases := []struct {
		user string
		want string
	}{
		{"alice", "ip,acl,alice-limit,alice-transform"},
		{"bob", "ip,acl,route-limit"},
	}
	for _, tc := range cases {
		c := newCtx(map[string]string{"X-User": tc.user})
		if err := ch.RunAccess(c); err != nil {
			t.Fatalf("%s: %v", tc.user, err)
		}
		if got := strings.Join(c.R.Header.Values("X-Trace"), ","); got != tc.want {
			t.Errorf("%s: plugins ran as %q, want %q", tc.user, got, tc.want)
		}
		if c.X.Consumer != tc.user || c.Consumer == nil {
			t.Errorf("consumer = %q", c.X.Consumer)
		}
		h := http.Header{}
		c.BeforeResponse(200, h)
		if tc.user == "alice" && strings.Join(h.Values("X-Resp"), ",") != "ip,acl,alice-limit,alice-transform" {
			t.Errorf("alice response hooks: %q", h.Values("X-Resp"))
		}
	}
}

func TestAuthAlternatives(t *testing.T) {
	ix, _ := consumer.Build([]config.Consumer{{Name: "alice"}})
	testIndex = ix
	a1, _, _ := Build("test-auth-x-user", nil, Env{})
	a2, _, _ := Build("test-auth-x-other", nil, Env{})
	ch := NewChain(map[string]any{"test-auth-x-user": a1, "test-auth-x-other": a2}, nil)

	cases := []struct {
		name string
		hdr  map[string]string
		code gwerr.Code
	}{
		{"first kind", map[string]string{"X-User": "alice"}, ""},
		{"second kind", map[string]string{"X-Other": "alice"}, ""},
		{"none", nil, gwerr.Unauthorized},
		{"bad credential stops at once", map[string]string{"X-Other": "mallory", "X-User": "alice"}, gwerr.Unauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtx(tc.hdr)
			err := ch.RunAccess(c)
			if tc.code == "" {
				if err != nil || c.Consumer == nil {
					t.Fatalf("err %v consumer %v", err, c.Consumer)
				}
				return
			}
			var ge *gwerr.Error
			if !errors.As(err, &ge) || ge.Code != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			if got := c.W.Header().Values("WWW-Authenticate"); len(got) != 2 {
				t.Errorf("WWW-Authenticate = %q, want one per auth plugin", got)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	if _, _, err := Build("no-such-plugin", nil, Env{}); err == nil {
		t.Error("unknown plugin built")
	}
	if _, _, err := Build("test-acl", map[string]any{}, Env{}); err == nil || !strings.Contains(err.Error(), "tag: required") {
		t.Errorf("factory error = %v", err)
	}
}

func TestDecode(t *testing.T) {
	type conf struct {
		Limit  int             `json:"limit"`
		Window config.Duration `json:"window"`
	}
	var c conf
	if err := Decode(map[string]any{"limit": 5, "window": "2s"}, &c); err != nil || c.Limit != 5 || c.Window.D().Seconds() != 2 {
		t.Fatalf("%+v %v", c, err)
	}
	if err := Decode(map[string]any{"limt": 5}, &c); err == nil || !strings.Contains(err.Error(), `unknown key "limt"`) {
		t.Errorf("unknown key: %v", err)
	}
	if err := Decode(map[string]any{"limit": "many"}, &c); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("type error: %v", err)
	}
	if err := Decode(map[string]any{"limit": 1, "window": "5"}, &c); err == nil || !strings.HasPrefix(err.Error(), "window: ") {
		t.Errorf("duration error must name the key: %v", err)
	}
}

func TestStateSurvives(t *testing.T) {
	s := NewState()
	n := 0
	mk := func() any { n++; return &n }
	a := s.Get("k", mk)
	b := s.Get("k", mk)
	if a != b || n != 1 {
		t.Fatal("state not reused")
	}
}
