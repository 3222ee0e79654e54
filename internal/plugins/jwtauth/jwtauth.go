// Package jwtauth is the jwt plugin: it identifies the consumer by a
// signed JSON Web Token (RFC 7519), verified with golang-jwt/jwt/v5.
//
// Config (every field optional):
//
//	jwt:
//	  cookie_names: []             # also read the token from these cookies
//	  query_names: []              # also read it from these query parameters
//	  claims_to_verify: [exp]      # claims that must be present: exp, nbf
//	  leeway: 30s                  # clock skew allowed on exp and nbf (≤ 5m)
//	  audience: []                 # when set, aud must hold one of these
//	  max_token_size: 8192         # longer tokens are refused unparsed
//	  maximum_expiration: 0s       # when set, exp may be at most this far ahead
//	  hide_credentials: true       # remove the token from the forwarded request
//	  jwks_url: ""                 # verify tokens of unknown issuers with these keys
//	  jwks_issuer: ""              # when set, JWKS tokens must carry this iss
//	  jwks_algorithms: [RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA]
//	  consumer_claim: sub          # JWKS tokens: claim naming the consumer
//	  jwks_timeout: 5s             # one JWKS fetch, connect to last byte
//	  jwks_refresh_interval: 5m    # keys older than this are refetched in the background
//	  jwks_min_refetch_interval: 10s # at most one fetch per interval
//
// The token is read from `Authorization: Bearer`, and from the configured
// cookies and query parameters. Finding two different tokens, an empty
// one, or two Authorization fields is a 401 unauthorized. A bearer value
// that is not shaped like a JWT (three dot-separated parts) is left to the
// route's other auth plugins (key-auth); with no other, the request is a
// 401 for lack of a credential.
//
// Consumers' jwt credentials select by issuer: the token's `iss` names the
// credential, and the token must then be signed with exactly that
// credential's algorithm (the parser's valid-method list holds only that
// one), with its secret or public key. So `alg: none`, and "algorithm
// confusion" (an HS256 token whose secret is an RS256 credential's public
// key), are refused. HS256/384/512, RS256/384/512, PS256/384/512,
// ES256/384/512 and EdDSA are supported. A token whose issuer matches no
// credential is verified against jwks_url when one is configured: the key
// is chosen by the token's `kid` (a token without kid only when the set
// has a single key), the algorithm must be the key's own `alg` or, when
// the key has none, one of jwks_algorithms that fits the key type (never
// an HMAC algorithm), and the consumer is the one whose name is the
// verified token's consumer_claim. JWKS keys are fetched on first use,
// refreshed in the background after jwks_refresh_interval, refetched when
// a token names an unknown kid, and kept when a fetch fails; see
// jwksSource. jwks_url must be https, or http to a loopback address.
//
// Keys are never taken from the token itself: its jwk, jku, x5u and x5c
// header parameters are ignored, and a token with a crit header is refused
// (no critical extension is understood). Claims: exp and nbf are checked when present, with leeway; those listed
// in claims_to_verify must be present. Tokens longer than max_token_size
// are refused before any decoding. On success the token is removed from
// where it was found (unless hide_credentials is false) and a client-sent
// X-Consumer-Groups is dropped. The 401 challenge is
// `Bearer realm="sluice"`. Every failure is the same public 401; the
// private reason (expired, bad signature, unknown kid, ...) goes to the
// access log, never the token or a secret.
package jwtauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/plugin"
)

// Name is the plugin's stable name.
const Name = "jwt"

func init() {
	plugin.Register(plugin.Spec{Name: Name, Phase: plugin.PhaseAuth, New: New})
}

// Config is the plugin's configuration; zero values and nil pointers take
// the defaults documented on the package.
type Config struct {
	CookieNames       []string         `json:"cookie_names"`
	QueryNames        []string         `json:"query_names"`
	ClaimsToVerify    []string         `json:"claims_to_verify"`
	Leeway            *config.Duration `json:"leeway"`
	Audience          []string         `json:"audience"`
	MaxTokenSize      int              `json:"max_token_size"`
	MaximumExpiration config.Duration  `json:"maximum_expiration"`
	HideCredentials   *bool            `json:"hide_credentials"`

	JWKSURL                string          `json:"jwks_url"`
	JWKSIssuer             string          `json:"jwks_issuer"`
	JWKSAlgorithms         []string        `json:"jwks_algorithms"`
	ConsumerClaim          string          `json:"consumer_claim"`
	JWKSTimeout            config.Duration `json:"jwks_timeout"`
	JWKSRefreshInterval    config.Duration `json:"jwks_refresh_interval"`
	JWKSMinRefetchInterval config.Duration `json:"jwks_min_refetch_interval"`
}

