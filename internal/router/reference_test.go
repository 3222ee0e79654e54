package router

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// reference is a brute-force matcher written straight from the package
// documentation: it checks every (host, path spec) pair of every route and
// keeps the best-ranked one. It shares no matching code with the Router.
type reference struct {
	routes []Route
	res    map[string]*regexp.Regexp
}

func newReference(t testing.TB, routes []Route) *reference {
	ref := &reference{routes: routes, res: make(map[string]*regexp.Regexp)}
	for _, rt := range routes {
		for _, spec := range rt.Paths {
			if p, ok := strings.CutPrefix(spec, "~"); ok && ref.res[p] == nil {
				ref.res[p] = regexp.MustCompile(p)
			}
		}
	}
	return ref
}

// rank orders candidates; a smaller rank wins.
type rank struct {
	hostClass, hostLen    int // 0 exact, 1 wildcard (longer suffix first), 2 any host
	tier, prefixLen       int // 0 exact, 1 regex, 2 prefix (longer first)
	conds, route, specIdx int
}

func (a rank) compare(b rank) int {
	return cmp.Or(
		cmp.Compare(a.hostClass, b.hostClass),
		cmp.Compare(b.hostLen, a.hostLen),
		cmp.Compare(a.tier, b.tier),
		cmp.Compare(b.prefixLen, a.prefixLen),
		cmp.Compare(b.conds, a.conds),
		cmp.Compare(a.route, b.route),
		cmp.Compare(a.specIdx, b.specIdx),
	)
}

