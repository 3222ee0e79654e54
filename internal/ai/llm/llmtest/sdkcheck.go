package llmtest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// fieldMeta is what the official SDKs' respjson.Field tells of one field
// of a decoded answer: omitted (Raw ""), null, invalid (a value of the
// wrong type) or valid.
type fieldMeta interface {
	Valid() bool
	Raw() string
}

// SDKProblems walks v, a value decoded by an official SDK (openai-go,
// anthropic-sdk-go) from a JSON document, and lists what betrays a drift
// from the real wire format: fields the SDK does not know (its
// JSON.ExtraFields), values of the wrong type, and fields the SDK marks
// api:"required" that were omitted. A field is not reported when its path
// (like "usage.inference_geo", indexes left out) ends with one of
// allowed's entries (or, for an entry starting with "/", is that path):
// required fields newer than the gateway's dialect,
// which clients treat as absent, or a provider's documented extensions.
func SDKProblems(v any, allowed ...string) []string {
	var out []string
	walk(reflect.ValueOf(v), "", allowed, &out, 0)
	sort.Strings(out)
	return slices.Compact(out)
}

func walk(v reflect.Value, path string, allowed []string, out *[]string, depth int) {
	if depth > 32 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), path, allowed, out, depth+1)
		}
		return
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), allowed, out, depth+1)
		}
		return
	case reflect.Struct:
	default:
		return
	}
	// A union (content blocks, stream events) is checked as its variant
	// too: the variant's type knows which fields are required.
	if m := v.MethodByName("AsAny"); m.IsValid() && m.Type().NumIn() == 0 && m.Type().NumOut() == 1 {
		if variant := m.Call(nil)[0]; variant.IsValid() && !(variant.Kind() == reflect.Interface && variant.IsNil()) {
			walk(variant, path, allowed, out, depth+1)
		}
	}
	meta := v.FieldByName("JSON")
	if !meta.IsValid() || meta.Kind() != reflect.Struct {
		return
	}
	if extra := meta.FieldByName("ExtraFields"); extra.IsValid() && extra.Kind() == reflect.Map && extra.Len() > 0 {
		var keys []string
		for _, k := range extra.MapKeys() {
			full := k.String()
			if path != "" {
				full = path + "." + full
			}
			if !endsWithAny(full, allowed) {
				keys = append(keys, k.String())
			}
		}
		sort.Strings(keys)
		if len(keys) > 0 {
			*out = append(*out, fmt.Sprintf("%s: fields unknown to the SDK: %s", orRoot(path), strings.Join(keys, ", ")))
		}
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		sub := path + "." + name
		if path == "" {
			sub = name
		}
		if m := meta.FieldByName(f.Name); m.IsValid() && m.CanInterface() {
			if fm, ok := m.Interface().(fieldMeta); ok {
				raw := fm.Raw()
				switch {
				case raw == "" && f.Tag.Get("api") == "required" && !endsWithAny(sub, allowed):
					*out = append(*out, sub+": required field omitted")
				case raw != "" && raw != "null" && !fm.Valid():
					*out = append(*out, fmt.Sprintf("%s: value of the wrong type: %s", sub, raw))
				}
				if raw == "" || raw == "null" {
					continue
				}
			}
		}
		walk(v.Field(i), sub, allowed, out, depth+1)
	}
}

func endsWithAny(path string, suffixes []string) bool {
	// Indexes do not count: "content[2].citations" matches "content.citations".
	var b strings.Builder
	skip := false
	for _, r := range path {
		switch {
		case r == '[':
			skip = true
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	p := b.String()
	for _, s := range suffixes {
		if exact, ok := strings.CutPrefix(s, "/"); ok {
			if p == exact {
				return true
			}
		} else if p == s || strings.HasSuffix(p, "."+s) {
			return true
		}
	}
	return false
}

func orRoot(p string) string {
	if p == "" {
		return "(root)"
	}
	return p
}

// CheckSDK decodes raw into target (a pointer to an official SDK type)
// and reports SDKProblems as test errors, prefixed with what.
func CheckSDK(t interface {
	Helper()
	Errorf(string, ...any)
}, what string, raw []byte, target any, allowed ...string) {
	t.Helper()
	if err := json.Unmarshal(raw, target); err != nil {
		t.Errorf("%s: the SDK cannot decode it: %v\n%s", what, err, raw)
		return
	}
	for _, p := range SDKProblems(target, allowed...) {
		t.Errorf("%s: %s", what, p)
	}
}
