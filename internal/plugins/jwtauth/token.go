package jwtauth

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/plugin"
)

// source records where a request's token was found.
type source uint8

const (
	fromBearer source = 1 << iota
	fromCookie
	fromQuery
)

// Private reasons of token extraction.
var (
	errAuthz    = plugin.Unauthorized("jwt: several Authorization fields")
	errBearer   = plugin.Unauthorized("jwt: malformed Authorization Bearer field")
	errEmpty    = plugin.Unauthorized("jwt: empty token")
	errTwo      = plugin.Unauthorized("jwt: request carries two different tokens")
	errTooLarge = plugin.Unauthorized("jwt: token larger than max_token_size")
	errQuery    = plugin.Unauthorized("jwt: token query parameter does not decode")
)

// tokens gathers the token candidates of one request.
type tokens struct {
	max  int
	tok  string
	from source
	err  error
}

func (t *tokens) add(v string, s source) {
	switch {
	case t.err != nil:
	case v == "":
		t.err = errEmpty
	case len(v) > t.max:
		t.err = errTooLarge
	case t.from != 0 && v != t.tok:
		t.err = errTwo
	default:
		t.tok = v
		t.from |= s
	}
}

// token returns the request's token and where it was found. A bearer value
// that is not shaped like a JWT is not this plugin's: it is skipped, so
// key-auth on the same route can judge it. The size limit is applied
// before anything else looks at a value.
func (p *JWT) token(r *http.Request) (string, source, error) {
	t := tokens{max: p.maxSize}
	switch v, err := consumer.Authorization(r.Header, "Bearer"); {
	case err == nil:
		if len(v) > p.maxSize || jwtShaped(v) {
			t.add(v, fromBearer)
		}
	case errors.Is(err, consumer.ErrAmbiguousCredential):
		return "", 0, errAuthz
	case errors.Is(err, consumer.ErrMalformedCredential):
		return "", 0, errBearer
	}
	if len(p.cookies) > 0 {
		for _, line := range r.Header["Cookie"] {
			for part := range strings.SplitSeq(line, ";") {
				name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
				if slices.Contains(p.cookies, name) {
					if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
						value = value[1 : len(value)-1]
					}
					t.add(value, fromCookie)
				}
			}
		}
	}
	if len(p.query) > 0 && r.URL.RawQuery != "" {
		if err := consumer.QueryValues(r.URL.RawQuery, p.query, func(v string) { t.add(v, fromQuery) }); err != nil {
			return "", 0, errQuery
		}
	}
	switch {
	case t.err != nil:
		return "", 0, t.err
	case t.from == 0:
		return "", 0, plugin.ErrNoCredential
	}
	return t.tok, t.from, nil
}

// jwtShaped reports whether v has the three dot-separated parts of a JWS
// in compact serialisation.
func jwtShaped(v string) bool { return strings.Count(v, ".") == 2 }

// hideToken removes the token from every place it was found in.
func (p *JWT) hideToken(r *http.Request, from source) {
	if from&fromBearer != 0 {
		delete(r.Header, "Authorization")
	}
	if from&fromCookie != 0 {
		removeCookies(r.Header, p.cookies)
	}
	if from&fromQuery != 0 {
		r.URL.RawQuery = consumer.RemoveQueryParams(r.URL.RawQuery, p.query)
		r.URL.ForceQuery = false
	}
}

// removeCookies drops the cookies called one of names from h's Cookie
// fields, keeping the others in order; a field left empty is removed.
func removeCookies(h http.Header, names []string) {
	lines := h["Cookie"]
	kept := lines[:0]
	for _, line := range lines {
		var b strings.Builder
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			name, _, _ := strings.Cut(part, "=")
			if part == "" || slices.Contains(names, name) {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(part)
		}
		if b.Len() > 0 {
			kept = append(kept, b.String())
		}
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = kept
}