// match returns the best match and its rank.
func (ref *reference) match(host, path, method string, h http.Header) (Match, rank, bool) {
	if hp, _, err := net.SplitHostPort(host); err == nil {
		host = hp
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	var best rank
	var bestMatch Match
	found := false
	regexHits := make(map[string]bool) // each distinct regex runs once per request
	for i, rt := range ref.routes {
		hostClass, hostLen, ok := refHost(rt.Hosts, host)
		if !ok || !refConds(rt, method, h) {
			continue
		}
		conds := len(rt.Headers)
		if len(rt.Methods) > 0 {
			conds++
		}
		specs := rt.Paths
		if len(specs) == 0 {
			specs = []string{"/"}
		}
		for j, spec := range specs {
			var tier, plen int
			var prefix string
			switch {
			case strings.HasPrefix(spec, "="):
				p, _ := Canonicalize(spec[1:])
				if p != path {
					continue
				}
				tier, prefix = 0, path
			case strings.HasPrefix(spec, "~"):
				re := ref.res[spec[1:]]
				hit, seen := regexHits[spec[1:]]
				if !seen {
					hit = re.MatchString(path)
					regexHits[spec[1:]] = hit
				}
				if !hit {
					continue
				}
				tier = 1
				if loc := re.FindStringIndex(path); loc[0] == 0 {
					prefix = path[:loc[1]]
				}
			default:
				p, _ := Canonicalize(spec)
				if strings.HasSuffix(p, "/") && !strings.HasPrefix(path, p) ||
					!strings.HasSuffix(p, "/") && path != p && !strings.HasPrefix(path, p+"/") {
					continue
				}
				tier, plen, prefix = 2, len(p), p
			}
			r := rank{hostClass, hostLen, tier, plen, conds, i, j}
			if !found || r.compare(best) < 0 {
				best, bestMatch, found = r, Match{Index: i, Prefix: prefix}, true
			}
		}
	}
	return bestMatch, best, found
}

// refHost reports whether host matches one of specs and how specific the
// best matching spec is.
func refHost(specs []string, host string) (class, length int, ok bool) {
	if len(specs) == 0 {
		return 2, 0, true
	}
	class = 3
	for _, s := range specs {
		s = strings.ToLower(strings.TrimSuffix(s, "."))
		if suffix, wild := strings.CutPrefix(s, "*"); wild {
			if len(host) > len(suffix) && strings.HasSuffix(host, suffix) &&
				(class > 1 || class == 1 && len(suffix) > length) {
				class, length = 1, len(suffix)
			}
		} else if s == host {
			class, length = 0, 0
		}
	}
	return class, length, class < 3
}

func refConds(rt Route, method string, h http.Header) bool {
	if len(rt.Methods) > 0 && !slices.ContainsFunc(rt.Methods, func(m string) bool { return strings.ToUpper(m) == method }) {
		return false
	}
	for name, value := range rt.Headers {
		if !slices.Contains(h.Values(name), value) {
			return false
		}
	}
	return true
}

// generator builds random routes and requests over small vocabularies, so
// that routes overlap a lot and every priority rule gets exercised.
type generator struct {
	rng *rand.Rand
}

var (
	// genSegments are the segments routes are made of; requests also use
	// genStray, which no route names.
	genSegments = []string{"orders", "items", "users", "carts", "v1", "v2", "a", "b", "c", "d", "e", "f",
		"12", "345", "x%2Fy", "ord", "order", "api", "pay", "ship", "tax", "docs", "img", "js"}
	genStray = []string{"zz", "unknown", "99"}
	genExact = []string{"api.example.com", "shop.example.com", "a.b.example.com", "example.net", "h1.example.io", "h2.example.io"}
	genWild  = []string{"*.example.com", "*.b.example.com", "*.example.net", "*.io"}
	genHosts = []string{"api.example.com", "shop.example.com", "a.b.example.com", "x.b.example.com", "deep.x.b.example.com",
		"example.net", "z.example.net", "example.com", "h1.example.io", "h3.example.io", "other.org", ""}
	genMethods = []string{"GET", "POST", "DELETE"}
	genTenants = []string{"t0", "t1", "t2"}
)

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// path returns a path of minDepth to maxDepth segments, sometimes with a
// trailing slash; stray > 0 mixes in segments no route uses, one in stray.
func (g *generator) path(minDepth, maxDepth, stray int) string {
	var b strings.Builder
	for range minDepth + g.rng.IntN(maxDepth-minDepth+1) {
		seg := g.pick(genSegments)
		if stray > 0 && g.rng.IntN(stray) == 0 {
			seg = g.pick(genStray)
		}
		b.WriteString("/" + seg)
	}
	if b.Len() == 0 || g.rng.IntN(5) == 0 {
		b.WriteString("/")
	}
	return b.String()
}

func (g *generator) pathSpec() string {
	seg := func() string { return g.pick(genSegments) }
	switch n := g.rng.IntN(1000); {
	case n < 700:
		return g.path(1, 3, 0)
	case n < 850:
		return "=" + g.path(1, 3, 0)
	case n < 900:
		return fmt.Sprintf("~^/%s/%s/[0-9]+$", seg(), seg())
	case n < 940:
		return fmt.Sprintf("~^/%s/%s(/.*)?$", seg(), seg())
	case n < 980:
		return fmt.Sprintf("~^/%s/%s/%s", seg(), seg(), seg()[:1])
	case n < 990:
		return fmt.Sprintf("~^/%s/%s/%s$", seg(), seg(), seg())
	case n < 996:
		return fmt.Sprintf("~(?i)^/%s/%s/%s", strings.ToUpper(seg()), seg(), seg())
	default:
		return fmt.Sprintf("~/%s/%s/%s$", seg(), seg(), seg())
	}
}

func (g *generator) route(i int) Route {
	rt := Route{Name: fmt.Sprintf("r%d", i)}
	switch n := g.rng.IntN(10); {
	case n < 4:
	case n < 8:
		for range 1 + g.rng.IntN(2) {
			rt.Hosts = append(rt.Hosts, g.pick(genExact))
		}
	default:
		rt.Hosts = append(rt.Hosts, g.pick(genWild))
	}
	for range 1 + g.rng.IntN(2) {
		rt.Paths = append(rt.Paths, g.pathSpec())
	}
	if g.rng.IntN(3) == 0 {
		rt.Methods = []string{g.pick(genMethods)}
		if g.rng.IntN(2) == 0 {
			rt.Methods = append(rt.Methods, strings.ToLower(g.pick(genMethods)))
		}
	}
	if g.rng.IntN(4) == 0 {
		rt.Headers = map[string]string{"X-Tenant": g.pick(genTenants)}
		if g.rng.IntN(3) == 0 {
			rt.Headers["x-plan"] = "gold"
		}
	}
	return rt
}

func (g *generator) request() req {
	host := g.pick(genHosts)
	if host != "" {
		switch g.rng.IntN(6) {
		case 0:
			host = strings.ToUpper(host)
		case 1:
			host += ":8080"
		case 2:
			host += "."
		}
	}
	h := http.Header{}
	if g.rng.IntN(2) == 0 {
		h.Set("X-Tenant", g.pick(genTenants))
	}
	if g.rng.IntN(3) == 0 {
		h.Set("X-Plan", "gold")
	}
	return req{host: host, path: g.path(0, 4, 8), method: g.pick(genMethods), header: h}
}

// TestMatchAgainstReference compiles 10 000 generated routes and checks that
// the Router and the brute-force reference agree on a sample of requests.
func TestMatchAgainstReference(t *testing.T) {
	samples := 1000
	if testing.Short() {
		samples = 300
	}
	g := &generator{rng: rand.New(rand.NewPCG(1, 2))}
	routes := make([]Route, 10_000)
	for i := range routes {
		routes[i] = g.route(i)
	}
	r, err := Compile(routes)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	ref := newReference(t, routes)

	var tiers [4]int // exact, regex, prefix, no match
	var hosts [3]int // exact, wildcard, any
	for range samples {
		q := g.request()
		want, wantRank, wantOK := ref.match(q.host, q.path, q.method, q.header)
		got, gotOK := r.Match(q.host, q.path, q.method, q.header)
		if gotOK != wantOK || got != want {
			t.Fatalf("request %+v:\n got %v %+v (%+v)\nwant %v %+v (%+v)",
				q, gotOK, got, routeAt(routes, got, gotOK), wantOK, want, routeAt(routes, want, wantOK))
		}
		if wantOK {
			tiers[wantRank.tier]++
			hosts[wantRank.hostClass]++
		} else {
			tiers[3]++
		}
	}
	// The generator must keep exercising every tier, or the test proves little.
	for i, name := range []string{"exact", "regex", "prefix", "no match"} {
		if tiers[i] < samples/50 {
			t.Errorf("only %d of %d requests ended in tier %s", tiers[i], samples, name)
		}
	}
	for i, name := range []string{"exact", "wildcard", "any"} {
		if hosts[i] < samples/50 {
			t.Errorf("only %d of %d requests matched in host group %s", hosts[i], samples, name)
		}
	}
	t.Logf("tiers (exact, regex, prefix, none): %v; host groups (exact, wildcard, any): %v", tiers, hosts)
}

func routeAt(routes []Route, m Match, ok bool) any {
	if !ok {
		return nil
	}
	return routes[m.Index]
}
