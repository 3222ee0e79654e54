package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Gemini's function parameters and response schemas are an OpenAPI 3.0
// Schema subset, not JSON Schema: types are upper-case enum names, "null"
// is a nullable flag, and keywords outside the subset make the API reject
// the request. toGeminiSchema rewrites a JSON Schema into that subset:
//
//   - kept: type, format (only the ones Gemini takes for the type),
//     title, description, nullable, enum (strings only), properties,
//     required (only names that are properties), items, anyOf,
//     minItems/maxItems, minLength/maxLength, minProperties/maxProperties,
//     minimum/maximum, pattern;
//   - rewritten: a type array with "null" becomes nullable; a type array of
//     several types becomes anyOf; anyOf/oneOf with a {"type":"null"}
//     branch becomes nullable; a single-branch anyOf/oneOf/allOf is
//     inlined, a multi-branch allOf merged; const becomes a one-value enum;
//     $ref to #/$defs/... or #/definitions/... is inlined (a recursive
//     reference, or one nested deeper than maxSchemaDepth, is dropped);
//   - dropped: everything else ($schema, $id, additionalProperties,
//     default, examples, not, if/then/else, patternProperties,
//     exclusiveMinimum/Maximum, multipleOf, uniqueItems, ...).
//
// For response schemas it adds propertyOrdering in the properties'
// original order, since Gemini otherwise orders output keys
// alphabetically.

// maxSchemaDepth bounds nesting (and $ref expansion) of a schema.
const maxSchemaDepth = 32

// maxSchemaNodes bounds the subschemas one conversion visits, so that
// $refs fanning out (a schema "billion laughs") cannot blow up the work or
// the output; what is past the budget is dropped.
const maxSchemaNodes = 5000

// schemaFormats are the formats Gemini accepts, per type.
var schemaFormats = map[string][]string{
	"STRING":  {"enum", "date-time"},
	"NUMBER":  {"float", "double"},
	"INTEGER": {"int32", "int64"},
}

// schemaCopy are keywords copied as they are when their JSON type fits.
var schemaCopy = map[string]string{
	"title": "string", "description": "string", "pattern": "string",
	"nullable": "bool",
	"minItems": "number", "maxItems": "number", "minLength": "number", "maxLength": "number",
	"minProperties": "number", "maxProperties": "number", "minimum": "number", "maximum": "number",
}

// Agents send the same tool schemas with every request of a loop, so
// converted schemas are kept, by their raw text, in a bounded cache.
var schemaCache = newBoundedMap(schemaCacheSize)

const (
	schemaCacheSize = 512
	maxCachedSchema = 64 << 10 // raw schemas longer than this are not cached
)

