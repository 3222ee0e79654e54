// Package router canonicalises request paths and matches requests to routes.
//
// # Canonical paths
//
// [Canonicalize] turns the escaped (wire) form of a request path into the one
// canonical escaped path that the gateway uses for routing, for authorisation
// and for forwarding upstream. Because all three see the same string, a path
// such as /public/%2e%2e/private is routed, authorised and forwarded as
// /private, never as something under /public.
//
// # Matching
//
// A request matches a [Route] when all of these hold:
//
//   - its host matches one of the route's hosts, or the route lists none;
//   - its canonical path matches one of the route's path specs (a route with
//     no path spec has the prefix "/");
//   - its method is one of the route's methods, or the route lists none;
//   - every header condition of the route holds.
//
// # Priority
//
// When several routes match a request, the winner is decided by these rules,
// each one consulted only when the ones before it tie:
//
//  1. Host. Routes with an exact host beat routes with a wildcard host, which
//     beat routes with no host; among wildcards the longer suffix wins
//     (*.eu.example.org beats *.example.org). Host groups are tried from the
//     most specific down: when no route of a group matches the rest of the
//     request, the next group is tried.
//  2. Path. An exact path (=/p) beats a regex (~re), which beats a prefix
//     (/p). Among prefixes the longer prefix wins; all matching regexes rank
//     equal at this level, so they are ordered by the rules below.
//  3. Conditions. A route with more conditions wins, counting one for each
//     header and one if the route restricts methods.
//  4. Config order. The route earlier in the routes slice wins; within one
//     route, the path spec listed first wins.
//
// A route with several hosts or path specs takes part once per (host, path
// spec) pair, each ranked on its own, and the best-ranked pair decides where
// the route stands.
//
// # Cost
//
// [Compile] indexes the routes so that [Router.Match] does work proportional
// to the request, not to the number of routes: exact hosts and exact paths are
// map lookups, wildcard hosts are one lookup per label of the request host,
// prefixes live in a trie walked along the path's segments, and regexes
// anchored with ^ are filed in the same trie under their literal prefix, so
// only regexes whose literal prefix the path starts with are ever run. A regex
// that is not anchored, or has no literal prefix, is tried for every request
// that reaches its host group; the package cannot index it.
package router
