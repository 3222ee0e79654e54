// Package transform is the request-transform and response-transform
// plugins: they add, set, remove and rename request headers and query
// parameters before the request is forwarded, and response headers before
// the response goes to the client.
//
// Config:
//
//	request-transform:
//	  remove_headers: [X-Internal-Debug]
//	  rename_headers: { X-Api-Version: X-Version }       # old: new
//	  set_headers:    { X-Consumer: "$(consumer.name)" } # replaces every value
//	  add_headers:    { X-Custom-Header: "Custom Value" } # appends a value
//	  remove_query:   [debug]
//	  rename_query:   { q: query }
//	  set_query:      { source: gateway }
//	  add_query:      { tag: "$(route.name)" }
//
//	response-transform:
//	  remove_headers: [X-Powered-By]
//	  rename_headers: { X-Upstream-Time: X-Backend-Time }
//	  set_headers:    { Cache-Control: no-store }
//	  add_headers:    { X-Served-For: "$(consumer.name)" }
//
// Operations run in the order remove, rename, set, add; within one kind in
// order of name. set replaces every value of a header (or every occurrence
// of a parameter) and creates it when absent; add appends a value (or
// another occurrence) and keeps the existing ones; rename moves every value
// of the old name to the new one, replacing what the new name had, and does
// nothing when the old name is absent. Header names are case-insensitive;
// query parameter names are case-sensitive and compared unescaped. Set and
// added query parameters go at the end of the query; untouched parameters
// are forwarded exactly as the client sent them.
//
// Values are templates. $(consumer.name) is the authenticated consumer,
// $(route.name) the matched route, $(client.ip) the client address (as
// resolved through trusted proxies), $(request.header.NAME) the first value
// of a request header ($(request.header.Host) the request's host), and
// $(request.query.NAME) the first occurrence of a query parameter,
// unescaped. "$$(" is a literal "$(". Templates are compiled when the
// config is loaded; request-transform renders every value against the
// request as the client sent it, before any operation runs, so a value may
// copy a header that the same config removes. response-transform renders
// against the request as forwarded. An operation whose template has
// variables and renders empty (no consumer, an absent header) is skipped,
// and so is a header value that renders with control characters: request
// data cannot inject header lines.
//
// Neither plugin may touch hop-by-hop or framing headers (Connection,
// Keep-Alive, Proxy-Connection, Proxy-Authorization, TE, Trailer,
// Transfer-Encoding, Upgrade, Content-Length, and for requests Host and
// Expect), nor headers the gateway itself sets: for requests
// X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, X-Real-Ip,
// Forwarded, X-Request-Id and X-Consumer-Name; for responses X-Request-Id,
// Server-Timing and Sluice-Error. Naming one is a config error. A constant
// empty header value is a config error too (use remove_headers).
//
// A header request-transform writes (set, add, or the new name of a
// rename) reaches the upstream even if the client names it in its
// Connection header: the transform removes that name from Connection, so
// a client cannot suppress a gateway-set header by declaring it hop-by-hop.
//
// response-transform also applies to the gateway's own error responses,
// though the error renderer then sets Content-Type, Content-Length,
// Cache-Control and Sluice-Error itself.
package transform

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/sluicegw/sluice/internal/plugin"
)

// The registered names.
const (
	RequestName  = "request-transform"
	ResponseName = "response-transform"
)

func init() {
	plugin.Register(plugin.Spec{Name: RequestName, Phase: plugin.PhaseTransform, New: NewRequest})
	plugin.Register(plugin.Spec{Name: ResponseName, Phase: plugin.PhaseTransform, New: NewResponse})
}

// HeaderConfig is the header part of both plugins' configuration.
type HeaderConfig struct {
	RemoveHeaders []string          `json:"remove_headers"`
	RenameHeaders map[string]string `json:"rename_headers"`
	SetHeaders    map[string]string `json:"set_headers"`
	AddHeaders    map[string]string `json:"add_headers"`
}

// RequestConfig is request-transform's configuration.
type RequestConfig struct {
	HeaderConfig
	RemoveQuery []string          `json:"remove_query"`
	RenameQuery map[string]string `json:"rename_query"`
	SetQuery    map[string]string `json:"set_query"`
	AddQuery    map[string]string `json:"add_query"`
}

