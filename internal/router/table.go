package router

import (
	"net/http"
	"slices"
	"strings"
)

// table indexes the path specs of one host group.
type table struct {
	// exact maps a canonical path to the exact specs naming it.
	exact map[string][]*entry
	// root is the trie node of the path "/".
	root *node
	// loose holds the regexes that have no usable literal prefix (not
	// anchored with ^, or starting with something other than a literal);
	// they are tried for every request that reaches the group.
	loose []*entry
}

// node is a trie node standing for the path /s1/.../sk spelled by the
// segments on the way to it from the root (k = 0 for the root).
type node struct {
	parent   *node
	children map[string]*node
	// prefix holds the prefix specs "/s1/.../sk" (never at the root).
	prefix []*entry
	// slash holds the prefix specs "/s1/.../sk/"; at the root that is "/".
	slash []*entry
	// regex files the anchored regexes whose literal prefix is
	// "/s1/.../sk/" + key, key holding no '/'.
	regex map[string][]*entry
	// maxKey is the length of the longest key in regex.
	maxKey int
}

func newTable() *table {
	return &table{root: &node{}}
}

// insert files e in the table.
func (t *table) insert(e *entry) {
	switch e.kind {
	case kindExact:
		if t.exact == nil {
			t.exact = make(map[string][]*entry)
		}
		t.exact[e.path] = append(t.exact[e.path], e)
	case kindPrefix:
		// "/a/b" -> node a/b, prefix; "/a/b/" -> node a/b, slash; "/" -> root, slash.
		dir, last := splitLast(e.path)
		n := t.nodeAt(dir)
		if last == "" {
			n.slash = append(n.slash, e)
			break
		}
		n = n.child(last)
		n.prefix = append(n.prefix, e)
	case kindRegex:
		if e.regex.literal == "" {
			t.loose = append(t.loose, e)
			break
		}
		dir, key := splitLast(e.regex.literal)
		n := t.nodeAt(dir)
		if n.regex == nil {
			n.regex = make(map[string][]*entry)
		}
		n.regex[key] = append(n.regex[key], e)
		n.maxKey = max(n.maxKey, len(key))
	}
}

// splitLast splits a path beginning with '/' at its last '/': "/a/b/c" gives
// ("/a/b", "c"), "/a/" gives ("/a", "") and "/a" gives ("", "a").
func splitLast(p string) (dir, last string) {
	i := strings.LastIndexByte(p, '/')
	return p[:i], p[i+1:]
}

// nodeAt returns the node for dir ("" or "/s1/.../sk"), creating it as needed.
func (t *table) nodeAt(dir string) *node {
	n := t.root
	if dir == "" {
		return n
	}
	for seg := range strings.SplitSeq(dir[1:], "/") {
		n = n.child(seg)
	}
	return n
}

// child returns the child of n for segment seg, creating it as needed.
func (n *node) child(seg string) *node {
	c := n.children[seg]
	if c == nil {
		if n.children == nil {
			n.children = make(map[string]*node)
		}
		c = &node{parent: n}
		n.children[seg] = c
	}
	return c
}

// finish sorts every candidate list into rank order. It runs once, after
// every entry has been inserted.
func (t *table) finish() {
	for _, es := range t.exact {
		sortEntries(es)
	}
	sortEntries(t.loose)
	t.root.finish()
}

func (n *node) finish() {
	sortEntries(n.prefix)
	sortEntries(n.slash)
	for _, es := range n.regex {
		sortEntries(es)
	}
	for _, c := range n.children {
		c.finish()
	}
}

func sortEntries(es []*entry) {
	slices.SortFunc(es, func(a, b *entry) int {
		switch {
		case a.outranks(b):
			return -1
		case b.outranks(a):
			return 1
		}
		return 0
	})
}

// request is what a table needs to know about the request being matched.
type request struct {
	path   string
	method string
	header http.Header
	conds  []conditions // the router's, indexed by route
}

func (q *request) accepts(e *entry) bool {
	return q.conds[e.route].accept(q.method, q.header)
}

// match finds the best entry of the table for q, following the path rules
// of the package documentation: exact, then regex, then the longest prefix.
func (t *table) match(q *request) (Match, bool) {
	path := q.path
	for _, e := range t.exact[path] {
		if q.accepts(e) {
			return Match{Index: e.route, Prefix: path}, true
		}
	}

	// Walk the trie along the path's segments, trying the regexes filed
	// under literal prefixes that the path starts with, and remember the
	// deepest node reached for the prefix pass.
	var best *entry
	n, pos := t.root, 1
	var deepest *node
	more := true // whether the path continues with '/' past deepest
	for {
		end := strings.IndexByte(path[pos:], '/')
		if end < 0 {
			end = len(path)
		} else {
			end += pos
		}
		seg := path[pos:end]
		if n.regex != nil {
			for k := 0; k <= len(seg) && k <= n.maxKey; k++ {
				if es, ok := n.regex[seg[:k]]; ok {
					best = q.bestRegex(es, best)
				}
			}
		}
		c := n.children[seg]
		if c == nil {
			deepest = n
			break
		}
		if end == len(path) {
			deepest, more = c, false
			break
		}
		n, pos = c, end+1
	}
	best = q.bestRegex(t.loose, best)
	if best != nil {
		return Match{Index: best.route, Prefix: best.regex.matchedPrefix(path)}, true
	}

	// Prefixes, longest first: deeper nodes first, and at one node the
	// trailing-slash form before the bare one.
	for n := deepest; n != nil; n = n.parent {
		if more {
			for _, e := range n.slash {
				if q.accepts(e) {
					return Match{Index: e.route, Prefix: e.path}, true
				}
			}
		}
		for _, e := range n.prefix {
			if q.accepts(e) {
				return Match{Index: e.route, Prefix: e.path}, true
			}
		}
		more = true
	}
	return Match{}, false
}

// bestRegex returns the better of best and the best regex entry of es that
// matches q. es is in rank order, so the scan stops at the first entry that
// cannot beat best, and conditions are checked before the regex runs.
func (q *request) bestRegex(es []*entry, best *entry) *entry {
	for _, e := range es {
		if best != nil && !e.outranks(best) {
			break
		}
		if q.accepts(e) && e.regex.re.MatchString(q.path) {
			return e
		}
	}
	return best
}
