package config

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
)

// routes checks every route: its name, its target (exactly one of upstream
// and ai, and that it exists), its match rules and its plugin names.
func (v *validator) routes() {
	upstreams := map[string]string{}
	for i, u := range v.c.Upstreams {
		if _, dup := upstreams[u.Name]; !dup && u.Name != "" {
			upstreams[u.Name] = joinIndex("upstreams", i)
		}
	}
	models := modelNames(v.c.AI.Models)
	seen := map[string]string{}
	for i := range v.c.Routes {
		r := &v.c.Routes[i]
		p := joinIndex("routes", i)
		v.name(p+".name", "route", r.Name, "", seen)
		kind := ""
		switch {
		case r.Upstream != "" && r.AI != nil:
			v.addf(p, "set either upstream or ai, not both")
		case r.Upstream == "" && r.AI == nil:
			v.addf(p, "set upstream: NAME to proxy to an upstream, or ai: {} to serve the AI gateway")
		case r.AI != nil:
			kind = "ai"
			for j, m := range r.AI.Models {
				if _, ok := models[m]; !ok {
					v.undefined(joinIndex(p+".ai.models", j), "model", m, models)
				}
			}
		default:
			kind = "upstream"
			if _, ok := upstreams[r.Upstream]; !ok {
				v.undefined(p+".upstream", "upstream", r.Upstream, upstreams)
			}
		}
		v.match(p+".match", &r.Match)
		v.plugins(p+".plugins", r.Plugins, kind)
	}
}

// modelNames maps each AI model name to the path of its first definition.
func modelNames(models []Model) map[string]string {
	names := map[string]string{}
	for i, m := range models {
		if _, dup := names[m.Name]; !dup && m.Name != "" {
			names[m.Name] = joinIndex("ai.models", i)
		}
	}
	return names
}

func (v *validator) match(path string, m *RouteMatch) {
	for i, h := range m.Hosts {
		if msg := hostProblem(h); msg != "" {
			v.addf(joinIndex(path+".hosts", i), "%s", msg)
		}
	}
	for i, p := range m.Paths {
		if msg := pathProblem(p); msg != "" {
			v.addf(joinIndex(path+".paths", i), "%s", msg)
		}
	}
	for i, method := range m.Methods {
		switch {
		case !isToken(method):
			v.addf(joinIndex(path+".methods", i), "%s is not an HTTP method", quoteShort(method))
		case method != strings.ToUpper(method):
			v.addf(joinIndex(path+".methods", i), "%s must be upper-case, like %s", quoteShort(method), strings.ToUpper(method))
		}
	}
	for _, name := range sortedKeys(m.Headers) {
		if !isToken(name) {
			v.addf(joinKey(path+".headers", name), "%s is not a valid header name", quoteShort(name))
		}
	}
}

// hostProblem says what is wrong with a route host, "" if nothing.
func hostProblem(h string) string {
	q := quoteShort(h)
	switch name := strings.TrimPrefix(h, "*."); {
	case h == "":
		return "a host must not be empty"
	case h == "*":
		return `"*" alone would match every host; leave hosts out instead`
	case strings.ContainsAny(h, ":[]"):
		return q + " must not include a port; hosts match the name only"
	case strings.HasSuffix(h, "."):
		return q + " must not end with a dot"
	case strings.Contains(name, "*"):
		return q + `: "*" is only allowed as the whole leftmost label, like *.example.com`
	case !isHostname(name):
		return q + " is not a valid host name"
	}
	return ""
}

// pathProblem says what is wrong with a route path, "" if nothing.
func pathProblem(p string) string {
	q := quoteShort(p)
	switch {
	case p == "":
		return "a path must not be empty"
	case strings.HasPrefix(p, "~"):
		if p == "~" {
			return `"~" must be followed by a regular expression, like ~^/orders/[0-9]+$`
		}
		if _, err := regexp.Compile(p[1:]); err != nil {
			reason := err.Error()
			if se, ok := errors.AsType[*syntax.Error](err); ok {
				reason = fmt.Sprintf("%s: %s", se.Code, quoteShort(se.Expr))
			}
			return "regular expression " + q + " does not compile: " + reason
		}
		return ""
	case strings.HasPrefix(p, "="):
		if !strings.HasPrefix(p[1:], "/") {
			return q + `: "=" must be followed by an exact path starting with /, like =/health`
		}
	case !strings.HasPrefix(p, "/"):
		return q + " must start with / (a prefix), =/ (an exact path) or ~ (a regular expression)"
	}
	if strings.ContainsAny(p, "?#") {
		return q + " must not contain a query or fragment; paths match the path only"
	}
	return ""
}

