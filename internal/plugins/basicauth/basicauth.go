// Package basicauth is the basic-auth plugin: it identifies the consumer by
// the username and password of an `Authorization: Basic` field (RFC 7617).
//
// Config (every field optional):
//
//	basic-auth:
//	  hide_credentials: true   # remove the Authorization field upstream
//
// Passwords are held by the consumer index only as keyed digests and
// compared in constant time; the digest is computed even for an unknown
// username, so timing does not reveal which part was wrong. A request with
// no Authorization field, or one of another scheme, is "no credential"
// (another auth plugin of the route may accept it). Refused with 401
// unauthorized: several Authorization fields, a blank one, a Basic field
// with nothing or more than one token after the scheme, credentials that
// are not strict padded base64, that decode to more than 1 KiB, that have
// no ":" or an empty username, and an unknown username or wrong password.
//
// On success the Authorization field is removed (unless hide_credentials
// is false) and a client-sent X-Consumer-Groups is dropped. The 401
// challenge is `Basic realm="sluice", charset="UTF-8"`. The password never
// appears in a response or a log line; the private reason of a 401 goes
// to the access log.
package basicauth

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/plugin"
)

// Name is the plugin's stable name.
const Name = "basic-auth"

func init() {
	plugin.Register(plugin.Spec{Name: Name, Phase: plugin.PhaseAuth, New: New})
}

// Config is the plugin's configuration.
type Config struct {
	HideCredentials *bool `json:"hide_credentials"`
}

// BasicAuth is a basic-auth instance. It is immutable and safe for
// concurrent use.
type BasicAuth struct {
	consumers *consumer.Index
	hide      bool
}

var _ plugin.Authenticator = (*BasicAuth)(nil)

// New builds a basic-auth instance from its raw config.
func New(raw map[string]any, env plugin.Env) (any, error) {
	var cfg Config
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	if env.Consumers == nil {
		return nil, errors.New("no consumer index")
	}
	p := &BasicAuth{consumers: env.Consumers, hide: true}
	if cfg.HideCredentials != nil {
		p.hide = *cfg.HideCredentials
	}
	return p, nil
}

// Challenge implements plugin.Authenticator.
func (p *BasicAuth) Challenge() string { return `Basic realm="sluice", charset="UTF-8"` }

// maxEncoded bounds the base64 credentials: 1 KiB of "user:password".
const maxEncoded = (1024 + 2) / 3 * 4

// Private reasons, for the access log.
var (
	errAuthz    = plugin.Unauthorized("basic-auth: several Authorization fields")
	errField    = plugin.Unauthorized("basic-auth: malformed Authorization Basic field")
	errTooLong  = plugin.Unauthorized("basic-auth: credentials longer than 1 KiB")
	errBase64   = plugin.Unauthorized("basic-auth: credentials are not valid base64")
	errNoColon  = plugin.Unauthorized("basic-auth: credentials have no \":\"")
	errNoUser   = plugin.Unauthorized("basic-auth: empty username")
	errRejected = plugin.Unauthorized("basic-auth: unknown username or wrong password")
)

var strictBase64 = base64.StdEncoding.Strict()

// Authenticate implements plugin.Authenticator.
func (p *BasicAuth) Authenticate(c *plugin.Ctx) (*consumer.Consumer, string, error) {
	r := c.R
	cred, err := consumer.Authorization(r.Header, "Basic")
	switch {
	case errors.Is(err, consumer.ErrNoCredential):
		return nil, "", plugin.ErrNoCredential
	case errors.Is(err, consumer.ErrAmbiguousCredential):
		return nil, "", errAuthz
	case err != nil:
		return nil, "", errField
	}
	if len(cred) > maxEncoded {
		return nil, "", errTooLong
	}
	// Decoding through stack buffers keeps the password out of the heap
	// beyond the one string the index lookup needs.
	var src, dst [maxEncoded]byte
	n, err := strictBase64.Decode(dst[:], src[:copy(src[:], cred)])
	if err != nil {
		return nil, "", errBase64
	}
	user, pass, ok := strings.Cut(string(dst[:n]), ":")
	clear(dst[:n])
	clear(src[:len(cred)])
	switch {
	case !ok:
		return nil, "", errNoColon
	case user == "":
		return nil, "", errNoUser
	}
	cons, id, ok := p.consumers.Basic(user, pass)
	if !ok {
		return nil, "", errRejected
	}
	delete(r.Header, "X-Consumer-Groups")
	if p.hide {
		delete(r.Header, "Authorization")
	}
	return cons, id, nil
}