// Defaults and bounds.
const (
	defaultMaxTokenSize = 8 << 10
	defaultLeeway       = 30 * time.Second
	maxLeeway           = 5 * time.Minute
	defaultJWKSTimeout  = 5 * time.Second
	defaultJWKSRefresh  = 5 * time.Minute
	defaultJWKSMinGap   = 10 * time.Second
)

// credentialAlgorithms are the algorithms a consumer credential may use.
var credentialAlgorithms = []string{
	"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
}

// asymmetricAlgorithms are those a JWKS key may use.
var asymmetricAlgorithms = credentialAlgorithms[3:]

// JWT is a jwt instance. It is immutable and safe for concurrent use.
type JWT struct {
	consumers *consumer.Index
	cookies   []string
	query     []string
	maxSize   int
	maxExp    time.Duration
	hide      bool
	// required and jwksRequired are the claims a token must carry, for
	// the log's reason of a refusal.
	required, jwksRequired []string

	// peek reads a token's header and claims before its credential is
	// known; it verifies nothing.
	peek *jwt.Parser
	// parsers verify tokens of consumer credentials, one per algorithm,
	// each accepting only its own algorithm.
	parsers map[string]*jwt.Parser

	jwks          *jwksSource
	jwksParsers   map[string]*jwt.Parser
	consumerClaim string
}

var _ plugin.Authenticator = (*JWT)(nil)

// New builds a jwt instance from its raw config.
func New(raw map[string]any, env plugin.Env) (any, error) {
	var cfg Config
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	if env.Consumers == nil {
		return nil, errors.New("no consumer index")
	}
	p := &JWT{
		consumers: env.Consumers,
		maxSize:   cfg.MaxTokenSize,
		maxExp:    cfg.MaximumExpiration.D(),
		hide:      cfg.HideCredentials == nil || *cfg.HideCredentials,
		peek:      jwt.NewParser(),
		parsers:   map[string]*jwt.Parser{},
	}
	if p.maxSize == 0 {
		p.maxSize = defaultMaxTokenSize
	}
	if p.maxSize < 256 || p.maxSize > 64<<10 {
		return nil, fmt.Errorf("max_token_size: %d is outside 256..65536", p.maxSize)
	}
	if p.maxExp < 0 {
		return nil, errors.New("maximum_expiration: must not be negative")
	}
	for i, n := range cfg.CookieNames {
		if !consumer.ValidName(n) {
			return nil, fmt.Errorf("cookie_names[%d]: %q is not a valid cookie name", i, n)
		}
	}
	for i, n := range cfg.QueryNames {
		if !consumer.ValidName(n) {
			return nil, fmt.Errorf("query_names[%d]: %q is not a valid parameter name", i, n)
		}
	}
	p.cookies, p.query = cfg.CookieNames, cfg.QueryNames

	opts, required, err := claimOptions(&cfg)
	if err != nil {
		return nil, err
	}
	p.required = required
	for _, alg := range credentialAlgorithms {
		p.parsers[alg] = jwt.NewParser(append([]jwt.ParserOption{jwt.WithValidMethods([]string{alg})}, opts...)...)
	}
	if err := p.setupJWKS(&cfg, opts, env); err != nil {
		return nil, err
	}
	return p, nil
}

// claimOptions returns the parser options for the claim checks of cfg
// and the claims they require.
func claimOptions(cfg *Config) ([]jwt.ParserOption, []string, error) {
	leeway := defaultLeeway
	if cfg.Leeway != nil {
		leeway = cfg.Leeway.D()
	}
	if leeway < 0 || leeway > maxLeeway {
		return nil, nil, fmt.Errorf("leeway: %s is outside 0s..%s", leeway, maxLeeway)
	}
	opts := []jwt.ParserOption{jwt.WithLeeway(leeway)}
	var required []string
	verify := cfg.ClaimsToVerify
	if verify == nil {
		verify = []string{"exp"}
	}
	for i, c := range verify {
		switch c {
		case "exp":
			opts = append(opts, jwt.WithExpirationRequired())
			required = append(required, "exp")
		case "nbf":
			opts = append(opts, jwt.WithNotBeforeRequired())
			required = append(required, "nbf")
		default:
			return nil, nil, fmt.Errorf("claims_to_verify[%d]: %q is not one of exp, nbf", i, c)
		}
	}
	if cfg.MaximumExpiration > 0 && !slices.Contains(verify, "exp") {
		return nil, nil, errors.New("maximum_expiration needs exp in claims_to_verify")
	}
	for i, a := range cfg.Audience {
		if a == "" {
			return nil, nil, fmt.Errorf("audience[%d]: empty", i)
		}
	}
	if len(cfg.Audience) > 0 {
		opts = append(opts, jwt.WithAudience(cfg.Audience...))
		required = append(required, "aud")
	}
	return opts, required, nil
}

