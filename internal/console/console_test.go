package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func serve(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestBuiltConsole(t *testing.T) {
	h := newHandler(fstest.MapFS{
		"index.html":         {Data: []byte(`<!doctype html><script src="/assets/app-1.js"></script>`)},
		"assets/app-1.js":    {Data: []byte(`console.log(1)`)},
		"assets/app-1.css":   {Data: []byte(`body{}`)},
		".gitkeep":           {Data: nil},
		"robots-example.txt": {Data: []byte("x")},
	})
	if !h.Built {
		t.Fatal("Built = false with an index.html")
	}
	for _, tc := range []struct {
		path, want, ctype, cache string
		status                   int
	}{
		{"/", "/assets/app-1.js", "text/html", "no-cache", 200},
		{"/logs/abc?x=1", "/assets/app-1.js", "text/html", "no-cache", 200},
		{"/routes/new", "/assets/app-1.js", "text/html", "no-cache", 200},
		{"/assets/app-1.js", "console.log(1)", "javascript", "immutable", 200},
		{"/assets/app-1.css", "body{}", "text/css", "immutable", 200},
		{"/assets/missing.js", "404", "text/plain", "", 404},
		{"/.gitkeep", "/assets/app-1.js", "text/html", "no-cache", 200},
		{"/../../etc/passwd", "/assets/app-1.js", "text/html", "no-cache", 200},
	} {
		resp, body := serve(t, h, "GET", tc.path)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) ||
			!strings.Contains(resp.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(resp.Header.Get("Cache-Control"), tc.cache) {
			t.Errorf("GET %s: %d %q %q %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), body)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: missing security headers", tc.path)
		}
	}
	if resp, _ := serve(t, h, "POST", "/"); resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if resp, body := serve(t, h, "HEAD", "/"); resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD /: %d %q", resp.StatusCode, body)
	}
}

// TestPlaceholder: a binary built without the console (dist/ holds only
// .gitkeep) answers every page with how to build it.
func TestPlaceholder(t *testing.T) {
	h := newHandler(fstest.MapFS{".gitkeep": {Data: nil}})
	if h.Built {
		t.Fatal("Built = true without an index.html")
	}
	for _, path := range []string{"/", "/dashboard", "/assets/app.js"} {
		resp, body := serve(t, h, "GET", path)
		if resp.StatusCode != 200 || !strings.Contains(body, "not built") || !strings.Contains(body, "npm run build") {
			t.Errorf("GET %s: %d %.100q", path, resp.StatusCode, body)
		}
	}
}

// TestEmbedded: the embedded console is either the built app or the
// placeholder, and New serves it.
func TestEmbedded(t *testing.T) {
	h := New()
	_, body := serve(t, h, "GET", "/")
	if h.Built != !strings.Contains(body, "not built") || !strings.Contains(body, "<html") {
		t.Errorf("Built %v but / is %.120q", h.Built, body)
	}
}
