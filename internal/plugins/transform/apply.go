package transform

import (
	"net/http"
	"strings"

	"github.com/sluicegw/sluice/internal/plugin"
)

// maxQueryRenames bounds rename_query so that the renames present in a
// request fit a bit set.
const maxQueryRenames = 64

// Access applies the request operations to the request to be forwarded.
func (r *Request) Access(c *plugin.Ctx) error {
	var vals []string
	if r.dynamic > 0 {
		// Render every value before any operation changes the request.
		vals = make([]string, r.dynamic)
		renderAll(vals, r.hdr.set, c, true)
		renderAll(vals, r.hdr.add, c, true)
		renderAll(vals, r.query.set, c, false)
		renderAll(vals, r.query.add, c, false)
	}
	r.hdr.apply(c.R.Header, vals)
	if len(c.R.Header["Connection"]) > 0 {
		r.scrubConnection(c.R.Header)
	}
	if !r.query.empty() {
		c.R.URL.RawQuery = r.query.apply(c.R.URL.RawQuery, vals)
	}
	return nil
}

// Response applies the response operations to the response head.
func (r *Response) Response(c *plugin.Ctx, _ int, h http.Header) {
	var vals []string
	if r.dynamic > 0 {
		vals = make([]string, r.dynamic)
		renderAll(vals, r.hdr.set, c, true)
		renderAll(vals, r.hdr.add, c, true)
	}
	r.hdr.apply(h, vals)
}

// scrubConnection removes from the request's Connection header the names
// of headers this transform wrote. The proxy drops every header the client
// names in Connection (they are hop-by-hop for the client's connection); a
// header the gateway writes is not the client's, and the client must not
// be able to suppress it that way.
func (r *Request) scrubConnection(h http.Header) {
	hit := false
	for _, v := range h["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if r.wrote(strings.TrimSpace(tok)) {
				hit = true
			}
		}
	}
	if !hit {
		return
	}
	var kept []string
	for _, v := range h["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" && !r.wrote(tok) {
				kept = append(kept, tok)
			}
		}
	}
	if len(kept) == 0 {
		delete(h, "Connection")
		return
	}
	h["Connection"] = []string{strings.Join(kept, ", ")}
}

// wrote reports whether the transform sets, adds or renames to the header
// named tok (any case).
func (r *Request) wrote(tok string) bool {
	for _, name := range r.written {
		if strings.EqualFold(tok, name) {
			return true
		}
	}
	return false
}

// renderAll renders the non-constant values of ops into their slots of
// vals. A header value with control characters is left empty, which skips
// its operation.
func renderAll(vals []string, ops []valueOp, c *plugin.Ctx, header bool) {
	var scratch [256]byte
	for i := range ops {
		op := &ops[i]
		if op.slot < 0 {
			continue
		}
		b := op.tpl.render(scratch[:0], c)
		if len(b) == 0 || (header && !validFieldValue(b)) {
			continue
		}
		vals[op.slot] = string(b)
	}
}

// value returns op's value as a header value slice, or nil when a
// rendered value is empty (the operation is skipped). Constant values are
// shared, capacity-limited slices: appending copies them.
func (op *valueOp) value(vals []string) []string {
	if op.slot < 0 {
		return op.tpl.litVals
	}
	if vals[op.slot] == "" {
		return nil
	}
	return vals[op.slot : op.slot+1 : op.slot+1]
}

// apply runs the header operations on h in the documented order.
func (ops *headerOps) apply(h http.Header, vals []string) {
	for _, k := range ops.remove {
		delete(h, k)
	}
	for _, rn := range ops.rename {
		if vv, ok := h[rn.from]; ok {
			delete(h, rn.from)
			h[rn.to] = vv
		}
	}
	for i := range ops.set {
		if v := ops.set[i].value(vals); v != nil {
			h[ops.set[i].name] = v
		}
	}
	for i := range ops.add {
		op := &ops.add[i]
		v := op.value(vals)
		switch old := h[op.name]; {
		case v == nil:
		case len(old) == 0:
			h[op.name] = v
		default:
			// The engine's header slices share backing arrays: never
			// append in place.
			h[op.name] = append(old[:len(old):len(old)], v[0])
		}
	}
}

// matchAny reports whether the raw key k is one of names.
func matchAny(k string, names []string) bool {
	for _, n := range names {
		if equalUnescaped(k, n) {
			return true
		}
	}
	return false
}

func matchOp(k string, ops []valueOp) bool {
	for i := range ops {
		if equalUnescaped(k, ops[i].name) {
			return true
		}
	}
	return false
}

// scan reports which renames apply to the raw query q and whether any
// remove, rename or set names a parameter of it.
func (ops *queryOps) scan(q string) (present uint64, touched bool) {
	for q != "" {
		var pair string
		pair, q = nextPair(q)
		k, _, _ := splitPair(pair)
		for i, rn := range ops.rename {
			if equalUnescaped(k, rn.from) {
				present |= 1 << i
				touched = true
			}
		}
		if !touched && (matchAny(k, ops.remove) || matchOp(k, ops.set)) {
			touched = true
		}
	}
	return present, touched
}

// apply returns the raw query q with the operations applied; q itself
// when nothing changes.
func (ops *queryOps) apply(q string, vals []string) string {
	present, touched := ops.scan(q)
	if !touched && len(ops.set)+len(ops.add) == 0 {
		return q
	}
	var scratch [512]byte
	b := scratch[:0]
	for rest := q; rest != ""; {
		var pair string
		pair, rest = nextPair(rest)
		if pair == "" {
			continue
		}
		k, v, hasValue := splitPair(pair)
		if matchAny(k, ops.remove) {
			continue
		}
		renamed, replaced := -1, false
		for i, rn := range ops.rename {
			switch {
			case equalUnescaped(k, rn.from):
				renamed = i
			case present&(1<<i) != 0 && equalUnescaped(k, rn.to):
				replaced = true
			}
		}
		switch {
		case renamed >= 0:
			rn := &ops.rename[renamed]
			if matchOp(rn.to, ops.set) {
				continue
			}
			b = separate(b)
			b = append(b, rn.escTo...)
			if hasValue {
				b = append(b, '=')
				b = append(b, v...)
			}
		case replaced, matchOp(k, ops.set):
		default:
			b = separate(b)
			b = append(b, pair...)
		}
	}
	b = appendQueryOps(b, ops.set, vals)
	b = appendQueryOps(b, ops.add, vals)
	return string(b)
}

func appendQueryOps(b []byte, ops []valueOp, vals []string) []byte {
	for i := range ops {
		op := &ops[i]
		v := op.tpl.lit
		if op.slot >= 0 {
			if v = vals[op.slot]; v == "" {
				continue
			}
		}
		b = separate(b)
		b = append(b, op.escName...)
		b = append(b, '=')
		b = appendQueryEscape(b, v)
	}
	return b
}

// separate appends "&" unless b is empty.
func separate(b []byte) []byte {
	if len(b) > 0 {
		b = append(b, '&')
	}
	return b
}
