package cors_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/plugin"
	"github.com/sluicegw/sluice/internal/plugins/cors"
)

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"no origins", map[string]any{}, "origins must list"},
		{"path in origin", map[string]any{"origins": []any{"https://a.example/app"}}, "origins[0]"},
		{"trailing slash", map[string]any{"origins": []any{"https://a.example/"}}, "not even"},
		{"no scheme", map[string]any{"origins": []any{"a.example"}}, "origins[0]"},
		{"wildcard in exact origin", map[string]any{"origins": []any{"https://*.example.com"}}, "~pattern"},
		{"bad pattern", map[string]any{"origins": []any{"~https://(["}}, "bad pattern"},
		{"bad method", map[string]any{"origins": []any{"*"}, "methods": []any{"GE T"}}, "methods[0]"},
		{"bad header", map[string]any{"origins": []any{"*"}, "headers": []any{"X:Y"}}, "headers[0]"},
		{"star expose with credentials", map[string]any{"origins": []any{"*"}, "credentials": true, "exposed_headers": []any{"*"}}, "list the headers"},
		{"negative max_age", map[string]any{"origins": []any{"*"}, "max_age": "-1s"}, "negative"},
		{"sub-second max_age", map[string]any{"origins": []any{"*"}, "max_age": "500ms"}, "whole seconds"},
		{"max_age without unit", map[string]any{"origins": []any{"*"}, "max_age": 600}, "unit"},
		{"unknown key", map[string]any{"origins": []any{"*"}, "allow_origins": []any{"*"}}, "unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cors.New(tc.cfg, plugin.Env{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// recorder is a ResponseWriter whose header map is reused, as the h1
// engine's is.
type recorder struct {
	h      http.Header
	status int
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(p []byte) (int, error) { return len(p), nil }
func (r *recorder) WriteHeader(s int)           { r.status = s }

func newCtx(method string, hdr http.Header) (*plugin.Ctx, *recorder) {
	w := &recorder{h: http.Header{}}
	r, _ := http.NewRequest(method, "http://gw/api", nil)
	r.Header = hdr
	return &plugin.Ctx{W: w, R: r, X: &exchange.Exchange{ID: "req-1"}}, w
}

func build(tb testing.TB, cfg map[string]any) *cors.CORS {
	tb.Helper()
	inst, err := cors.New(cfg, plugin.Env{})
	if err != nil {
		tb.Fatal(err)
	}
	return inst.(*cors.CORS)
}

// TestPreflightHandledAtEdge checks the hand-off contract with the gateway:
// ErrHandled, the status recorded, the head written.
func TestPreflightHandledAtEdge(t *testing.T) {
	p := build(t, map[string]any{"origins": []any{"https://a.example"}})
	c, w := newCtx("OPTIONS", http.Header{"Origin": {"https://a.example"}, "Access-Control-Request-Method": {"GET"}})
	if err := p.Access(c); !errors.Is(err, plugin.ErrHandled) {
		t.Fatalf("Access = %v, want ErrHandled", err)
	}
	if c.X.Status != 204 || w.status != 204 {
		t.Errorf("exchange status %d, written %d; want 204", c.X.Status, w.status)
	}
	if got := w.h.Get("X-Request-Id"); got != "req-1" {
		t.Errorf("X-Request-Id = %q", got)
	}
}

func BenchmarkAccessAndResponse(b *testing.B) {
	p := build(b, map[string]any{
		"origins":         []any{"https://a.example", "https://b.example", "~https://[a-z]+\\.c\\.example"},
		"credentials":     true,
		"exposed_headers": []any{"X-Total-Count"},
	})
	for _, bc := range []struct{ name, origin string }{
		{"exact origin", "https://b.example"},
		{"pattern origin", "https://shop.c.example"},
		{"disallowed origin", "https://evil.example"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, w := newCtx("GET", http.Header{"Origin": {bc.origin}})
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				if err := p.Access(c); err != nil {
					b.Fatal(err)
				}
				p.Response(c, 200, w.h)
			}
		})
	}
}

func BenchmarkPreflight(b *testing.B) {
	p := build(b, map[string]any{"origins": []any{"https://a.example"}, "max_age": "1h"})
	c, w := newCtx("OPTIONS", http.Header{"Origin": {"https://a.example"}, "Access-Control-Request-Method": {"PUT"}, "Access-Control-Request-Headers": {"content-type"}})
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		if err := p.Access(c); !errors.Is(err, plugin.ErrHandled) {
			b.Fatal(err)
		}
	}
}
