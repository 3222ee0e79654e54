package router

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Route is the match part of one configured route, as written in the config.
// Compile reads it and keeps nothing that aliases it.
type Route struct {
	// Name identifies the route in errors.
	Name string
	// Hosts lists the hosts the route serves: "api.example.com" exactly, or
	// "*.example.org" for any host below example.org at any depth (not
	// example.org itself). Hosts compare case-insensitively and may not carry
	// a port; a trailing dot is ignored; an IPv6 literal is written in
	// brackets. Empty means any host.
	Hosts []string
	// Paths lists the path specs: "/orders" is a prefix of whole segments,
	// "=/orders" the exact path, and "~^/orders/[0-9]+$" a Go RE2 regex
	// matched against the canonical escaped path. Prefix and exact specs are
	// canonicalised with Canonicalize. Empty means the prefix "/".
	Paths []string
	// Methods lists the accepted request methods, compared exactly after the
	// spec is upper-cased. Empty means any method.
	Methods []string
	// Headers maps header names (case-insensitive) to the exact value one of
	// the request's field lines for that header must carry. All must match.
	Headers map[string]string
}

// CompileError reports one invalid field of one route. Compile returns every
// problem it finds, each as a *CompileError, joined with errors.Join.
type CompileError struct {
	// Index is the route's index in the slice given to Compile.
	Index int
	// Route is the route's name.
	Route string
	// Field is "hosts", "paths", "methods" or "headers".
	Field string
	// Item is the index of the bad element within Field, or -1 for headers.
	Item int
	// Value is the bad element: the spec as written, or the header name.
	Value string
	// Err says what is wrong with it.
	Err error
}

// Error implements error.
func (e *CompileError) Error() string {
	route := strconv.Quote(e.Route)
	if e.Route == "" {
		route = "#" + strconv.Itoa(e.Index)
	}
	field := e.Field
	if e.Item >= 0 {
		field += "[" + strconv.Itoa(e.Item) + "]"
	}
	return fmt.Sprintf("route %s: %s %q: %v", route, field, e.Value, e.Err)
}

// Unwrap returns the underlying cause.
func (e *CompileError) Unwrap() error { return e.Err }

// Path spec kinds, in priority order.
const (
	kindExact = iota
	kindRegex
	kindPrefix
)

// entry is one path spec of one route, shared by every host group the route
// belongs to.
type entry struct {
	route int // index of the route in the Compile input
	spec  int // index of the spec in Route.Paths
	conds int // the route's condition count, copied here for locality
	kind  int
	// path is the canonical path for exact and prefix specs.
	path  string
	regex pathRegex
}

// outranks reports whether e wins over o when both match at the same host
// and path rank: more conditions, then config order.
func (e *entry) outranks(o *entry) bool {
	if e.conds != o.conds {
		return e.conds > o.conds
	}
	if e.route != o.route {
		return e.route < o.route
	}
	return e.spec < o.spec
}

// conditions are a route's method and header requirements.
type conditions struct {
	methods []string
	headers []headerCond
}

type headerCond struct {
	name  string // canonical form
	value string
}

// accept reports whether a request with method and header h meets c.
func (c *conditions) accept(method string, h http.Header) bool {
	if len(c.methods) > 0 && !slices.Contains(c.methods, method) {
		return false
	}
	for _, hc := range c.headers {
		if !slices.Contains(h[hc.name], hc.value) {
			return false
		}
	}
	return true
}

// routeHosts is a route's host list sorted into the router's groups.
type routeHosts struct {
	exact []string     // lower-case, no trailing dot
	ipv6  []netip.Addr // from bracketed literals
	wild  []string     // the suffix after "*", such as ".example.org"
}

// compiled is one route after validation.
type compiled struct {
	hosts   routeHosts
	anyHost bool
	conds   conditions
	entries []*entry
}