// credentialOwners remember which consumer holds each credential
// identifier, which must be unique across consumers.
type credentialOwners struct {
	keys, usernames, issuers map[string]string
}

// consumers checks every consumer: name, groups and credentials.
func (v *validator) consumers() {
	seen := map[string]string{}
	owners := &credentialOwners{keys: map[string]string{}, usernames: map[string]string{}, issuers: map[string]string{}}
	for i := range v.c.Consumers {
		c := &v.c.Consumers[i]
		p := joinIndex("consumers", i)
		v.name(p+".name", "consumer", c.Name, "", seen)
		for j, g := range c.Groups {
			if g == "" || !isName(g, "") {
				v.addf(joinIndex(p+".groups", j), `group %s may only contain letters, digits, ".", "_" and "-"`, quoteShort(g))
			}
		}
		for j := range c.Credentials {
			v.credential(joinIndex(p+".credentials", j), c.Name, &c.Credentials[j], owners)
		}
		v.plugins(p+".plugins", c.Plugins, "consumer")
	}
}

// jwtAlgorithms are the supported JWT signing algorithms; those starting
// with HS use a shared secret, the others a public key.
var jwtAlgorithms = []string{
	"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
}

// credential checks that a credential has the fields its type needs, no
// fields its type ignores, and an identifier no other consumer holds.
// Messages never include secret values.
func (v *validator) credential(path, consumer string, cr *Credential, owners *credentialOwners) {
	fields := []struct{ name, value string }{
		{"key", cr.Key}, {"issuer", cr.Issuer}, {"algorithm", cr.Algorithm},
		{"secret", cr.Secret}, {"public_key", cr.PublicKey},
		{"username", cr.Username}, {"password", cr.Password},
	}
	var need, optional []string
	switch cr.Type {
	case "key-auth":
		need = []string{"key"}
		v.owner(path+".key", "this key-auth key", cr.Key, consumer, owners.keys)
	case "basic-auth":
		need = []string{"username", "password"}
		v.owner(path+".username", "username "+quoteShort(cr.Username), cr.Username, consumer, owners.usernames)
	case "jwt":
		need = []string{"issuer", "algorithm"}
		switch {
		case cr.Algorithm != "" && !v.oneOf(path+".algorithm", "jwt algorithm", cr.Algorithm, jwtAlgorithms...):
			// Without a valid algorithm the verification key's kind is
			// unknown: accept either, but one is needed.
			optional = []string{"secret", "public_key"}
			if cr.Secret == "" && cr.PublicKey == "" {
				v.addf(path, "a jwt credential needs a secret or a public_key")
			}
		case cr.Algorithm == "":
			optional = []string{"secret", "public_key"}
		case strings.HasPrefix(cr.Algorithm, "HS"):
			need = append(need, "secret")
		default:
			need = append(need, "public_key")
		}
		v.owner(path+".issuer", "issuer "+quoteShort(cr.Issuer), cr.Issuer, consumer, owners.issuers)
	default:
		v.oneOf(path+".type", "credential type", cr.Type, "key-auth", "jwt", "basic-auth")
		return
	}
	for _, f := range fields {
		switch {
		case slices.Contains(optional, f.name):
		case slices.Contains(need, f.name):
			if f.value == "" {
				v.addf(path+"."+f.name, "required by %s credentials", cr.Type)
			}
		case f.value == "":
		case cr.Type == "jwt" && f.name == "secret":
			v.addf(path+".secret", "not used with algorithm %s, which verifies with public_key", cr.Algorithm)
		case cr.Type == "jwt" && f.name == "public_key":
			v.addf(path+".public_key", "not used with algorithm %s, which verifies with secret", cr.Algorithm)
		default:
			v.addf(path+"."+f.name, "not used by %s credentials", cr.Type)
		}
	}
}

// owner records that consumer holds the identifier id in owners, reporting
// the identifier if another consumer already holds it.
func (v *validator) owner(path, what, id, consumer string, owners map[string]string) {
	if id == "" {
		return
	}
	if other, taken := owners[id]; taken {
		v.addf(path, "%s is already used by consumer %q", what, other)
		return
	}
	owners[id] = consumer
}
