package diagnose

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/router"
)

// RouteReport is the route that serves the request, and why.
type RouteReport struct {
	Name string `json:"name"`
	// Upstream is the route's upstream; empty for an AI route.
	Upstream string `json:"upstream,omitempty"`
	AI       bool   `json:"ai,omitempty"`
	// Why says, one condition a line, how the request matches the route.
	Why []string `json:"why"`
	// ForwardPath is the path the gateway sends upstream (after
	// strip_path); empty when a route was named.
	ForwardPath string `json:"forward_path,omitempty"`
}

// request is the request being diagnosed, as the router sees it.
type request struct {
	host, path, method string
	header             http.Header
}

// String describes the request in one line.
func (q request) String() string {
	host := q.host
	if host == "" {
		host = "(no host)"
	}
	return q.method + " " + host + q.path
}

// parseTarget turns the diagnosed argument into a request; isURL is false
// when the argument names a route instead: a configured route's name, or a
// word that cannot be a host.
func (d *run) parseTarget(cfg *config.Config) (q request, isURL bool, err error) {
	arg := strings.TrimSpace(d.o.Target)
	q = request{method: d.o.Method, header: d.o.Header.Clone()}
	if q.header == nil {
		q.header = http.Header{}
	}
	if !strings.Contains(arg, "://") && !strings.HasPrefix(arg, "/") {
		if slices.ContainsFunc(cfg.Routes, func(r config.Route) bool { return r.Name == arg }) ||
			!strings.ContainsAny(arg, "/:") && !strings.Contains(arg, ".") {
			return q, false, nil
		}
		arg = "http://" + arg
	}
	var rawPath string
	if strings.HasPrefix(arg, "/") {
		u, perr := url.Parse(arg)
		if perr != nil {
			return q, true, cannotRun("%q is not a valid path: %v", arg, perr)
		}
		rawPath = u.EscapedPath()
	} else {
		u, perr := url.Parse(arg)
		if perr != nil || u.Host == "" {
			return q, true, cannotRun("%q is not a URL, a path or a route name", arg)
		}
		q.host = u.Host
		rawPath = u.EscapedPath()
	}
	if h := q.header.Get("Host"); h != "" {
		q.host = h
		q.header.Del("Host")
	}
	if rawPath == "" {
		rawPath = "/"
	}
	q.path, err = router.Canonicalize(rawPath)
	if err != nil {
		return q, true, cannotRun("the gateway refuses the path %q (400 bad_request): %v", rawPath, err)
	}
	return q, true, nil
}

// matchStep finds the route (step 1). It returns nil when no route
// matches, after recording the no_route finding.
func (d *run) matchStep(cfg *config.Config) (*config.Route, error) {
	q, isURL, err := d.parseTarget(cfg)
	if err != nil {
		return nil, err
	}
	if !isURL {
		return d.namedRoute(cfg)
	}
	d.rep.Host, d.rep.Path = q.host, q.path
	specs := make([]router.Route, len(cfg.Routes))
	for i := range cfg.Routes {
		specs[i] = routeSpec(&cfg.Routes[i])
	}
	rt, err := router.Compile(specs)
	if err != nil {
		return nil, cannotRun("the gateway's routes do not compile here: %v", err)
	}
	m, ok := rt.Match(q.host, q.path, q.method, q.header)
	if !ok {
		d.noRoute(cfg, q)
		return nil, nil
	}
	rc := &cfg.Routes[m.Index]
	rep := &RouteReport{Name: rc.Name, Upstream: rc.Upstream, AI: rc.AI != nil, Why: explainMatch(rc, q)}
	rep.ForwardPath = q.path
	if rc.StripPath {
		rep.ForwardPath = router.StripPrefix(q.path, m.Prefix)
	}
	d.rep.Route = rep
	d.progress("[1/6] route: %s matches route %s (%s)", q, rc.Name, strings.Join(rep.Why, "; "))
	for i := range cfg.Routes {
		if i != m.Index && len(misses(&cfg.Routes[i], q)) == 0 {
			d.found.add(Finding{Code: "route_shadowed", Severity: Info, Route: cfg.Routes[i].Name,
				Summary: fmt.Sprintf("route %s also matches %s, but route %s wins", cfg.Routes[i].Name, q, rc.Name),
				Fix:     "nothing, if route " + rc.Name + " is the one meant; otherwise make the routes' hosts, paths, methods or headers tell them apart (exact hosts beat wildcards, exact paths beat regexes beat longer prefixes, more conditions win, then config order)",
				Evidence: []string{"route " + rc.Name + ": " + strings.Join(rep.Why, "; "),
					"route " + cfg.Routes[i].Name + ": " + strings.Join(explainMatch(&cfg.Routes[i], q), "; ")}})
		}
	}
	return rc, nil
}

