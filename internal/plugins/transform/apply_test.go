package transform

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugin"
)

func newRequest(t testing.TB, cfg map[string]any) *Request {
	t.Helper()
	inst, err := NewRequest(cfg, plugin.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return inst.(*Request)
}

func TestQueryOperations(t *testing.T) {
	cases := []struct {
		name  string
		cfg   map[string]any
		query string
		want  string
	}{
		{"untouched query kept byte for byte", map[string]any{"remove_query": []any{"x"}}, "b=%7e&a=1+2", "b=%7e&a=1+2"},
		{"remove every occurrence", map[string]any{"remove_query": []any{"debug"}}, "a=1&debug=1&b=2&debug", "a=1&b=2"},
		{"remove matches escaped key", map[string]any{"remove_query": []any{"de bug"}}, "de+bug=1&de%20bug=2&a=1", "a=1"},
		{"rename keeps value raw", map[string]any{"rename_query": map[string]any{"q": "query"}}, "q=a%26b&x=1", "query=a%26b&x=1"},
		{"rename replaces existing new name", map[string]any{"rename_query": map[string]any{"q": "query"}}, "query=old&q=new", "query=new"},
		{"rename absent keeps new name", map[string]any{"rename_query": map[string]any{"q": "query"}}, "query=old", "query=old"},
		{"rename escapes new key", map[string]any{"rename_query": map[string]any{"q": "a b"}}, "q=1", "a+b=1"},
		{"set replaces and goes last", map[string]any{"set_query": map[string]any{"v": "2"}}, "v=1&a=1&v=3", "a=1&v=2"},
		{"set on empty query", map[string]any{"set_query": map[string]any{"v": "a&b c"}}, "", "v=a%26b+c"},
		{"add keeps existing", map[string]any{"add_query": map[string]any{"tag": "x"}}, "tag=a", "tag=a&tag=x"},
		{"empty pairs dropped when rewritten", map[string]any{"add_query": map[string]any{"t": "1"}}, "a=1&&b=2", "a=1&b=2&t=1"},
		{"order remove rename set add", map[string]any{
			"remove_query": []any{"r"}, "rename_query": map[string]any{"old": "new"},
			"set_query": map[string]any{"s": "S"}, "add_query": map[string]any{"a": "A"},
		}, "r=1&old=2&s=3&keep=4", "new=2&keep=4&s=S&a=A"},
		{"templated value from query", map[string]any{"set_query": map[string]any{"copy": "$(request.query.src)"}}, "src=a%20b", "src=a%20b&copy=a+b"},
		{"templated value missing skips", map[string]any{"set_query": map[string]any{"copy": "$(request.query.src)"}}, "x=1", "x=1"},
		{"literal empty value allowed", map[string]any{"set_query": map[string]any{"flag": ""}}, "", "flag="},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest(t, tc.cfg)
			c := testCtx(t, "http://gw/p", nil, "")
			c.R.URL.RawQuery = tc.query
			if err := r.Access(c); err != nil {
				t.Fatal(err)
			}
			if got := c.R.URL.RawQuery; got != tc.want {
				t.Errorf("query = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHeaderOperations(t *testing.T) {
	cases := []struct {
		name string
		cfg  map[string]any
		in   http.Header
		cons string
		want http.Header
	}{
		{
			name: "order remove rename set add",
			cfg: map[string]any{
				"remove_headers": []any{"x-drop"},
				"rename_headers": map[string]any{"X-Old": "x-new"},
				"set_headers":    map[string]any{"X-Set": "s"},
				"add_headers":    map[string]any{"X-Add": "a"},
			},
			in:   http.Header{"X-Drop": {"1"}, "X-Old": {"o1", "o2"}, "X-New": {"gone"}, "X-Set": {"1", "2"}, "X-Add": {"first"}},
			want: http.Header{"X-New": {"o1", "o2"}, "X-Set": {"s"}, "X-Add": {"first", "a"}},
		},
		{
			name: "consumer templating",
			cfg:  map[string]any{"set_headers": map[string]any{"X-Consumer": "$(consumer.name)", "X-Who": "$(consumer.name)@$(route.name)"}},
			cons: "alice",
			want: http.Header{"X-Consumer": {"alice"}, "X-Who": {"alice@orders"}},
		},
		{
			name: "anonymous request skips consumer templates",
			cfg:  map[string]any{"set_headers": map[string]any{"X-Consumer": "$(consumer.name)"}, "add_headers": map[string]any{"X-Who": "$(consumer.name)"}},
			in:   http.Header{"X-Consumer": {"client-sent"}},
			want: http.Header{"X-Consumer": {"client-sent"}},
		},
		{
			name: "values render against the request as received",
			cfg:  map[string]any{"remove_headers": []any{"X-Token"}, "set_headers": map[string]any{"X-Token-Copy": "$(request.header.X-Token)"}},
			in:   http.Header{"X-Token": {"t1"}},
			want: http.Header{"X-Token-Copy": {"t1"}},
		},
		{
			name: "query value cannot inject a header line",
			cfg:  map[string]any{"set_headers": map[string]any{"X-From-Query": "$(request.query.v)"}},
			want: http.Header{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest(t, tc.cfg)
			in := tc.in
			if in == nil {
				in = http.Header{}
			}
			c := testCtx(t, "http://gw/p?v=a%0d%0aX-Evil:%201", in, tc.cons)
			if err := r.Access(c); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.R.Header, tc.want) {
				t.Errorf("headers = %v, want %v", c.R.Header, tc.want)
			}
		})
	}
}

// TestAddDoesNotWriteIntoSharedSlices: the engine's header values share a
// backing array; add must copy instead of appending in place.
func TestAddDoesNotWriteIntoSharedSlices(t *testing.T) {
	backing := []string{"a", "b"}
	h := http.Header{"X-A": backing[0:1], "X-B": backing[1:2]}
	r := newRequest(t, map[string]any{"add_headers": map[string]any{"X-A": "new"}})
	c := testCtx(t, "http://gw/", h, "")
	if err := r.Access(c); err != nil {
		t.Fatal(err)
	}
	if got := h["X-B"]; len(got) != 1 || got[0] != "b" {
		t.Errorf("X-B = %q after adding to X-A", got)
	}
	if got := h["X-A"]; !reflect.DeepEqual(got, []string{"a", "new"}) {
		t.Errorf("X-A = %q", got)
	}
}

func TestResponseOperations(t *testing.T) {
	inst, err := NewResponse(map[string]any{
		"remove_headers": []any{"X-Powered-By"},
		"rename_headers": map[string]any{"X-Upstream": "X-Backend"},
		"set_headers":    map[string]any{"Cache-Control": "no-store", "X-Consumer": "$(consumer.name)"},
		"add_headers":    map[string]any{"X-Route": "$(route.name)"},
	}, plugin.Env{})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-Powered-By": {"php"}, "X-Upstream": {"u1"}, "Cache-Control": {"max-age=60"}, "X-Route": {"up"}}
	inst.(*Response).Response(testCtx(t, "http://gw/", nil, "bob"), 200, h)
	want := http.Header{"X-Backend": {"u1"}, "Cache-Control": {"no-store"}, "X-Consumer": {"bob"}, "X-Route": {"up", "orders"}}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("headers = %v, want %v", h, want)
	}
}

func TestConfigErrors(t *testing.T) {
	req := func(cfg map[string]any) error { _, err := NewRequest(cfg, plugin.Env{}); return err }
	resp := func(cfg map[string]any) error { _, err := NewResponse(cfg, plugin.Env{}); return err }
	cases := []struct {
		name  string
		build func(map[string]any) error
		cfg   map[string]any
		want  string
	}{
		{"empty request config", req, map[string]any{}, "no operation"},
		{"empty response config", resp, map[string]any{}, "no operation"},
		{"set Content-Length", req, map[string]any{"set_headers": map[string]any{"content-length": "1"}}, "set_headers.content-length: Content-Length cannot be changed"},
		{"remove Transfer-Encoding", req, map[string]any{"remove_headers": []any{"Transfer-Encoding"}}, "remove_headers[0]: Transfer-Encoding"},
		{"add Connection", req, map[string]any{"add_headers": map[string]any{"Connection": "close"}}, "hop-by-hop"},
		{"set Host", req, map[string]any{"set_headers": map[string]any{"Host": "x"}}, "Host cannot be changed"},
		{"rename to Host", req, map[string]any{"rename_headers": map[string]any{"X-Host": "host"}}, "Host cannot be changed"},
		{"spoof consumer", req, map[string]any{"set_headers": map[string]any{"X-Consumer-Name": "admin"}}, "authenticated consumer"},
		{"spoof forwarded for", req, map[string]any{"set_headers": map[string]any{"X-Forwarded-For": "1.2.3.4"}}, "set by the gateway"},
		{"response Content-Length", resp, map[string]any{"remove_headers": []any{"content-length"}}, "message framing"},
		{"response Sluice-Error", resp, map[string]any{"remove_headers": []any{"Sluice-Error"}}, "error responses"},
		{"response query ops unknown", resp, map[string]any{"set_query": map[string]any{"a": "b"}}, "unknown key"},
		{"bad header name", req, map[string]any{"set_headers": map[string]any{"X Bad": "v"}}, "not a header name"},
		{"value with newline", req, map[string]any{"set_headers": map[string]any{"X-A": "a\r\nX-B: b"}}, "control characters"},
		{"empty constant header", req, map[string]any{"add_headers": map[string]any{"X-A": ""}}, "use remove_headers"},
		{"bad template", req, map[string]any{"set_headers": map[string]any{"X-A": "$(consumer.id)"}}, "set_headers.X-A: unknown variable"},
		{"bad query template", req, map[string]any{"add_query": map[string]any{"a": "$(nope)"}}, "add_query.a: unknown variable"},
		{"rename to itself", req, map[string]any{"rename_headers": map[string]any{"x-a": "X-A"}}, "to itself"},
		{"empty query key", req, map[string]any{"remove_query": []any{""}}, "remove_query[0]"},
		{"wrong type", req, map[string]any{"set_headers": []any{"X-A: b"}}, "set_headers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.build(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// BenchmarkRequestAccess measures a typical request-transform: constant
// and templated headers, a removal and a query parameter.
func BenchmarkRequestAccess(b *testing.B) {
	cases := []struct {
		name string
		cfg  map[string]any
	}{
		{"constant headers", map[string]any{
			"remove_headers": []any{"X-Debug"},
			"set_headers":    map[string]any{"X-Gateway": "sluice", "X-Env": "prod"},
		}},
		{"templated headers and query", map[string]any{
			"remove_headers": []any{"X-Debug"},
			"set_headers":    map[string]any{"X-Gateway": "sluice", "X-Consumer": "$(consumer.name)", "X-Client": "$(client.ip)"},
			"add_query":      map[string]any{"via": "gw"},
		}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			r := newRequest(b, bc.cfg)
			c := testCtx(b, "http://gw/orders?id=7", http.Header{}, "alice")
			ua, accept := []string{"bench"}, []string{"*/*"}
			b.ReportAllocs()
			for b.Loop() {
				h := c.R.Header
				clear(h)
				h["User-Agent"], h["Accept"] = ua, accept
				c.R.URL.RawQuery = "id=7"
				if err := r.Access(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
