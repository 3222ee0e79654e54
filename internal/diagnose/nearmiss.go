package diagnose

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/router"
)

// miss is one condition of a route that a request fails.
type miss struct {
	// dim is host, path, method or headers.
	dim string
	// text says why the condition fails, fix what would make it hold.
	text, fix string
	// close is set when the request nearly meets the condition: a typo, a
	// missing or extra segment or slash, a method or header away.
	close bool
}

// misses returns the conditions of rc that q fails, each judged by the
// gateway's own matcher; none means rc matches q.
func misses(rc *config.Route, q request) []miss {
	var ms []miss
	m := rc.Match
	if len(m.Hosts) > 0 && !matches(router.Route{Hosts: m.Hosts}, q) {
		ms = append(ms, hostMiss(rc, q))
	}
	if len(m.Paths) > 0 && !matches(router.Route{Paths: m.Paths}, q) {
		ms = append(ms, pathMiss(rc, q.path))
	}
	if len(m.Methods) > 0 && !matches(router.Route{Methods: m.Methods}, q) {
		ms = append(ms, miss{dim: "method", close: true,
			text: fmt.Sprintf("method %s is not one of %s", q.method, strings.Join(m.Methods, ", ")),
			fix:  fmt.Sprintf("send the request as %s, or add %s to route %s's match.methods", orList(m.Methods), q.method, rc.Name)})
	}
	for _, k := range sortedKeys(m.Headers) {
		want := m.Headers[k]
		if matches(router.Route{Headers: map[string]string{k: want}}, q) {
			continue
		}
		text := fmt.Sprintf("the request has no header %s (the route needs %q)", k, want)
		if got := q.header.Values(k); len(got) > 0 {
			text = fmt.Sprintf("header %s is %q, the route needs %q", k, strings.Join(got, ", "), want)
		}
		ms = append(ms, miss{dim: "headers", close: true, text: text,
			fix: fmt.Sprintf("send the header %s: %s (curl -H '%s: %s'), or change route %s's match.headers", k, want, k, want, rc.Name)})
	}
	return ms
}