// cachedSchema returns conv(raw), from the cache when raw was seen before.
// kind separates tool and response schemas.
func cachedSchema(kind byte, raw json.RawMessage, conv func(json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error) {
	if len(raw) > maxCachedSchema {
		return conv(raw)
	}
	key := string(kind) + string(raw)
	if out, ok := schemaCache.get(key); ok {
		if out == "" {
			return nil, nil
		}
		return json.RawMessage(out), nil
	}
	out, err := conv(raw)
	if err == nil {
		schemaCache.put(key, string(out))
	}
	return out, err
}

// toolParameters converts a tool's parameter schema. It returns nil when
// the tool takes no parameters (Gemini rejects an OBJECT without
// properties).
func toolParameters(raw json.RawMessage) (json.RawMessage, error) {
	return cachedSchema('t', raw, convertToolParameters)
}

func convertToolParameters(raw json.RawMessage) (json.RawMessage, error) {
	root, err := parseSchema(raw)
	if err != nil || root == nil {
		return nil, err
	}
	c := &schemaConv{defs: schemaDefs(root), visiting: map[string]bool{}, budget: maxSchemaNodes}
	out, ok := c.convert(root, 0)
	if !ok {
		return nil, nil
	}
	props, _ := out["properties"].(map[string]any)
	if len(props) == 0 {
		return nil, nil
	}
	out["type"] = "OBJECT"
	delete(out, "anyOf")
	return json.Marshal(out)
}

// responseSchema converts a JSON mode schema; nil when raw is empty.
func responseSchema(raw json.RawMessage) (json.RawMessage, error) {
	return cachedSchema('r', raw, convertResponseSchema)
}

func convertResponseSchema(raw json.RawMessage) (json.RawMessage, error) {
	root, err := parseSchema(raw)
	if err != nil || root == nil {
		return nil, err
	}
	c := &schemaConv{defs: schemaDefs(root), visiting: map[string]bool{}, ordering: true, budget: maxSchemaNodes}
	out, ok := c.convert(root, 0)
	if !ok || len(out) == 0 {
		return nil, nil
	}
	return json.Marshal(out)
}

// object is a JSON object that remembers its key order.
type object struct {
	keys []string
	vals map[string]any
}

func (o *object) get(k string) (any, bool) { v, ok := o.vals[k]; return v, ok }

func (o *object) str(k string) string { s, _ := o.vals[k].(string); return s }

// parseSchema decodes raw into an *object tree (values: *object, []any,
// json.Number, string, bool, nil). Empty input, null and {} yield nil.
func parseSchema(raw json.RawMessage) (*object, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeOrdered(dec, 0)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("invalid JSON schema: %w", err)
	}
	o, ok := v.(*object)
	if !ok {
		return nil, errors.New("invalid JSON schema: not an object")
	}
	if len(o.keys) == 0 {
		return nil, nil
	}
	return o, nil
}