// compileRoute validates rt and builds its index entries. It reports every
// problem it finds.
func compileRoute(index int, rt Route) (compiled, []error) {
	var c compiled
	var errs []error
	bad := func(field string, item int, value string, err error) {
		errs = append(errs, &CompileError{Index: index, Route: rt.Name, Field: field, Item: item, Value: value, Err: err})
	}

	c.anyHost = len(rt.Hosts) == 0
	for i, h := range rt.Hosts {
		if err := c.hosts.add(h); err != nil {
			bad("hosts", i, h, err)
		}
	}

	for i, m := range rt.Methods {
		m = strings.ToUpper(m)
		if !isToken(m) {
			bad("methods", i, rt.Methods[i], errors.New("not a valid method token"))
			continue
		}
		if !slices.Contains(c.conds.methods, m) {
			c.conds.methods = append(c.conds.methods, m)
		}
	}

	names := make([]string, 0, len(rt.Headers))
	for name := range rt.Headers {
		names = append(names, name)
	}
	slices.Sort(names) // deterministic errors and evaluation order
	for _, name := range names {
		value := rt.Headers[name]
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !isToken(name):
			bad("headers", -1, name, errors.New("not a valid header name"))
		case canon == "Host":
			bad("headers", -1, name, errors.New("the host is matched by hosts, not headers"))
		case !validHeaderValue(value):
			bad("headers", -1, name, errors.New("value holds a control character"))
		case strings.Trim(value, " \t") != value:
			bad("headers", -1, name, errors.New("value has leading or trailing white space, which requests never carry"))
		case slices.ContainsFunc(c.conds.headers, func(hc headerCond) bool { return hc.name == canon }):
			bad("headers", -1, name, errors.New("header given twice with different case"))
		default:
			c.conds.headers = append(c.conds.headers, headerCond{name: canon, value: value})
		}
	}

	conds := len(c.conds.headers)
	if len(c.conds.methods) > 0 {
		conds++
	}
	paths := rt.Paths
	if len(paths) == 0 {
		paths = []string{"/"}
	}
	for i, spec := range paths {
		e, err := compilePathSpec(spec)
		if err != nil {
			bad("paths", i, spec, err)
			continue
		}
		e.route, e.spec, e.conds = index, i, conds
		c.entries = append(c.entries, e)
	}
	return c, errs
}

// compilePathSpec parses one path spec into an entry without its route data.
func compilePathSpec(spec string) (*entry, error) {
	switch {
	case strings.HasPrefix(spec, "~"):
		pattern := spec[1:]
		if pattern == "" {
			return nil, errors.New("empty regex")
		}
		r, err := compilePathRegex(pattern)
		if err != nil {
			return nil, fmt.Errorf("invalid regex: %w", err)
		}
		if r.literal != "" && r.literal[0] != '/' {
			return nil, errors.New("anchored regex must begin with /, as every path does")
		}
		return &entry{kind: kindRegex, regex: r}, nil
	case strings.HasPrefix(spec, "="):
		p, err := canonicalSpec(spec[1:])
		if err != nil {
			return nil, err
		}
		return &entry{kind: kindExact, path: p}, nil
	default:
		p, err := canonicalSpec(spec)
		if err != nil {
			return nil, err
		}
		return &entry{kind: kindPrefix, path: p}, nil
	}
}

// canonicalSpec canonicalises the path of an exact or prefix spec.
func canonicalSpec(p string) (string, error) {
	if strings.ContainsAny(p, "?#") {
		return "", errors.New("path spec must not hold a query or fragment")
	}
	return Canonicalize(p)
}

// add validates one host spec and files it in the right group.
func (rh *routeHosts) add(spec string) error {
	h := strings.ToLower(spec)
	if h == "" {
		return errors.New("empty host")
	}
	if h[0] == '[' {
		if h[len(h)-1] != ']' {
			return errors.New("IPv6 literal must be bracketed and carry no port")
		}
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return errors.New("invalid IPv6 literal")
		}
		if !slices.Contains(rh.ipv6, a) {
			rh.ipv6 = append(rh.ipv6, a)
		}
		return nil
	}
	if strings.Contains(h, ":") {
		return errors.New("host must not carry a port")
	}
	h = strings.TrimSuffix(h, ".")
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		if err := checkHostname(rest); err != nil {
			return err
		}
		if suffix := h[1:]; !slices.Contains(rh.wild, suffix) {
			rh.wild = append(rh.wild, suffix)
		}
		return nil
	}
	if strings.Contains(h, "*") {
		if h == "*" {
			return errors.New(`"*" is not a host; leave hosts empty to match any host`)
		}
		return errors.New("a wildcard must be the whole leftmost label, as in *.example.org")
	}
	if err := checkHostname(h); err != nil {
		return err
	}
	if !slices.Contains(rh.exact, h) {
		rh.exact = append(rh.exact, h)
	}
	return nil
}

// checkHostname validates a lower-case host name or IPv4 literal: dot-separated
// labels of 1 to 63 letters, digits, '-' or '_', 253 bytes at most.
func checkHostname(h string) error {
	if h == "" {
		return errors.New("empty host")
	}
	if len(h) > 253 {
		return errors.New("host longer than 253 bytes")
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("host labels must be 1 to 63 bytes long")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("invalid character %q in host", c)
			}
		}
	}
	return nil
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v can be a header field value: no control
// bytes other than horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