// ResponseConfig is response-transform's configuration.
type ResponseConfig struct {
	HeaderConfig
}

// Request is a request-transform instance. It is immutable and safe for
// concurrent use.
type Request struct {
	hdr   headerOps
	query queryOps
	// dynamic is the number of set and add values, headers first, whose
	// templates have variables.
	dynamic int
	// written are the header names the transform sets, adds or renames to.
	written []string
}

// Response is a response-transform instance. It is immutable and safe for
// concurrent use.
type Response struct {
	hdr     headerOps
	dynamic int
}

var (
	_ plugin.Access   = (*Request)(nil)
	_ plugin.Response = (*Response)(nil)
)

// valueOp sets or adds one header or query parameter.
type valueOp struct {
	name    string // canonical header name, or query key
	escName string // query key escaped for the query string
	tpl     *template
	slot    int // index of the rendered value when the template is not constant
}

// renameOp renames a header or query parameter.
type renameOp struct {
	from, to string
	escTo    string // query: the new key escaped
}

type headerOps struct {
	remove   []string
	rename   []renameOp
	set, add []valueOp
}

type queryOps struct {
	remove   []string
	rename   []renameOp
	set, add []valueOp
}

func (q *queryOps) empty() bool {
	return len(q.remove)+len(q.rename)+len(q.set)+len(q.add) == 0
}

// NewRequest builds a request-transform instance from its raw config.
func NewRequest(raw map[string]any, _ plugin.Env) (any, error) {
	var cfg RequestConfig
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	r := &Request{}
	var err error
	if r.hdr, err = buildHeaderOps(&cfg.HeaderConfig, requestReserved, &r.dynamic); err != nil {
		return nil, err
	}
	if r.query, err = buildQueryOps(&cfg, &r.dynamic); err != nil {
		return nil, err
	}
	if r.hdr.empty() && r.query.empty() {
		return nil, errors.New("no operation configured")
	}
	for _, rn := range r.hdr.rename {
		r.written = append(r.written, rn.to)
	}
	for _, op := range append(slices.Clip(r.hdr.set), r.hdr.add...) {
		r.written = append(r.written, op.name)
	}
	return r, nil
}

// NewResponse builds a response-transform instance from its raw config.
func NewResponse(raw map[string]any, _ plugin.Env) (any, error) {
	var cfg ResponseConfig
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	r := &Response{}
	var err error
	if r.hdr, err = buildHeaderOps(&cfg.HeaderConfig, responseReserved, &r.dynamic); err != nil {
		return nil, err
	}
	if r.hdr.empty() {
		return nil, errors.New("no operation configured")
	}
	return r, nil
}

func (h *headerOps) empty() bool {
	return len(h.remove)+len(h.rename)+len(h.set)+len(h.add) == 0
}

// Headers neither plugin may touch, with the reason.
var hopByHop = map[string]string{
	"Connection":          "hop-by-hop",
	"Keep-Alive":          "hop-by-hop",
	"Proxy-Connection":    "hop-by-hop",
	"Proxy-Authorization": "hop-by-hop",
	"Proxy-Authenticate":  "hop-by-hop",
	"Te":                  "hop-by-hop",
	"Trailer":             "hop-by-hop",
	"Transfer-Encoding":   "message framing",
	"Upgrade":             "hop-by-hop",
	"Content-Length":      "message framing",
}

var requestReserved = withBase(map[string]string{
	"Host":              "set by the proxy from the route and upstream",
	"Expect":            "handled by the gateway",
	"X-Forwarded-For":   "set by the gateway",
	"X-Forwarded-Proto": "set by the gateway",
	"X-Forwarded-Host":  "set by the gateway",
	"X-Real-Ip":         "set by the gateway",
	"Forwarded":         "set by the gateway",
	"X-Request-Id":      "set by the gateway",
	"X-Consumer-Name":   "set by the gateway from the authenticated consumer",
})

var responseReserved = withBase(map[string]string{
	"X-Request-Id":  "set by the gateway on every response",
	"Server-Timing": "set by the gateway on every response",
	"Sluice-Error":  "set by the gateway on its error responses",
})

func withBase(m map[string]string) map[string]string {
	maps.Copy(m, hopByHop)
	return m
}