// setupJWKS validates the JWKS settings and attaches the shared source.
func (p *JWT) setupJWKS(cfg *Config, opts []jwt.ParserOption, env plugin.Env) error {
	if cfg.JWKSURL == "" {
		if cfg.JWKSIssuer != "" || cfg.JWKSAlgorithms != nil || cfg.ConsumerClaim != "" ||
			cfg.JWKSTimeout != 0 || cfg.JWKSRefreshInterval != 0 || cfg.JWKSMinRefetchInterval != 0 {
			return errors.New("the jwks_* settings and consumer_claim need jwks_url")
		}
		return nil
	}
	u, err := url.Parse(cfg.JWKSURL)
	if err != nil {
		return errors.New("jwks_url: not a URL")
	}
	if err := checkJWKSURL(u); err != nil {
		return fmt.Errorf("jwks_url: %w", err)
	}
	o := jwksOptions{
		url:     cfg.JWKSURL,
		timeout: orDefault(cfg.JWKSTimeout.D(), defaultJWKSTimeout),
		refresh: orDefault(cfg.JWKSRefreshInterval.D(), defaultJWKSRefresh),
		minGap:  orDefault(cfg.JWKSMinRefetchInterval.D(), defaultJWKSMinGap),
		allowed: cfg.JWKSAlgorithms,
	}
	switch {
	case o.timeout < 0 || o.timeout > time.Minute:
		return fmt.Errorf("jwks_timeout: %s is outside 0s..1m", o.timeout)
	case o.minGap < 0:
		return errors.New("jwks_min_refetch_interval: must not be negative")
	case o.refresh < o.minGap:
		return fmt.Errorf("jwks_refresh_interval: %s is shorter than jwks_min_refetch_interval %s", o.refresh, o.minGap)
	}
	if o.allowed == nil {
		o.allowed = asymmetricAlgorithms
	}
	if len(o.allowed) == 0 {
		return errors.New("jwks_algorithms: empty")
	}
	for i, a := range o.allowed {
		if !slices.Contains(asymmetricAlgorithms, a) {
			return fmt.Errorf("jwks_algorithms[%d]: %q is not one of %v", i, a, asymmetricAlgorithms)
		}
	}
	p.consumerClaim = cfg.ConsumerClaim
	if p.consumerClaim == "" {
		p.consumerClaim = "sub"
	}
	p.jwksRequired = p.required
	if cfg.JWKSIssuer != "" {
		opts = append(slices.Clip(opts), jwt.WithIssuer(cfg.JWKSIssuer))
		p.jwksRequired = append(slices.Clip(p.required), "iss")
	}
	p.jwksParsers = make(map[string]*jwt.Parser, len(o.allowed))
	for _, alg := range o.allowed {
		p.jwksParsers[alg] = jwt.NewParser(append([]jwt.ParserOption{jwt.WithValidMethods([]string{alg})}, opts...)...)
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	create := func() any { return newJWKSSource(o, log) }
	if env.State != nil {
		p.jwks = env.State.Get(o.stateKey(), create).(*jwksSource)
	} else {
		p.jwks = create().(*jwksSource)
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Challenge implements plugin.Authenticator.
func (p *JWT) Challenge() string { return `Bearer realm="sluice"` }

// Authenticate implements plugin.Authenticator.
func (p *JWT) Authenticate(c *plugin.Ctx) (*consumer.Consumer, string, error) {
	r := c.R
	tok, from, err := p.token(r)
	if err != nil {
		return nil, "", err
	}
	claims := jwt.MapClaims{}
	t, _, err := p.peek.ParseUnverified(tok, claims)
	if err != nil {
		return nil, "", reject(err, "", nil, nil)
	}
	if _, ok := t.Header["crit"]; ok {
		// RFC 7515 §4.1.11: extensions marked critical must be understood;
		// this verifier understands none.
		return nil, "", errCrit
	}
	alg := t.Method.Alg()
	iss, _ := claims["iss"].(string)

	var (
		cons *consumer.Consumer
		id   string
	)
	if cred, ok := p.consumers.JWTByIssuer(iss); ok && iss != "" {
		cons, id, err = p.verifyCredential(tok, alg, cred)
	} else if p.jwks != nil {
		cons, err = p.verifyJWKS(tok, t, alg)
		if err == nil {
			id = "jwt:jwks:" + cons.Name
		}
	} else {
		err = errNoIssuer
	}
	if err != nil {
		return nil, "", err
	}
	delete(r.Header, "X-Consumer-Groups")
	if p.hide {
		p.hideToken(r, from)
	}
	return cons, id, nil
}

// verifyCredential verifies tok with a consumer's credential: only the
// credential's own algorithm is accepted.
func (p *JWT) verifyCredential(tok, alg string, cred *consumer.JWT) (*consumer.Consumer, string, error) {
	if alg != cred.Algorithm {
		return nil, "", plugin.Unauthorized(fmt.Sprintf("jwt: token algorithm %.16q is not the credential's %s (iss %s)", alg, cred.Algorithm, cred.Issuer))
	}
	claims := jwt.MapClaims{}
	if _, err := p.parsers[alg].ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return cred.Key, nil }); err != nil {
		return nil, "", reject(err, "iss "+cred.Issuer, claims, p.required)
	}
	if err := p.checkLifetime(claims); err != nil {
		return nil, "", err
	}
	return cred.Consumer, cred.ID, nil
}

// checkLifetime enforces maximum_expiration on verified claims.
func (p *JWT) checkLifetime(claims jwt.MapClaims) error {
	if p.maxExp <= 0 {
		return nil
	}
	if exp, err := claims.GetExpirationTime(); err != nil || exp == nil || time.Until(exp.Time) > p.maxExp {
		return errTooLong
	}
	return nil
}

// verifyJWKS verifies tok with the JWKS key its kid names and returns the
// consumer its consumer claim names.
func (p *JWT) verifyJWKS(tok string, t *jwt.Token, alg string) (*consumer.Consumer, error) {
	kid, _ := t.Header["kid"].(string)
	k, err := p.jwks.lookup(kid)
	if err != nil {
		return nil, plugin.Unauthorized("jwt: " + err.Error())
	}
	if !slices.Contains(k.methods, alg) {
		return nil, plugin.Unauthorized(fmt.Sprintf("jwt: token algorithm %.16q is not allowed for JWKS key %.64q", alg, kid))
	}
	claims := jwt.MapClaims{}
	if _, err := p.jwksParsers[alg].ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return k.key, nil }); err != nil {
		return nil, reject(err, "JWKS", claims, p.jwksRequired)
	}
	if err := p.checkLifetime(claims); err != nil {
		return nil, err
	}
	name, _ := claims[p.consumerClaim].(string)
	cons, ok := p.consumers.ByName(name)
	if !ok || name == "" {
		return nil, plugin.Unauthorized(fmt.Sprintf("jwt: JWKS token's %s claim names no consumer", p.consumerClaim))
	}
	return cons, nil
}

// Fixed private reasons.
var (
	errNoIssuer = plugin.Unauthorized("jwt: no credential for the token's issuer")
	errCrit     = plugin.Unauthorized("jwt: token has a crit header (critical extensions are not supported)")
	errTooLong  = plugin.Unauthorized("jwt: exp is further ahead than maximum_expiration")
)

// reject turns a golang-jwt error into a 401 whose private reason names
// the failed check (never a part of the token); where says which
// credential verified it ("iss ISSUER", "JWKS"), and required, the claims
// that must be present, name the missing ones in claims.
func reject(err error, where string, claims jwt.MapClaims, required []string) error {
	var why string
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		why = "malformed token"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		why = "unsupported or missing alg"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		why = "invalid signature"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		why = "a required claim is missing"
		var missing []string
		for _, name := range required {
			if _, ok := claims[name]; !ok {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			why += ": " + strings.Join(missing, ", ")
		}
	case errors.Is(err, jwt.ErrTokenExpired):
		why = "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		why = "token not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		why = "audience not accepted"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		why = "issuer not accepted"
	default:
		why = "invalid claims"
	}
	if where != "" {
		why += " (" + where + ")"
	}
	return plugin.Unauthorized("jwt: " + why)
}
