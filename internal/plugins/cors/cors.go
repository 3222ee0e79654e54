// Package cors is the cors plugin: it answers CORS preflight requests at the
// edge and adds the CORS response headers to actual requests from allowed
// origins, before authentication (a preflight never carries credentials).
//
// Config:
//
//	cors:
//	  origins: ["https://app.example.com", "~https://[a-z0-9-]+\\.example\\.org", "*"]
//	  methods: [GET, POST]              # default GET, HEAD, PUT, PATCH, POST, DELETE
//	  headers: [Content-Type, X-Api-Key] # allowed request headers; default: echo the request's
//	  exposed_headers: [X-Total-Count]
//	  credentials: true                 # default false
//	  max_age: 10m                      # how long a browser may cache a preflight; default unset
//
// origins is required. An entry is an exact origin (scheme://host[:port],
// compared case-insensitively, a default port is dropped, so
// "https://a.example:443" is "https://a.example"), "*" for any origin, or a
// regular expression prefixed with "~" that must match the whole origin.
// The origin "null" (sandboxed documents, file: pages) is allowed only when
// listed exactly: neither "*" nor a pattern admits it.
//
// Actual requests: a request whose Origin is allowed gets
// Access-Control-Allow-Origin (the request's origin, or "*" when the origin
// was admitted by "*" and credentials is false), Access-Control-Allow-Credentials
// when credentials is true (so "*" is never sent with credentials) and
// Access-Control-Expose-Headers when configured. The headers are on the
// upstream's response (replacing any CORS headers the upstream sent) and on
// the gateway's own error responses. A request from an origin that is not
// allowed is still forwarded (CORS is enforced by browsers) but its response
// carries no CORS headers: those the upstream sent are removed. Responses
// carry Vary: Origin unless the configuration answers every origin alike
// (only "*" and no credentials).
//
// Preflights (OPTIONS with Origin and Access-Control-Request-Method) are
// answered by the gateway and never forwarded. From an allowed origin the
// answer is 204 with the allow-origin and credentials headers,
// Access-Control-Allow-Methods (the configured list),
// Access-Control-Allow-Headers (the configured list, or the requested
// headers when headers is unset or contains "*"), and Access-Control-Max-Age
// when max_age is set; the browser checks the requested method and headers
// against the lists. A preflight from an origin that is not allowed is
// refused with 403 forbidden and no CORS headers, so the refusal is visible
// in the access log rather than only in a browser console. Preflights reach
// the plugin only on routes that match OPTIONS: a route whose match lists
// methods must include OPTIONS, or its preflights get 404 no_route.
package cors

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/plugin"
)

// Name is the plugin's registered name.
const Name = "cors"

func init() {
	plugin.Register(plugin.Spec{Name: Name, Phase: plugin.PhaseCORS, New: New})
}

// Config is the plugin's configuration.
type Config struct {
	Origins        []string `json:"origins"`
	Methods        []string `json:"methods"`
	Headers        []string `json:"headers"`
	ExposedHeaders []string `json:"exposed_headers"`
	Credentials    bool     `json:"credentials"`
	MaxAge         MaxAge   `json:"max_age"`
}

// MaxAge is a config.Duration whose decoding errors name the field
// (plugin.Decode cannot name the field of an UnmarshalJSON error).
type MaxAge config.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (m *MaxAge) UnmarshalJSON(b []byte) error {
	if err := (*config.Duration)(m).UnmarshalJSON(b); err != nil {
		return fmt.Errorf("max_age: %w", err)
	}
	return nil
}

var defaultMethods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"}

// Header names, canonical.
const (
	hOrigin        = "Origin"
	hVary          = "Vary"
	hReqMethod     = "Access-Control-Request-Method"
	hReqHeaders    = "Access-Control-Request-Headers"
	hAllowOrigin   = "Access-Control-Allow-Origin"
	hAllowCreds    = "Access-Control-Allow-Credentials"
	hAllowMethods  = "Access-Control-Allow-Methods"
	hAllowHeaders  = "Access-Control-Allow-Headers"
	hExposeHeaders = "Access-Control-Expose-Headers"
	hMaxAge        = "Access-Control-Max-Age"
)