func decodeOrdered(dec *json.Decoder, depth int) (any, error) {
	if depth > 2*maxSchemaDepth+8 {
		return nil, errors.New("nested too deeply")
	}
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				v, err := decodeOrdered(dec, depth+1)
				if err != nil {
					return nil, err
				}
				if _, dup := o.vals[k]; !dup {
					o.keys = append(o.keys, k)
				}
				o.vals[k] = v
			}
			_, err := dec.Token() // '}'
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := decodeOrdered(dec, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token() // ']'
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

// schemaDefs collects the root's $defs and definitions by name.
func schemaDefs(root *object) map[string]*object {
	defs := map[string]*object{}
	for _, key := range []string{"definitions", "$defs"} {
		if d, ok := root.vals[key].(*object); ok {
			for _, name := range d.keys {
				if s, ok := d.vals[name].(*object); ok {
					defs["#/"+key+"/"+name] = s
				}
			}
		}
	}
	return defs
}

type schemaConv struct {
	defs     map[string]*object
	visiting map[string]bool
	ordering bool
	budget   int // subschemas left to visit
}

// convert rewrites schema s; ok is false when s must be dropped (an
// unresolvable or recursive $ref, or nesting past maxSchemaDepth).
func (c *schemaConv) convert(s *object, depth int) (out map[string]any, ok bool) {
	if depth > maxSchemaDepth || c.budget <= 0 {
		return nil, false
	}
	c.budget--
	if ref := s.str("$ref"); ref != "" {
		target, found := c.defs[ref]
		if !found || c.visiting[ref] {
			return nil, false
		}
		c.visiting[ref] = true
		out, ok = c.convert(target, depth+1)
		delete(c.visiting, ref)
		if !ok {
			return nil, false
		}
		for _, k := range []string{"description", "title"} { // the referring site's words win
			if v := s.str(k); v != "" {
				out[k] = v
			}
		}
		if b, _ := s.vals["nullable"].(bool); b {
			out["nullable"] = true
		}
		return out, true
	}
	s, nullable := c.flatten(s, depth)
	if s == nil {
		return nil, false
	}
	out = map[string]any{}
	if nullable {
		out["nullable"] = true
	}

	if branches, ok := s.vals["$anyOf"].([]any); ok {
		var outBranches []any
		for _, b := range branches {
			if bo, ok := c.convert(b.(*object), depth+1); ok {
				outBranches = append(outBranches, bo)
			}
		}
		copyKeywords(out, s, "title", "description")
		if len(outBranches) > 0 {
			out["anyOf"] = outBranches
		}
		return out, true
	}

	types, typeNull := schemaTypes(s)
	if typeNull {
		out["nullable"] = true
	}
	if len(types) > 1 { // a union of types: one anyOf branch per type
		var branches []any
		for _, t := range types {
			b := cloneObject(s)
			b.vals["type"] = strings.ToLower(t)
			delete(b.vals, "nullable")
			if bo, ok := c.convert(b, depth+1); ok {
				delete(bo, "description")
				delete(bo, "title")
				branches = append(branches, bo)
			}
		}
		copyKeywords(out, s, "title", "description")
		if len(branches) > 0 {
			out["anyOf"] = branches
		}
		return out, true
	}
	typ := ""
	if len(types) == 1 {
		typ = types[0]
	}

	// const is a one-value enum; enum holds strings only in Gemini.
	var enum []any
	if v, ok := s.get("const"); ok {
		enum = []any{v}
	} else if e, ok := s.vals["enum"].([]any); ok {
		enum = e
	}
	if len(enum) > 0 {
		strs := make([]any, 0, len(enum))
		for _, v := range enum {
			switch v := v.(type) {
			case string:
				strs = append(strs, v)
			case nil:
				out["nullable"] = true
			default:
				strs = nil
			}
			if strs == nil {
				break
			}
		}
		if len(strs) > 0 && (typ == "" || typ == "STRING") {
			typ = "STRING"
			out["enum"] = strs
		}
	}
	if typ == "" {
		switch {
		case has(s, "properties"):
			typ = "OBJECT"
		case has(s, "items"):
			typ = "ARRAY"
		}
	}
	if typ != "" {
		out["type"] = typ
	}
	if f := s.str("format"); f != "" {
		for _, ok := range schemaFormats[typ] {
			if f == ok {
				out["format"] = f
			}
		}
	}
	for _, k := range s.keys {
		kind, copyable := schemaCopy[k]
		if !copyable {
			continue
		}
		switch v := s.vals[k].(type) {
		case string:
			if kind == "string" {
				out[k] = v
			}
		case bool:
			if kind == "bool" && v {
				out[k] = v
			}
		case json.Number:
			if kind == "number" {
				out[k] = v
			}
		}
	}

	if typ == "OBJECT" || typ == "" {
		if props, ok := s.vals["properties"].(*object); ok {
			outProps := map[string]any{}
			var order []string
			for _, name := range props.keys {
				ps, ok := props.vals[name].(*object)
				if !ok {
					if b, isBool := props.vals[name].(bool); isBool && b {
						ps = &object{vals: map[string]any{}} // true: anything
					} else {
						continue
					}
				}
				if po, ok := c.convert(ps, depth+1); ok {
					outProps[name] = po
					order = append(order, name)
				}
			}
			if len(outProps) > 0 {
				out["properties"] = outProps
				if c.ordering && len(order) > 1 {
					out["propertyOrdering"] = order
				}
				if req, ok := s.vals["required"].([]any); ok {
					var kept []any
					for _, r := range req {
						if name, ok := r.(string); ok && outProps[name] != nil && !containsAny(kept, name) {
							kept = append(kept, name)
						}
					}
					if len(kept) > 0 {
						out["required"] = kept
					}
				}
			}
		}
	}
	if typ == "ARRAY" || typ == "" {
		items := s.vals["items"]
		if tuple, ok := items.([]any); ok && len(tuple) > 0 { // draft-4 tuple form: the first
			items = tuple[0]
		}
		if is, ok := items.(*object); ok {
			if itemsOut, ok := c.convert(is, depth+1); ok {
				out["items"] = itemsOut
			}
		}
	}
	return out, true
}

// flatten resolves the combinators of s into one schema: anyOf/oneOf
// branches of type null become nullable, a single remaining branch (and
// every allOf branch) is merged into s, keywords of s winning. Several
// remaining anyOf/oneOf branches are converted into out["anyOf"] by the
// caller: flatten leaves them in s as "anyOf".
func (c *schemaConv) flatten(s *object, depth int) (*object, bool) {
	if depth > maxSchemaDepth || c.budget <= 0 {
		return nil, false
	}
	c.budget--
	nullable := false
	if all, ok := s.vals["allOf"].([]any); ok {
		s = cloneObject(s)
		delete(s.vals, "allOf")
		for _, b := range all {
			bo, ok := c.resolve(b)
			if !ok {
				return nil, false
			}
			bo, n := c.flatten(bo, depth+1)
			if bo == nil {
				return nil, false
			}
			nullable = nullable || n
			mergeInto(s, bo)
		}
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		branches, ok := s.vals[key].([]any)
		if !ok {
			continue
		}
		s = cloneObject(s)
		delete(s.vals, key)
		var rest []any
		for _, b := range branches {
			bo, ok := c.resolve(b)
			if !ok {
				continue
			}
			if t, _ := bo.vals["type"].(string); t == "null" && len(bo.keys) == 1 {
				nullable = true
				continue
			}
			rest = append(rest, bo)
		}
		switch len(rest) {
		case 0:
		case 1:
			bo, n := c.flatten(rest[0].(*object), depth+1)
			if bo == nil {
				return nil, false
			}
			nullable = nullable || n
			mergeInto(s, bo)
		default:
			s.vals["$anyOf"] = rest
		}
	}
	return s, nullable
}

// resolve returns the schema object b, following one $ref (the $ref site
// itself is returned when it also says something else).
func (c *schemaConv) resolve(b any) (*object, bool) {
	bo, ok := b.(*object)
	if !ok {
		return nil, false
	}
	if ref := bo.str("$ref"); ref != "" && len(bo.keys) == 1 {
		target, found := c.defs[ref]
		if !found || c.visiting[ref] {
			return nil, false
		}
		return target, true
	}
	return bo, true
}

// schemaTypes returns the upper-case non-null types of s and whether
// "null" was one of them.
func schemaTypes(s *object) (types []string, null bool) {
	var names []string
	switch t := s.vals["type"].(type) {
	case string:
		names = []string{t}
	case []any:
		for _, v := range t {
			if n, ok := v.(string); ok {
				names = append(names, n)
			}
		}
	}
	for _, n := range names {
		switch n = strings.ToUpper(n); n {
		case "NULL":
			null = true
		case "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT":
			if !containsString(types, n) {
				types = append(types, n)
			}
		}
	}
	return types, null
}

// mergeInto copies b's keywords that s lacks into s; properties and
// required are unioned.
func mergeInto(s, b *object) {
	for _, k := range b.keys {
		v := b.vals[k]
		cur, exists := s.vals[k]
		switch {
		case !exists:
			s.keys = append(s.keys, k)
			s.vals[k] = v
		case k == "properties":
			cp, ok1 := cur.(*object)
			bp, ok2 := v.(*object)
			if ok1 && ok2 {
				merged := cloneObject(cp)
				for _, name := range bp.keys {
					if _, dup := merged.vals[name]; !dup {
						merged.keys = append(merged.keys, name)
						merged.vals[name] = bp.vals[name]
					}
				}
				s.vals[k] = merged
			}
		case k == "required":
			cr, _ := cur.([]any)
			br, _ := v.([]any)
			s.vals[k] = append(append([]any{}, cr...), br...)
		}
	}
}

func cloneObject(o *object) *object {
	c := &object{keys: append([]string(nil), o.keys...), vals: make(map[string]any, len(o.vals))}
	for k, v := range o.vals {
		c.vals[k] = v
	}
	return c
}

func copyKeywords(out map[string]any, s *object, keys ...string) {
	for _, k := range keys {
		if v := s.str(k); v != "" {
			out[k] = v
		}
	}
}

func has(s *object, k string) bool { _, ok := s.vals[k]; return ok }

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsAny(list []any, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
