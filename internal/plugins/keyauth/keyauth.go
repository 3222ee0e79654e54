// Package keyauth is the key-auth plugin: it identifies the consumer by an
// API key the request carries.
//
// Config (every field optional):
//
//	key-auth:
//	  key_names: [x-api-key]   # header and query parameter names holding the key
//	  key_in_header: true      # look for key_names as request headers
//	  key_in_query: false      # look for key_names as query parameters
//	  key_in_bearer: true      # accept "Authorization: Bearer KEY"
//	  hide_credentials: true   # remove the key from the forwarded request
//
// Header names are matched case-insensitively, query parameter names
// exactly. Every place enabled is read, and the request is refused with
// 401 unauthorized when the places disagree: two different keys (in two
// headers, twice in one header, in a header and the query), an empty key,
// a key with a comma or whitespace in it (a list-combined header), or two
// Authorization fields. The key is looked up by the consumer index's keyed
// digest, so lookup time does not depend on how much of a stored key
// matches. A request with no key at all is "no credential": another auth
// plugin of the route may still accept it. On a route that also has the
// jwt plugin, a bearer value shaped like a JWT (three dot-separated parts)
// is judged by jwt, which runs first.
//
// On success the key is removed from every place it was found in (unless
// hide_credentials is false) and a client-sent X-Consumer-Groups is
// dropped; the gateway sends the consumer upstream as X-Consumer-Name. The
// 401 challenge is `Key realm="sluice"`. Neither the key nor any part of
// it appears in a response or a log line; the private reason of a 401
// (unknown key, two keys, ...) goes to the access log.
package keyauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/plugin"
)

// Name is the plugin's stable name.
const Name = "key-auth"

func init() {
	plugin.Register(plugin.Spec{Name: Name, Phase: plugin.PhaseAuth, New: New})
}

// Config is the plugin's configuration; nil pointers take the defaults
// documented on the package.
type Config struct {
	KeyNames        []string `json:"key_names"`
	KeyInHeader     *bool    `json:"key_in_header"`
	KeyInQuery      *bool    `json:"key_in_query"`
	KeyInBearer     *bool    `json:"key_in_bearer"`
	HideCredentials *bool    `json:"hide_credentials"`
}

// KeyAuth is a key-auth instance. It is immutable and safe for concurrent
// use.
type KeyAuth struct {
	consumers *consumer.Index
	headers   []string // canonical header names, when key_in_header
	query     []string // query parameter names, when key_in_query
	bearer    bool
	hide      bool
}

var _ plugin.Authenticator = (*KeyAuth)(nil)

// reserved are header names that cannot hold a key: the gateway or the
// HTTP framing owns them.
var reserved = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Host": true,
	"Connection": true, "Content-Length": true, "Transfer-Encoding": true, "Te": true,
	"Upgrade": true, "Keep-Alive": true, "X-Consumer-Name": true, "X-Consumer-Groups": true,
	"X-Request-Id": true, "X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true,
	"X-Real-Ip": true, "Forwarded": true,
}

// New builds a key-auth instance from its raw config.
func New(raw map[string]any, env plugin.Env) (any, error) {
	var cfg Config
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	if env.Consumers == nil {
		return nil, errors.New("no consumer index")
	}
	names := cfg.KeyNames
	if names == nil {
		names = []string{"x-api-key"}
	}
	p := &KeyAuth{
		consumers: env.Consumers,
		bearer:    boolOr(cfg.KeyInBearer, true),
		hide:      boolOr(cfg.HideCredentials, true),
	}
	inHeader, inQuery := boolOr(cfg.KeyInHeader, true), boolOr(cfg.KeyInQuery, false)
	seen := map[string]bool{}
	for i, n := range names {
		if !consumer.ValidName(n) {
			return nil, fmt.Errorf("key_names[%d]: %q is not a valid name (letters, digits, \"-\", \"_\", \".\")", i, n)
		}
		canon := http.CanonicalHeaderKey(n)
		if reserved[canon] {
			return nil, fmt.Errorf("key_names[%d]: %s cannot hold a key (use key_in_bearer for Authorization)", i, canon)
		}
		if seen[canon] {
			return nil, fmt.Errorf("key_names[%d]: %s is listed twice", i, n)
		}
		seen[canon] = true
		if inHeader {
			p.headers = append(p.headers, canon)
		}
		if inQuery {
			p.query = append(p.query, n)
		}
	}
	if !p.bearer && len(p.headers) == 0 && len(p.query) == 0 {
		return nil, errors.New("no place to read a key from: enable key_in_bearer, or give key_names with key_in_header or key_in_query")
	}
	return p, nil
}

// Challenge implements plugin.Authenticator.
func (p *KeyAuth) Challenge() string { return `Key realm="sluice"` }

// found is the key a request carries, gathered from every enabled place.
type found struct {
	key           string
	n             int // places holding it
	bearer, query bool
	err           error
}

func (f *found) add(v string) {
	switch {
	case f.err != nil:
	case v == "":
		f.err = errEmpty
	case strings.ContainsAny(v, ", \t"):
		f.err = errList
	case f.n > 0 && v != f.key:
		f.err = errTwoKeys
	default:
		f.key = v
		f.n++
	}
}

// Private reasons, for the access log.
var (
	errEmpty   = plugin.Unauthorized("key-auth: empty key")
	errList    = plugin.Unauthorized("key-auth: key holds a list separator or whitespace")
	errTwoKeys = plugin.Unauthorized("key-auth: request carries two different keys")
	errUnknown = plugin.Unauthorized("key-auth: unknown key")
	errAuthz   = plugin.Unauthorized("key-auth: several Authorization fields")
	errBearer  = plugin.Unauthorized("key-auth: malformed Authorization Bearer field")
	errQuery   = plugin.Unauthorized("key-auth: key query parameter does not decode")
)

// Authenticate implements plugin.Authenticator.
func (p *KeyAuth) Authenticate(c *plugin.Ctx) (*consumer.Consumer, string, error) {
	r := c.R
	var f found
	if p.bearer {
		switch v, err := consumer.Authorization(r.Header, "Bearer"); {
		case err == nil:
			f.add(v)
			f.bearer = true
		case errors.Is(err, consumer.ErrAmbiguousCredential):
			return nil, "", errAuthz
		case errors.Is(err, consumer.ErrMalformedCredential):
			return nil, "", errBearer
		}
	}
	for _, h := range p.headers {
		for _, v := range r.Header[h] {
			f.add(strings.Trim(v, " \t"))
		}
	}
	if len(p.query) > 0 && r.URL.RawQuery != "" {
		n := f.n
		if err := consumer.QueryValues(r.URL.RawQuery, p.query, f.add); err != nil {
			return nil, "", errQuery
		}
		f.query = f.n > n
	}
	if f.err != nil {
		return nil, "", f.err
	}
	if f.n == 0 {
		return nil, "", plugin.ErrNoCredential
	}
	cons, id, ok := p.consumers.Key(f.key)
	if !ok {
		return nil, "", errUnknown
	}
	delete(r.Header, "X-Consumer-Groups")
	if p.hide {
		p.hideKey(r, &f)
	}
	return cons, id, nil
}

// hideKey removes the key from every place it was read from.
func (p *KeyAuth) hideKey(r *http.Request, f *found) {
	if f.bearer {
		delete(r.Header, "Authorization")
	}
	for _, h := range p.headers {
		delete(r.Header, h)
	}
	if f.query {
		r.URL.RawQuery = consumer.RemoveQueryParams(r.URL.RawQuery, p.query)
		r.URL.ForceQuery = false
	}
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}