// namedRoute takes the route named on the command line.
func (d *run) namedRoute(cfg *config.Config) (*config.Route, error) {
	names := make([]string, len(cfg.Routes))
	for i := range cfg.Routes {
		if cfg.Routes[i].Name == d.o.Target {
			rc := &cfg.Routes[i]
			d.rep.Route = &RouteReport{Name: rc.Name, Upstream: rc.Upstream, AI: rc.AI != nil, Why: []string{"named on the command line"}}
			d.progress("[1/6] route: %s (named; it takes %s)", rc.Name, describeMatch(rc))
			return rc, nil
		}
		names[i] = cfg.Routes[i].Name
	}
	msg := fmt.Sprintf("the gateway has no route named %q", d.o.Target)
	if s := config.Suggest(d.o.Target, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if len(names) > 0 {
		msg += "; its routes are " + strings.Join(names, ", ")
	}
	return nil, cannotRun("%s", msg)
}

// routeSpec is the router's view of a configured route.
func routeSpec(rc *config.Route) router.Route {
	return router.Route{Name: rc.Name, Hosts: rc.Match.Hosts, Paths: rc.Match.Paths, Methods: rc.Match.Methods, Headers: rc.Match.Headers}
}

// matches runs the gateway's own matcher on a route reduced to one kind
// of condition, so each condition is judged exactly as the gateway would.
func matches(spec router.Route, q request) bool {
	rt, err := router.Compile([]router.Route{spec})
	if err != nil {
		return false
	}
	_, ok := rt.Match(q.host, q.path, q.method, q.header)
	return ok
}

// explainMatch says, condition by condition, why q matches rc.
func explainMatch(rc *config.Route, q request) []string {
	var why []string
	if len(rc.Match.Hosts) == 0 {
		why = append(why, "any host")
	} else {
		for _, h := range rc.Match.Hosts {
			if matches(router.Route{Hosts: []string{h}}, q) {
				why = append(why, fmt.Sprintf("host %s matches %s", showHost(q.host), h))
				break
			}
		}
	}
	if len(rc.Match.Paths) == 0 {
		why = append(why, "any path")
	} else {
		for _, p := range rc.Match.Paths {
			if matches(router.Route{Paths: []string{p}}, q) {
				why = append(why, fmt.Sprintf("path %s matches %s", q.path, describePath(p)))
				break
			}
		}
	}
	if len(rc.Match.Methods) == 0 {
		why = append(why, "any method")
	} else {
		why = append(why, fmt.Sprintf("method %s is one of %s", q.method, strings.Join(rc.Match.Methods, ", ")))
	}
	for _, k := range sortedKeys(rc.Match.Headers) {
		why = append(why, fmt.Sprintf("header %s is %q", k, rc.Match.Headers[k]))
	}
	return why
}

// describeMatch summarises a route's conditions.
func describeMatch(rc *config.Route) string {
	parts := []string{"any host"}
	if len(rc.Match.Hosts) > 0 {
		parts[0] = "hosts " + strings.Join(rc.Match.Hosts, ", ")
	}
	if len(rc.Match.Paths) > 0 {
		ps := make([]string, len(rc.Match.Paths))
		for i, p := range rc.Match.Paths {
			ps[i] = describePath(p)
		}
		parts = append(parts, strings.Join(ps, ", "))
	} else {
		parts = append(parts, "any path")
	}
	if len(rc.Match.Methods) > 0 {
		parts = append(parts, "methods "+strings.Join(rc.Match.Methods, ", "))
	} else {
		parts = append(parts, "any method")
	}
	for _, k := range sortedKeys(rc.Match.Headers) {
		parts = append(parts, fmt.Sprintf("header %s: %s", k, rc.Match.Headers[k]))
	}
	return strings.Join(parts, "; ")
}

// describePath names a path spec's kind.
func describePath(spec string) string {
	switch {
	case strings.HasPrefix(spec, "="):
		return "exact path " + spec[1:]
	case strings.HasPrefix(spec, "~"):
		return "regex " + spec[1:]
	}
	return "prefix " + spec
}

// showHost is a request host for messages.
func showHost(h string) string {
	if h == "" {
		return "(none)"
	}
	return h
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