// hostMiss explains why q's host is not one of rc's.
func hostMiss(rc *config.Route, q request) miss {
	hosts := strings.Join(rc.Match.Hosts, ", ")
	mi := miss{dim: "host",
		fix: fmt.Sprintf("send the request with Host: %s (curl -H 'Host: %s'), or add the host to route %s's match.hosts", rc.Match.Hosts[0], rc.Match.Hosts[0], rc.Name)}
	if q.host == "" {
		mi.text = "the request has no host; the route takes only " + hosts
		mi.close = true
		return mi
	}
	host := strings.ToLower(q.host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	mi.text = fmt.Sprintf("host %s is not one of %s", host, hosts)
	if s := config.Suggest(host, rc.Match.Hosts); s != "" {
		mi.text += fmt.Sprintf(" (%s is close: a typo?)", s)
		mi.close = true
	}
	return mi
}

// pathMiss explains why path matches none of rc's path specs, by the spec
// it comes closest to.
func pathMiss(rc *config.Route, path string) miss {
	var best miss
	for i, spec := range rc.Match.Paths {
		text, close := pathSpecMiss(spec, path)
		if i == 0 || close && !best.close {
			best = miss{dim: "path", text: text, close: close}
		}
	}
	specs := make([]string, len(rc.Match.Paths))
	for i, p := range rc.Match.Paths {
		specs[i] = describePath(p)
	}
	if len(specs) > 1 {
		best.text = fmt.Sprintf("path %s matches none of %s: %s", path, strings.Join(specs, ", "), best.text)
	}
	best.fix = fmt.Sprintf("request a path that %s takes, or add %s to route %s's match.paths", orList(specs), path, rc.Name)
	return best
}

// pathSpecMiss explains why path fails one path spec, and whether it is
// close to it.
func pathSpecMiss(spec, path string) (string, bool) {
	switch {
	case strings.HasPrefix(spec, "~"):
		return fmt.Sprintf("regex %s does not match %s", spec[1:], path), false
	case strings.HasPrefix(spec, "="):
		want := spec[1:]
		switch {
		case path+"/" == want || want+"/" == path:
			return fmt.Sprintf("exact path %s and %s differ by a trailing slash", want, path), true
		case strings.HasPrefix(path, want):
			return fmt.Sprintf("exact path %s does not take the longer path %s (a prefix %s would)", want, path, want), true
		case strings.EqualFold(path, want):
			return fmt.Sprintf("exact path %s differs from %s in case; paths compare case-sensitively", want, path), true
		case config.Suggest(path, []string{want}) != "":
			return fmt.Sprintf("exact path %s is close to %s (a typo?)", want, path), true
		}
		return fmt.Sprintf("exact path %s is not %s", want, path), false
	}
	if path+"/" == spec {
		return fmt.Sprintf("prefix %s ends in a slash, so %s without it does not match", spec, path), true
	}
	want, got := segments(spec), segments(path)
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	switch {
	case i == len(got):
		return fmt.Sprintf("prefix %s is longer than the path %s: it needs /%s after it", spec, path, strings.Join(want[i:], "/")), true
	case strings.EqualFold(want[i], got[i]):
		return fmt.Sprintf("segment %q of prefix %s differs from %q in case; paths compare case-sensitively", want[i], spec, got[i]), true
	case strings.HasPrefix(got[i], want[i]) || strings.HasPrefix(want[i], got[i]):
		return fmt.Sprintf("prefixes match whole segments: %q in prefix %s is not %q in the path", want[i], spec, got[i]), true
	case config.Suggest(got[i], want[i:i+1]) != "":
		return fmt.Sprintf("segment %q of the path is close to %q of prefix %s (a typo?)", got[i], want[i], spec), true
	}
	return fmt.Sprintf("path %s does not start with prefix %s", path, spec), false
}

// segments splits a path into its segments, ignoring leading and
// trailing slashes.
func segments(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// nearMiss is a route that fails the request, and how.
type nearMiss struct {
	route  string
	misses []miss
	score  int
}

// noRoute records the no_route finding with the routes that nearly match.
func (d *run) noRoute(cfg *config.Config, q request) {
	var near []nearMiss
	for i := range cfg.Routes {
		rc := &cfg.Routes[i]
		ms := misses(rc, q)
		// A route whose path takes the request is nearer than one whose
		// host does: paths tell routes apart far more often.
		score := 0
		for _, m := range ms {
			switch {
			case m.close:
				score++
			case m.dim == "path":
				score += 4
			default:
				score += 2
			}
		}
		if score <= 3 {
			near = append(near, nearMiss{route: rc.Name, misses: ms, score: score})
		}
	}
	sort.SliceStable(near, func(i, j int) bool { return near[i].score < near[j].score })
	near = near[:min(len(near), 5)]

	f := Finding{Code: "no_route", Severity: Problem,
		Summary: fmt.Sprintf("no route matches %s: the gateway answers 404 no_route", q)}
	switch {
	case len(cfg.Routes) == 0:
		f.Summary = fmt.Sprintf("the gateway has no routes, so %s gets 404 no_route", q)
		f.Fix = "add a route (routes: in the config file, or POST /api/v1/routes)"
	case len(near) == 0:
		f.Fix = "add a route whose match takes this request, or request something a route serves"
		for i := range cfg.Routes {
			if i == 10 {
				f.Evidence = append(f.Evidence, fmt.Sprintf("… and %d more routes", len(cfg.Routes)-10))
				break
			}
			f.Evidence = append(f.Evidence, fmt.Sprintf("route %s takes %s", cfg.Routes[i].Name, describeMatch(&cfg.Routes[i])))
		}
	default:
		best := near[0]
		texts := make([]string, len(best.misses))
		fixes := make([]string, len(best.misses))
		for i, m := range best.misses {
			texts[i], fixes[i] = m.text, m.fix
		}
		f.Route = best.route
		f.Summary += fmt.Sprintf("; the nearest is route %s (%s)", best.route, strings.Join(texts, "; "))
		f.Fix = strings.Join(fixes, "; and ")
		for _, n := range near {
			for _, m := range n.misses {
				f.Evidence = append(f.Evidence, fmt.Sprintf("near miss: route %s: %s", n.route, m.text))
			}
		}
	}
	d.found.add(f)
	d.progress("[1/6] route: no route matches %s (%d near %s)", q, len(near), plural(len(near), "miss", "misses"))
	d.progress("[2/6] targets: skipped, no route")
	d.progress("[3/6] health: skipped, no route")
	d.progress("[4/6] request log: skipped, no route")
	d.progress("[5/6] timeouts: skipped, no route")
	d.progress("[6/6] retries: skipped, no route")
}

// orList joins items with commas and a final "or".
func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// plural picks the word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
