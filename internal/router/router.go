package router

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
)

// Router matches requests against a compiled set of routes. It is immutable
// and safe for concurrent use; a nil *Router matches nothing.
type Router struct {
	conds []conditions // indexed by route
	exact map[string]*table
	ipv6  map[netip.Addr]*table
	wild  map[string]*table // keyed by suffix, such as ".example.org"
	any   *table            // routes without hosts; nil if there are none
}

// Match is the outcome of a successful match.
type Match struct {
	// Index is the index of the matched route in the slice given to Compile.
	Index int
	// Prefix is the part of the path that the route's path spec matched: the
	// whole path for an exact spec, the canonical prefix for a prefix spec,
	// and for a regex the text it matched when that match begins at offset
	// 0 ("" otherwise). It is meant for StripPrefix.
	Prefix string
}

// Compile validates routes and builds a Router for them. Route i of the
// result is routes[i]. It reports every invalid field of every route at
// once: the error joins one *CompileError per problem, each naming the route
// and the field. Compile keeps no reference to routes.
func Compile(routes []Route) (*Router, error) {
	r := &Router{
		conds: make([]conditions, len(routes)),
		exact: make(map[string]*table),
		ipv6:  make(map[netip.Addr]*table),
		wild:  make(map[string]*table),
	}
	var errs []error
	for i, rt := range routes {
		c, cerrs := compileRoute(i, rt)
		if len(cerrs) > 0 {
			errs = append(errs, cerrs...)
			continue
		}
		r.conds[i] = c.conds
		var tables []*table
		for _, h := range c.hosts.exact {
			tables = append(tables, tableFor(r.exact, h))
		}
		for _, a := range c.hosts.ipv6 {
			tables = append(tables, tableFor(r.ipv6, a))
		}
		for _, s := range c.hosts.wild {
			tables = append(tables, tableFor(r.wild, s))
		}
		if c.anyHost {
			if r.any == nil {
				r.any = newTable()
			}
			tables = append(tables, r.any)
		}
		for _, t := range tables {
			for _, e := range c.entries {
				t.insert(e)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, t := range r.exact {
		t.finish()
	}
	for _, t := range r.ipv6 {
		t.finish()
	}
	for _, t := range r.wild {
		t.finish()
	}
	if r.any != nil {
		r.any.finish()
	}
	return r, nil
}

func tableFor[K comparable](m map[K]*table, k K) *table {
	t := m[k]
	if t == nil {
		t = newTable()
		m[k] = t
	}
	return t
}

// Match returns the route that serves a request, ranked as the package
// documentation describes, and false if no route does. host is the request's
// host as sent (Host header or URI authority); it may carry a port and a
// trailing dot, and compares case-insensitively. path must be canonical, as
// returned by Canonicalize; a path that does not begin with "/" matches
// nothing. h may be nil. Match does not allocate unless the host holds
// upper-case letters or the winning route's regex has to report where its
// match ends (a regex not anchored at both ends).
func (r *Router) Match(host, path, method string, h http.Header) (Match, bool) {
	if r == nil || path == "" || path[0] != '/' {
		return Match{}, false
	}
	q := request{path: path, method: method, header: h, conds: r.conds}
	host = hostKey(host)
	if host != "" && host[0] == '[' {
		if a, err := netip.ParseAddr(host[1 : len(host)-1]); err == nil {
			if t := r.ipv6[a]; t != nil {
				if m, ok := t.match(&q); ok {
					return m, true
				}
			}
		}
	} else if host != "" {
		if t := r.exact[host]; t != nil {
			if m, ok := t.match(&q); ok {
				return m, true
			}
		}
		if len(r.wild) > 0 {
			// Suffixes from the longest: "a.b.example.org" tries
			// ".b.example.org", then ".example.org", then ".org".
			for i := 1; i < len(host); i++ {
				if host[i] != '.' {
					continue
				}
				if t := r.wild[host[i:]]; t != nil {
					if m, ok := t.match(&q); ok {
						return m, true
					}
				}
			}
		}
	}
	if r.any != nil {
		return r.any.match(&q)
	}
	return Match{}, false
}

// hostKey reduces a request host to the form routes are indexed by: no port,
// no trailing dot, lower case. An IPv6 literal keeps its brackets. A host
// that cannot be parsed gives "", which only routes without hosts match.
func hostKey(host string) string {
	if host == "" {
		return ""
	}
	if host[0] == '[' {
		i := strings.IndexByte(host, ']')
		if i < 0 {
			return ""
		}
		return host[:i+1]
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	return strings.ToLower(host)
}

// StripPrefix removes prefix (a Match.Prefix) from the front of path by
// whole segments and returns what remains, which always begins with "/":
// StripPrefix("/orders/1", "/orders") is "/1", StripPrefix("/orders",
// "/orders") is "/" and StripPrefix("/orders/1", "/orders/") is "/1". When
// prefix ends inside a segment of path, that segment is kept whole:
// StripPrefix("/orders/123", "/orders/12") is "/123". When path does not
// begin with prefix, or prefix is empty, path is returned unchanged. It
// never allocates.
func StripPrefix(path, prefix string) string {
	if prefix == "" || !strings.HasPrefix(path, prefix) {
		return path
	}
	rest := path[len(prefix):]
	switch {
	case prefix[len(prefix)-1] == '/':
		return path[len(prefix)-1:]
	case rest == "":
		return "/"
	case rest[0] == '/':
		return rest
	}
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		return path[i:]
	}
	return path
}
