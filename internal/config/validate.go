package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Validate checks the whole config and returns every problem found, sorted
// by line; nil means the config is valid. It checks values and the
// references between entities (a route's upstream, a model's providers…),
// not the outside world: files named in the config need not exist and
// addresses are not dialled. Plugin configurations are only checked for
// known plugin names; each plugin's factory validates its own settings.
// Validate does not change c.
func (c *Config) Validate() Problems {
	v := &validator{c: c}
	v.server()
	v.storage()
	v.upstreams()
	v.routes()
	v.plugins("plugins", c.Plugins, "")
	v.consumers()
	v.ai()
	v.telemetry()
	v.ps.sort()
	return v.ps
}

// validator collects the problems of one Validate call.
type validator struct {
	c  *Config
	ps Problems
}

// addf records a problem about the value at path, placed on its line and
// prefixed with the path.
func (v *validator) addf(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	v.ps = append(v.ps, Problem{File: v.c.file, Line: v.c.Line(path), Path: path, Message: msg})
}

// name checks an entity's name: non-empty, made of [A-Za-z0-9._-] (plus
// extra, for kinds that allow more), and unique among seen, which maps the
// names met so far to their paths.
func (v *validator) name(path, kind, name, extra string, seen map[string]string) {
	switch {
	case name == "":
		v.addf(path, "every %s needs a name", kind)
		return
	case !isName(name, extra):
		allowed := []string{"letters", "digits", `"."`, `"_"`, `"-"`}
		for _, r := range extra {
			allowed = append(allowed, strconv.Quote(string(r)))
		}
		v.addf(path, "%s name %s may only contain %s", kind, quoteShort(name), wordList(allowed, "and"))
	}
	if first, dup := seen[name]; dup {
		if line := v.c.Line(first); line > 0 {
			v.addf(path, "%s %q is already defined on line %d", kind, name, line)
		} else {
			v.addf(path, "%s %q is defined twice", kind, name)
		}
		return
	}
	seen[name] = path
}

// isName reports whether s is made of letters, digits, ".", "_", "-" and
// the characters in extra.
func isName(s, extra string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '_' || r == '-' || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return true
}

// oneOf checks that value is one of allowed.
func (v *validator) oneOf(path, what, value string, allowed ...string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	v.addf(path, "%s is not a valid %s; use %s", quoteShort(value), what, orList(allowed))
	return false
}

// orList formats ["a", "b", "c"] as "a, b or c".
func orList(items []string) string { return wordList(items, "or") }

// wordList joins items with commas and conj before the last: "a, b and c".
func wordList(items []string, conj string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + conj + " " + items[len(items)-1]
}

// positive checks a duration that must be greater than 0.
func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.addf(path, "must be greater than 0, got %s", d)
	}
}

// intRange checks lo <= n <= hi.
func (v *validator) intRange(path string, n, lo, hi int) {
	if n < lo || n > hi {
		v.addf(path, "must be between %d and %d, got %d", lo, hi, n)
	}
}

// undefined reports a reference to a kind of entity that does not exist,
// suggesting the closest defined name.
func (v *validator) undefined(path, kind, name string, defined map[string]string) {
	msg := fmt.Sprintf("%s %q is not defined", kind, name)
	if s := suggest(name, mapKeys(defined)); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	v.addf(path, "%s", msg)
}

func mapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (v *validator) server() {
	s := &v.c.Server
	v.listen("server.listen", s.Listen)
	v.listen("server.admin_listen", s.AdminListen)
	if sameListener(s.Listen, s.AdminListen) {
		v.addf("server.admin_listen", "%q overlaps listen %q; the admin API needs its own port", s.AdminListen, s.Listen)
	}
	for i, p := range s.TrustedProxies {
		if _, err := parseTrusted(p); err != nil {
			v.addf(joinIndex("server.trusted_proxies", i), "%v", err)
		}
	}
	if s.TLS != nil {
		if s.TLS.CertFile == "" {
			v.addf("server.tls.cert_file", "required when tls is set")
		}
		if s.TLS.KeyFile == "" {
			v.addf("server.tls.key_file", "required when tls is set")
		}
	}
	v.positive("server.read_header_timeout", s.ReadHeaderTimeout)
	v.positive("server.idle_timeout", s.IdleTimeout)
	v.positive("server.shutdown_timeout", s.ShutdownTimeout)
	if s.MaxHeaderBytes <= 0 {
		v.addf("server.max_header_bytes", "must be greater than 0, got %s", s.MaxHeaderBytes)
	}
	if s.MaxURLBytes <= 0 {
		v.addf("server.max_url_bytes", "must be greater than 0, got %s", s.MaxURLBytes)
	}
}