// Header values shared by every response. They are capacity-limited, so an
// append by a later writer copies rather than writes into them; nobody may
// change their elements.
var (
	valStar          = []string{"*"}[:1:1]
	valTrue          = []string{"true"}[:1:1]
	valVaryOrigin    = []string{"Origin"}[:1:1]
	valVaryPreflight = []string{"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}[:1:1]
)

// CORS is one configured instance. It is immutable and safe for concurrent
// use.
type CORS struct {
	exact       map[string][]string // normalised origin → Allow-Origin value
	patterns    []*regexp.Regexp
	any         bool
	credentials bool
	varies      bool     // the answer depends on the request's Origin
	methods     []string // joined Allow-Methods value
	headers     []string // joined Allow-Headers value; nil means echo
	expose      []string // joined Expose-Headers value; nil means none
	maxAge      []string // Max-Age value; nil means none
}

var (
	_ plugin.Access   = (*CORS)(nil)
	_ plugin.Response = (*CORS)(nil)
)

// New builds an instance from its raw config.
func New(raw map[string]any, _ plugin.Env) (any, error) {
	var cfg Config
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	if len(cfg.Origins) == 0 {
		return nil, errors.New("origins must list at least one origin, pattern or \"*\"")
	}
	p := &CORS{exact: map[string][]string{}, credentials: cfg.Credentials}
	for i, o := range cfg.Origins {
		switch {
		case o == "*":
			p.any = true
		case strings.HasPrefix(o, "~"):
			re, err := regexp.Compile(`^(?:` + o[1:] + `)$`)
			if err != nil {
				return nil, fmt.Errorf("origins[%d]: bad pattern: %w", i, err)
			}
			p.patterns = append(p.patterns, re)
		default:
			n, err := normalizeOrigin(o)
			if err != nil {
				return nil, fmt.Errorf("origins[%d]: %w", i, err)
			}
			p.exact[n] = []string{n}[:1:1]
		}
	}
	// Only "*" without credentials answers every origin alike.
	p.varies = !p.any || p.credentials || len(p.exact) > 0 || len(p.patterns) > 0

	methods := append([]string(nil), cfg.Methods...)
	if len(methods) == 0 {
		methods = append(methods, defaultMethods...)
	}
	for i, m := range methods {
		if !isToken(m) {
			return nil, fmt.Errorf("methods[%d]: %q is not a method name", i, m)
		}
		methods[i] = strings.ToUpper(m)
	}
	p.methods = joined(methods)

	echo := len(cfg.Headers) == 0
	for i, h := range cfg.Headers {
		if h == "*" {
			echo = true
			continue
		}
		if !isToken(h) {
			return nil, fmt.Errorf("headers[%d]: %q is not a header name", i, h)
		}
	}
	if !echo {
		p.headers = joined(cfg.Headers)
	}

	for i, h := range cfg.ExposedHeaders {
		if h == "*" && cfg.Credentials {
			return nil, fmt.Errorf("exposed_headers[%d]: \"*\" is not a wildcard for requests with credentials; list the headers", i)
		}
		if h != "*" && !isToken(h) {
			return nil, fmt.Errorf("exposed_headers[%d]: %q is not a header name", i, h)
		}
	}
	if len(cfg.ExposedHeaders) > 0 {
		p.expose = joined(cfg.ExposedHeaders)
	}

	switch age := time.Duration(cfg.MaxAge); {
	case age < 0:
		return nil, errors.New("max_age: must not be negative")
	case age >= time.Second:
		p.maxAge = []string{strconv.FormatInt(int64(age/time.Second), 10)}[:1:1]
	case age > 0:
		return nil, errors.New("max_age: browsers count whole seconds; use at least 1s")
	}
	return p, nil
}

// normalizeOrigin checks that o is a serialised origin and returns it in
// the form browsers send: lower case, without a default port.
func normalizeOrigin(o string) (string, error) {
	if strings.EqualFold(o, "null") {
		return "null", nil
	}
	if strings.Contains(o, "*") {
		return "", fmt.Errorf("%q: an exact origin has no wildcards; write a ~pattern such as ~https://[a-z0-9-]+\\.example\\.com", o)
	}
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || !strings.EqualFold(o, u.Scheme+"://"+u.Host) {
		return "", fmt.Errorf("%q is not an origin; write scheme://host[:port] (no path, not even \"/\"), \"*\" or a ~pattern", o)
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if port := u.Port(); (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		host = strings.TrimSuffix(host, ":"+port)
	}
	return scheme + "://" + host, nil
}

// allowOrigin returns the Access-Control-Allow-Origin value for a request
// whose Origin header is vv, or nil when the origin is not allowed.
func (p *CORS) allowOrigin(vv []string) []string {
	if len(vv) != 1 || vv[0] == "" {
		return nil // none, or several: not a browser's CORS request
	}
	o := vv[0]
	if v, ok := p.exact[o]; ok {
		return v
	}
	if hasUpper(o) {
		if _, ok := p.exact[strings.ToLower(o)]; ok {
			return vv[:1:1]
		}
	}
	if o == "null" {
		return nil
	}
	for _, re := range p.patterns {
		if re.MatchString(o) {
			return vv[:1:1]
		}
	}
	if p.any {
		if p.credentials {
			return vv[:1:1]
		}
		return valStar
	}
	return nil
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && len(r.Header[hReqMethod]) > 0 && len(r.Header[hOrigin]) > 0
}

// Access answers preflights and sets the CORS headers of an actual request
// on the response the gateway may make itself.
func (p *CORS) Access(c *plugin.Ctx) error {
	h := c.W.Header()
	allowed := p.allowOrigin(c.R.Header[hOrigin])
	if isPreflight(c.R) {
		if allowed == nil {
			return plugin.Forbidden("cors: preflight from an origin that is not allowed")
		}
		p.preflight(c, h, allowed)
		return plugin.ErrHandled
	}
	p.setHeaders(h, allowed)
	return nil
}

// Response sets the CORS headers on the response head, over any the
// upstream sent.
func (p *CORS) Response(c *plugin.Ctx, _ int, h http.Header) {
	if isPreflight(c.R) {
		return // answered by Access, or refused with no CORS headers
	}
	allowed := p.allowOrigin(c.R.Header[hOrigin])
	if allowed == nil {
		delete(h, hAllowOrigin)
		delete(h, hAllowCreds)
		delete(h, hExposeHeaders)
	}
	p.setHeaders(h, allowed)
}

// setHeaders sets the headers of an actual request's response.
func (p *CORS) setHeaders(h http.Header, allowed []string) {
	if p.varies {
		addVaryOrigin(h)
	}
	if allowed == nil {
		return
	}
	h[hAllowOrigin] = allowed
	if p.credentials {
		h[hAllowCreds] = valTrue
	}
	if p.expose != nil {
		h[hExposeHeaders] = p.expose
	}
}

// preflight writes the answer to an allowed preflight.
func (p *CORS) preflight(c *plugin.Ctx, h http.Header, allowed []string) {
	h[hAllowOrigin] = allowed
	if p.credentials {
		h[hAllowCreds] = valTrue
	}
	h[hAllowMethods] = p.methods
	switch {
	case p.headers != nil:
		h[hAllowHeaders] = p.headers
	case len(c.R.Header[hReqHeaders]) > 0:
		h[hAllowHeaders] = c.R.Header[hReqHeaders][:1:1]
	}
	if p.maxAge != nil {
		h[hMaxAge] = p.maxAge
	}
	h[hVary] = valVaryPreflight
	c.SetGatewayHeaders()
	c.X.Status = http.StatusNoContent
	c.BeforeResponse(http.StatusNoContent, h)
	c.W.WriteHeader(http.StatusNoContent)
}

// addVaryOrigin adds Origin to the Vary header unless it is listed (or
// Vary is "*").
func addVaryOrigin(h http.Header) {
	vv := h[hVary]
	if len(vv) == 0 {
		h[hVary] = valVaryOrigin
		return
	}
	for _, v := range vv {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "*" || strings.EqualFold(tok, "origin") {
				return
			}
		}
	}
	h[hVary] = append(vv[:len(vv):len(vv)], "Origin")
}

// joined returns the list as one comma-separated header value.
func joined(list []string) []string {
	return []string{strings.Join(list, ", ")}[:1:1]
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// isToken reports whether s is an RFC 9110 token (a method or header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
