package config

import (
	"maps"
	"reflect"
)

// Clone returns a deep copy of c: no pointer, slice or map — including the
// raw plugin configurations — is shared with c, so the copy may be changed
// freely. The copy keeps c's file name and line numbers. Clone of nil is nil.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	out := deepCopy(reflect.ValueOf(c).Elem()).Interface().(Config)
	out.file = c.file
	out.lines = maps.Clone(c.lines)
	return &out
}

// deepCopy returns a copy of v sharing no memory with it. It handles the
// kinds config values are made of: exported struct fields, pointers,
// slices, maps, interfaces holding those, and plain values. Unexported
// struct fields are left zero; Clone copies Config's own by hand.
func deepCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(deepCopy(v.Elem()))
			out.Set(p)
		}
	case reflect.Slice:
		if !v.IsNil() {
			s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			for i := range v.Len() {
				s.Index(i).Set(deepCopy(v.Index(i)))
			}
			out.Set(s)
		}
	case reflect.Map:
		if !v.IsNil() {
			m := reflect.MakeMapWithSize(v.Type(), v.Len())
			for it := v.MapRange(); it.Next(); {
				m.SetMapIndex(it.Key(), deepCopy(it.Value()))
			}
			out.Set(m)
		}
	case reflect.Interface:
		if !v.IsNil() {
			out.Set(deepCopy(v.Elem()))
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				out.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
	default:
		out.Set(v)
	}
	return out
}
