package transform

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/plugin"
)

func testCtx(t testing.TB, target string, hdr http.Header, cons string) *plugin.Ctx {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	if hdr == nil {
		hdr = http.Header{}
	}
	c := &plugin.Ctx{
		R:     &http.Request{Method: "GET", URL: u, Header: hdr, Host: "api.example.com"},
		X:     &exchange.Exchange{ClientIP: netip.MustParseAddr("203.0.113.9")},
		Route: "orders",
	}
	if cons != "" {
		c.Consumer = &consumer.Consumer{Name: cons}
	}
	return c
}

func TestTemplateRender(t *testing.T) {
	c := testCtx(t, "http://gw/p?user=b%C3%B6b&plus=a+b&empty=&bad=%zz&dup=1&dup=2",
		http.Header{"X-Tenant": {"acme", "other"}}, "alice")
	cases := []struct {
		name, tpl, want string
	}{
		{"constant", "plain value", "plain value"},
		{"consumer", "$(consumer.name)", "alice"},
		{"route", "route=$(route.name)", "route=orders"},
		{"client ip", "$(client.ip)", "203.0.113.9"},
		{"header first value, name case-insensitive", "$(request.header.x-tenant)", "acme"},
		{"host", "$(request.header.Host)", "api.example.com"},
		{"query unescaped", "$(request.query.user)", "böb"},
		{"query plus is space", "$(request.query.plus)", "a b"},
		{"query empty value", "[$(request.query.empty)]", "[]"},
		{"query malformed escape kept", "$(request.query.bad)", "%zz"},
		{"query first occurrence", "$(request.query.dup)", "1"},
		{"absent header", "[$(request.header.X-None)]", "[]"},
		{"absent query", "[$(request.query.none)]", "[]"},
		{"spaces inside", "$( consumer.name )", "alice"},
		{"escaped dollar paren", "$$(consumer.name)", "$(consumer.name)"},
		{"dollar alone", "cost: $5", "cost: $5"},
		{"mixed", "$(consumer.name)@$(route.name) from $(client.ip)", "alice@orders from 203.0.113.9"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := compile(tc.tpl)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(tpl.render(nil, c)); got != tc.want {
				t.Errorf("render(%q) = %q, want %q", tc.tpl, got, tc.want)
			}
		})
	}
}

func TestTemplateNoConsumer(t *testing.T) {
	tpl, err := compile("$(consumer.name)")
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.render(nil, testCtx(t, "http://gw/", nil, "")); len(got) != 0 {
		t.Errorf("rendered %q without a consumer", got)
	}
}

func TestTemplateCompileErrors(t *testing.T) {
	cases := []struct{ name, tpl, want string }{
		{"unknown variable", "$(consumer.id)", "unknown variable $(consumer.id)"},
		{"unclosed", "x $(consumer.name", "unclosed"},
		{"bad header name", "$(request.header.a b)", "not a header name"},
		{"empty query name", "$(request.query.)", "name is missing"},
		{"empty variable", "$()", "unknown variable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compile(tc.tpl)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("compile(%q) error %v, want one containing %q", tc.tpl, err, tc.want)
			}
		})
	}
}

func TestQueryHelpers(t *testing.T) {
	eq := []struct {
		raw, want string
		match     bool
	}{
		{"a", "a", true},
		{"a%5Fb", "a_b", true},
		{"a+b", "a b", true},
		{"a%2", "a%2", true},
		{"a%41", "a%41", false},
		{"a%41", "aA", true},
		{"ab", "a", false},
		{"a", "ab", false},
		{"%C3%B6", "ö", true},
	}
	for _, tc := range eq {
		if got := equalUnescaped(tc.raw, tc.want); got != tc.match {
			t.Errorf("equalUnescaped(%q, %q) = %v", tc.raw, tc.want, got)
		}
	}
	for _, s := range []string{"a b", "ö&=?/", "~-._", "100%"} {
		if got, want := string(appendQueryEscape(nil, s)), url.QueryEscape(s); got != want {
			t.Errorf("appendQueryEscape(%q) = %q, want %q", s, got, want)
		}
	}
}