// listen checks a listener address: host:port with a numeric port, the
// host empty (all interfaces), an IP address or a host name.
func (v *validator) listen(path, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.addf(path, `%s is not a host:port address like ":8080" or "127.0.0.1:8080"`, quoteShort(addr))
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.addf(path, "port %s is not a number from 0 to 65535", quoteShort(port))
	}
	if _, err := netip.ParseAddr(host); host != "" && err != nil && !isHostname(host) {
		v.addf(path, "host %s is not an IP address or host name", quoteShort(host))
	}
}

// sameListener reports whether two valid listener addresses would bind the
// same port on overlapping interfaces. Port 0 (any free port) never clashes.
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wildcard(ha) || wildcard(hb)
}

// parseTrusted parses a trusted proxy entry, an IP address or a CIDR
// range, into a masked prefix.
func parseTrusted(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("%s is not an IP address or CIDR range like 10.0.0.0/8", quoteShort(s))
}

func (v *validator) storage() {
	c := v.c
	if v.oneOf("storage.driver", "storage driver", c.Storage.Driver, "sqlite", "postgres") &&
		c.Storage.Driver == "postgres" && c.Storage.DSN == "" {
		v.addf("storage.dsn", "postgres needs a dsn like postgres://user:password@host:5432/sluice")
	}
	if c.Redis.URL != "" {
		u, err := url.Parse(c.Redis.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			// The URL may carry a password: never echo it.
			v.addf("redis.url", "must be a URL like redis://host:6379/0 or rediss://host:6380/0")
		}
	}
	v.oneOf("log.level", "log level", c.Log.Level, "debug", "info", "warn", "error")
	if c.Log.Access == "" {
		v.addf("log.access", "must be stdout, stderr, off or a file path")
	}
	if c.Log.RequestLog.MaxAge < 0 {
		v.addf("log.request_log.max_age", "must not be negative")
	}
	if c.Log.RequestLog.MaxRows < 0 {
		v.addf("log.request_log.max_rows", "must not be negative")
	}
	if c.Log.RequestLog.SuccessPerSecond < 0 {
		v.addf("log.request_log.success_per_second", "must not be negative")
	}
}

// pluginNames are the stable plugin names of CONTRACT §2.
var pluginNames = []string{
	"key-auth", "jwt", "basic-auth", "acl", "ip-restriction", "cors",
	"rate-limit", "request-size-limit", "request-transform",
	"response-transform", "request-termination",
	"ai-rate-limit", "ai-budget", "ai-prompt-guard",
}

// plugins checks the plugin names of a plugins map at path. For a route's
// plugins, route is the route's kind of target ("upstream" or "ai"), so
// AI-only plugins on an upstream route are refused; "" for global plugins.
func (v *validator) plugins(path string, plugins map[string]map[string]any, route string) {
	for _, name := range sortedKeys(plugins) {
		pp := joinKey(path, name)
		switch {
		case !slices.Contains(pluginNames, name):
			msg := fmt.Sprintf("unknown plugin %q", name)
			if s := suggest(name, pluginNames); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += "; plugins are " + orList(pluginNames)
			}
			v.addf(pp, "%s", msg)
		case route == "upstream" && strings.HasPrefix(name, "ai-"):
			v.addf(pp, "plugin %s only works on ai routes", name)
		}
	}
}

// sortedKeys returns m's keys in order, so problems come out in a stable
// order when they share a line.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// normalize rewrites values into their canonical form once the config is
// valid: trusted proxies become masked CIDR prefixes.
func (c *Config) normalize() {
	for i, p := range c.Server.TrustedProxies {
		if prefix, err := parseTrusted(p); err == nil {
			c.Server.TrustedProxies[i] = prefix.String()
		}
	}
}

// isHostname reports whether s is a DNS host name: dot-separated labels of
// 1 to 63 letters, digits, "-" or "_", not starting or ending with "-",
// at most 253 bytes in all.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), the syntax
// of header names and methods.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// httpURL checks a URL that must be http or https with a host. It returns
// the parsed URL, or nil after reporting the problem at path.
func (v *validator) httpURL(path, s string) *url.URL {
	u, err := url.Parse(s)
	switch {
	case s == "":
		v.addf(path, "a URL is required")
	case err != nil:
		v.addf(path, "%s is not a valid URL", quoteShort(s))
	case u.Scheme != "http" && u.Scheme != "https":
		v.addf(path, "%s must start with http:// or https://", quoteShort(s))
	case u.Hostname() == "":
		v.addf(path, "%s has no host", quoteShort(s))
	case u.User != nil:
		v.addf(path, "%s must not contain a user or password; send credentials in headers instead", quoteShort(u.Redacted()))
	default:
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				v.addf(path, "%s has port %s, which is not from 1 to 65535", quoteShort(s), p)
				return nil
			}
		}
		return u
	}
	return nil
}
