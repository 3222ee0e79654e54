// Package console serves the web console: the single-page app built from
// web/ into dist/ (npm ci && npm run build in web/, or make console) and
// embedded in the binary. Everything the console shows and changes goes
// through the admin API (/api/v1); this package only serves its files.
//
// A binary built without the console (a plain go build on a fresh clone,
// where dist/ holds only .gitkeep) serves a page at / that says how to
// build it.
package console

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

//go:embed placeholder.html
var placeholder []byte

// csp allows only the console's own origin: no external scripts, styles,
// fonts or connections.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Handler serves the console: files under dist/ by path, and index.html
// for every other path (the app routes on the client). Hashed assets
// under /assets/ are cached for a year; index.html is revalidated.
type Handler struct {
	files fs.FS
	index []byte
	// Built reports whether the console was built into the binary.
	Built bool
}

// New returns the handler of the embedded console.
func New() *Handler {
	sub, _ := fs.Sub(dist, "dist")
	return newHandler(sub)
}

func newHandler(files fs.FS) *Handler {
	h := &Handler{files: files, index: placeholder}
	if b, err := fs.ReadFile(files, "index.html"); err == nil {
		h.index, h.Built = b, true
	}
	return h
}

// ServeHTTP implements http.Handler. It answers GET and HEAD only.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Content-Security-Policy", csp)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if h.Built && name != "" && name != "index.html" && !strings.HasPrefix(name, ".") {
		if b, err := fs.ReadFile(h.files, name); err == nil {
			if strings.HasPrefix(name, "assets/") {
				hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				hdr.Set("Cache-Control", "no-cache")
			}
			http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
			return
		}
		if strings.HasPrefix(name, "assets/") {
			http.NotFound(w, r)
			return
		}
	}
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(len(h.index)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(h.index)
}
