package config

import "strings"

// upstreams checks every upstream: its name, targets, balancing, timeouts,
// retries and health checks.
func (v *validator) upstreams() {
	seen := map[string]string{}
	for i := range v.c.Upstreams {
		u := &v.c.Upstreams[i]
		p := joinIndex("upstreams", i)
		v.name(p+".name", "upstream", u.Name, "", seen)
		v.targets(p, u.Targets)
		if v.oneOf(p+".balancer", "balancer", u.Balancer, "round_robin", "least_conn", "hash", "latency") {
			v.hashOn(p, u)
		}
		v.timeouts(p+".timeouts", u.Timeouts)
		v.intRange(p+".retries", u.Retries, 0, 10)
		for j, status := range u.RetryOnStatus {
			v.intRange(joinIndex(p+".retry_on_status", j), status, 400, 599)
		}
		if u.MaxConnections < 0 {
			v.addf(p+".max_connections", "must be 0 (unlimited) or more, got %d", u.MaxConnections)
		}
		if u.RetryBuffer < 0 {
			v.addf(p+".retry_buffer", "must be 0 or more, got %d", u.RetryBuffer)
		}
		if u.KeepAlive.MaxIdle < 0 {
			v.addf(p+".keep_alive.max_idle", "must be 0 or more, got %d", u.KeepAlive.MaxIdle)
		}
		if u.KeepAlive.IdleTimeout < 0 {
			v.addf(p+".keep_alive.idle_timeout", "must be 0 (no limit) or more, got %s", u.KeepAlive.IdleTimeout)
		}
		v.healthCheck(p+".health_check", u.HealthCheck)
	}
}

func (v *validator) targets(upstream string, targets []Target) {
	if len(targets) == 0 {
		v.addf(upstream+".targets", "an upstream needs at least one target")
		return
	}
	seen := map[string]string{}
	for i, t := range targets {
		p := joinIndex(upstream+".targets", i)
		v.targetURL(p+".url", t.URL)
		v.intRange(p+".weight", t.Weight, 0, 1000)
		if first, dup := seen[t.URL]; dup && t.URL != "" {
			v.addf(p+".url", "target %s is listed twice (first on line %d); use weight to give it more traffic", quoteShort(t.URL), v.c.Line(first))
		} else {
			seen[t.URL] = p
		}
	}
}

// targetURL checks a target address: http or https, a host, an optional
// port, and nothing else.
func (v *validator) targetURL(path, s string) {
	u := v.httpURL(path, s)
	switch {
	case u == nil:
	case u.Path != "" && u.Path != "/" || u.RawPath != "":
		v.addf(path, "%s must not have a path (%s): a target is scheme://host:port only; "+
			"to change the forwarded path use strip_path or request-transform on the route", quoteShort(s), u.EscapedPath())
	case u.RawQuery != "" || u.ForceQuery:
		v.addf(path, "%s must not have a query: a target is scheme://host:port only", quoteShort(s))
	case u.Fragment != "":
		v.addf(path, "%s must not have a fragment: a target is scheme://host:port only", quoteShort(s))
	}
}

// hashOn checks hash_on against the balancer: required by hash, meaningless
// for the others.
func (v *validator) hashOn(upstream string, u *Upstream) {
	p := upstream + ".hash_on"
	switch {
	case u.Balancer != "hash" && u.HashOn != "":
		v.addf(p, "only used with balancer: hash (this upstream uses %s)", u.Balancer)
	case u.Balancer != "hash":
	case u.HashOn == "":
		v.addf(upstream+".balancer", "balancer hash needs hash_on: header:NAME, ip, consumer or path")
	case u.HashOn == "ip", u.HashOn == "consumer", u.HashOn == "path":
	case strings.HasPrefix(u.HashOn, "header:"):
		if name := strings.TrimPrefix(u.HashOn, "header:"); !isToken(name) {
			v.addf(p, "%s is not a valid header name", quoteShort(name))
		}
	default:
		v.addf(p, "%s is not valid; use header:NAME, ip, consumer or path", quoteShort(u.HashOn))
	}
}

func (v *validator) timeouts(path string, t Timeouts) {
	v.positive(path+".connect", t.Connect)
	v.positive(path+".read", t.Read)
	v.positive(path+".write", t.Write)
	v.positive(path+".total", t.Total)
	if t.Total > 0 && t.Total < t.Connect {
		v.addf(path+".total", "%s is shorter than connect (%s); total bounds the whole request including retries", t.Total, t.Connect)
	}
}

func (v *validator) healthCheck(path string, h HealthCheck) {
	if a := h.Active; a != nil {
		p := path + ".active"
		if !strings.HasPrefix(a.Path, "/") {
			v.addf(p+".path", "%s must start with /", quoteShort(a.Path))
		}
		v.positive(p+".interval", a.Interval)
		v.positive(p+".timeout", a.Timeout)
		if a.Interval > 0 && a.Timeout > a.Interval {
			v.addf(p+".timeout", "%s is longer than interval (%s); a probe must end before the next one starts", a.Timeout, a.Interval)
		}
		v.threshold(p+".healthy", a.Healthy)
		v.threshold(p+".unhealthy", a.Unhealthy)
		for i, s := range a.Statuses {
			v.intRange(joinIndex(p+".statuses", i), s, 100, 599)
		}
	}
	if ps := h.Passive; ps != nil {
		p := path + ".passive"
		v.threshold(p+".unhealthy", ps.Unhealthy)
		v.positive(p+".cooldown", ps.Cooldown)
	}
}

// threshold checks a count of consecutive results, which must be >= 1.
func (v *validator) threshold(path string, n int) {
	if n < 1 {
		v.addf(path, "must be at least 1, got %d", n)
	}
}
