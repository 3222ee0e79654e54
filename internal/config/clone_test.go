package config

import (
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestClone(t *testing.T) {
	c := mustLoad(t, "testdata/full.yaml")
	before, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	cp := c.Clone()
	if !reflect.DeepEqual(c, cp) {
		t.Fatal("clone differs from the original")
	}
	if cp.Line("routes[0].plugins.rate-limit.window") == 0 || cp.File() != c.File() {
		t.Error("clone lost the file name or lines")
	}
	assertDisjoint(t, reflect.ValueOf(c).Elem(), reflect.ValueOf(cp).Elem(), "config")

	cp.Routes[0].Plugins["rate-limit"]["limit"] = 1
	cp.Routes[0].Plugins["request-transform"]["remove_headers"].([]any)[0] = "X"
	cp.Upstreams[0].HealthCheck.Active.Statuses[0] = 500
	cp.Upstreams[0].TLS.CAFile = "/other"
	cp.Server.TrustedProxies[0] = "0.0.0.0/0"
	cp.AI.Prices["azure/gpt-4o"] = Price{}
	after, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("changing the clone changed the original")
	}
	if (*Config)(nil).Clone() != nil {
		t.Error("nil.Clone() != nil")
	}
}

// TestFullTestdataSetsEveryField guards the Clone and round-trip tests: they
// only prove something for fields testdata/full.yaml actually sets.
func TestFullTestdataSetsEveryField(t *testing.T) {
	c := mustLoad(t, "testdata/full.yaml")
	set := map[string]bool{}
	markSet(reflect.ValueOf(c).Elem(), set)
	for _, field := range configFields(reflect.TypeFor[Config](), map[reflect.Type]bool{}) {
		if !set[field] {
			t.Errorf("testdata/full.yaml never sets %s", field)
		}
	}
}

// assertDisjoint fails if a and b share any pointer, slice array or map.
func assertDisjoint(t *testing.T, a, b reflect.Value, path string) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if a.IsNil() || b.IsNil() {
			return
		}
		if a.Kind() != reflect.Slice || a.Len() > 0 {
			if a.Pointer() == b.Pointer() {
				t.Errorf("%s is shared between original and clone", path)
				return
			}
		}
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !a.IsNil() && !b.IsNil() {
			assertDisjoint(t, a.Elem(), b.Elem(), path)
		}
	case reflect.Slice:
		for i := range a.Len() {
			assertDisjoint(t, a.Index(i), b.Index(i), joinIndex(path, i))
		}
	case reflect.Map:
		for it := a.MapRange(); it.Next(); {
			assertDisjoint(t, it.Value(), b.MapIndex(it.Key()), path+"."+it.Key().String())
		}
	case reflect.Struct:
		for i := range a.NumField() {
			assertDisjoint(t, a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)
		}
	}
}

// markSet records "Type.Field" for every struct field holding a non-zero
// value anywhere under v.
func markSet(v reflect.Value, set map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			markSet(v.Elem(), set)
		}
	case reflect.Slice:
		for i := range v.Len() {
			markSet(v.Index(i), set)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			markSet(it.Value(), set)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.IsExported() && !v.Field(i).IsZero() {
				set[v.Type().Name()+"."+f.Name] = true
				markSet(v.Field(i), set)
			}
		}
	}
}

// configFields lists "Type.Field" for every exported field of every struct
// type reachable from t.
func configFields(t reflect.Type, visited map[reflect.Type]bool) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || visited[t] {
		return nil
	}
	visited[t] = true
	var out []string
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			out = append(out, t.Name()+"."+f.Name)
			out = append(out, configFields(f.Type, visited)...)
		}
	}
	return out
}