// headerName validates and canonicalises a header name of field.
func headerName(field, name string, reserved map[string]string) (string, error) {
	if !isToken(name) {
		return "", fmt.Errorf("%s: %q is not a header name", field, name)
	}
	k := http.CanonicalHeaderKey(name)
	if why, ok := reserved[k]; ok {
		return "", fmt.Errorf("%s: %s cannot be changed by a transform (%s)", field, k, why)
	}
	return k, nil
}

func buildHeaderOps(cfg *HeaderConfig, reserved map[string]string, dynamic *int) (headerOps, error) {
	var ops headerOps
	for i, name := range cfg.RemoveHeaders {
		k, err := headerName(fmt.Sprintf("remove_headers[%d]", i), name, reserved)
		if err != nil {
			return ops, err
		}
		ops.remove = append(ops.remove, k)
	}
	for _, from := range slices.Sorted(maps.Keys(cfg.RenameHeaders)) {
		field := "rename_headers." + from
		f, err := headerName(field, from, reserved)
		if err != nil {
			return ops, err
		}
		t, err := headerName(field, cfg.RenameHeaders[from], reserved)
		if err != nil {
			return ops, err
		}
		if f == t {
			return ops, fmt.Errorf("%s: renames the header to itself", field)
		}
		ops.rename = append(ops.rename, renameOp{from: f, to: t})
	}
	var err error
	if ops.set, err = headerValues("set_headers", cfg.SetHeaders, reserved, dynamic); err != nil {
		return ops, err
	}
	if ops.add, err = headerValues("add_headers", cfg.AddHeaders, reserved, dynamic); err != nil {
		return ops, err
	}
	return ops, nil
}

func headerValues(field string, m map[string]string, reserved map[string]string, dynamic *int) ([]valueOp, error) {
	var out []valueOp
	for _, name := range slices.Sorted(maps.Keys(m)) {
		f := field + "." + name
		k, err := headerName(f, name, reserved)
		if err != nil {
			return nil, err
		}
		tpl, err := compile(m[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if !validFieldValue([]byte(tpl.literals())) {
			return nil, fmt.Errorf("%s: the value has control characters", f)
		}
		if tpl.constant && tpl.lit == "" {
			return nil, fmt.Errorf("%s: the value is empty; use remove_headers to remove a header", f)
		}
		op := valueOp{name: k, tpl: tpl, slot: -1}
		if !tpl.constant {
			op.slot = *dynamic
			*dynamic++
		}
		out = append(out, op)
	}
	return out, nil
}

func buildQueryOps(cfg *RequestConfig, dynamic *int) (queryOps, error) {
	var ops queryOps
	for i, k := range cfg.RemoveQuery {
		if k == "" {
			return ops, fmt.Errorf("remove_query[%d]: the parameter name is empty", i)
		}
		ops.remove = append(ops.remove, k)
	}
	if len(cfg.RenameQuery) > maxQueryRenames {
		return ops, fmt.Errorf("rename_query: at most %d renames", maxQueryRenames)
	}
	for _, from := range slices.Sorted(maps.Keys(cfg.RenameQuery)) {
		to := cfg.RenameQuery[from]
		switch {
		case from == "" || to == "":
			return ops, fmt.Errorf("rename_query.%s: the parameter name is empty", from)
		case from == to:
			return ops, fmt.Errorf("rename_query.%s: renames the parameter to itself", from)
		}
		ops.rename = append(ops.rename, renameOp{from: from, to: to, escTo: string(appendQueryEscape(nil, to))})
	}
	var err error
	if ops.set, err = queryValues("set_query", cfg.SetQuery, dynamic); err != nil {
		return ops, err
	}
	if ops.add, err = queryValues("add_query", cfg.AddQuery, dynamic); err != nil {
		return ops, err
	}
	return ops, nil
}

func queryValues(field string, m map[string]string, dynamic *int) ([]valueOp, error) {
	var out []valueOp
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if name == "" {
			return nil, fmt.Errorf("%s: the parameter name is empty", field)
		}
		tpl, err := compile(m[name])
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", field, name, err)
		}
		op := valueOp{name: name, escName: string(appendQueryEscape(nil, name)), tpl: tpl, slot: -1}
		if !tpl.constant {
			op.slot = *dynamic
			*dynamic++
		}
		out = append(out, op)
	}
	return out, nil
}
