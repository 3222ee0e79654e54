package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/gwerr"
)

// Request bodies are decoded the way the config file is: strictly (an
// unknown field is a problem, with a suggestion), on top of the same
// defaults (an upstream without timeouts gets the file's default
// timeouts), and reporting every problem at once with the path of the
// field. encoding/json cannot do that by itself: it stops at the first
// error, does not say where an UnmarshalJSON failed, and fills new list
// elements with zero values instead of defaults. So the decoder walks the
// JSON and the Go type together and hands only leaves to encoding/json.
//
// Unlike the config file, values are taken literally: ${VAR} is not
// expanded, so API callers cannot read the node's environment.

// maxBodyBytes bounds an entity or credential body.
const maxBodyBytes = 1 << 20

// readBody reads the request body, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, withStatus(gwerr.PayloadTooLarge, http.StatusRequestEntityTooLarge,
			"The request body is larger than %d bytes.", limit)
	case err != nil:
		return nil, errBadRequest("The request body could not be read.")
	}
	return data, nil
}

// decodeBody reads the request body as one JSON value into v, which must
// be a pointer, strictly and on top of the defaults of v's type.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	data, err := readBody(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	if ps := decodeJSON(data, v); len(ps) > 0 {
		return invalid(ps, "The request body has %s.", countProblems(len(ps)))
	}
	return nil
}

// countProblems says "1 problem" or "N problems".
func countProblems(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return strconv.Itoa(n) + " problems"
}

// decodeJSON decodes data into v (a pointer) and returns every problem
// found. The value v points to is first set to its type's defaults.
func decodeJSON(data []byte, v any) []problem {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return []problem{newProblem("", "the request body is empty; send a JSON object")}
	}
	if !json.Valid(data) {
		var x any
		err := json.Unmarshal(data, &x)
		return []problem{newProblem("", "the request body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))}
	}
	rv := reflect.ValueOf(v).Elem()
	rv.Set(newValue(rv.Type()))
	d := &jsonDecoder{}
	d.value(data, rv, "")
	return d.problems
}

// jsonDecoder collects the problems of one decode.
type jsonDecoder struct {
	problems []problem
}

func (d *jsonDecoder) addf(path, format string, args ...any) {
	d.problems = append(d.problems, newProblem(path, format, args...))
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// value decodes raw, a valid JSON value, into v.
func (d *jsonDecoder) value(raw []byte, v reflect.Value, path string) {
	if string(raw) == "null" {
		// As encoding/json does: null clears what can be nil and leaves
		// everything else (its default) alone.
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			v.SetZero()
		}
		return
	}
	if reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
			d.addf(path, "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(newValue(v.Type().Elem()))
			v.Set(p)
		}
		d.value(raw, v.Elem(), path)
	case reflect.Struct:
		d.object(raw, v, path)
	case reflect.Slice:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			d.addf(path, "must be a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			s.Index(i).Set(newValue(v.Type().Elem()))
			d.value(item, s.Index(i), path+"["+strconv.Itoa(i)+"]")
		}
		v.Set(s)
	case reflect.Map:
		var items map[string]json.RawMessage
		if v.Type().Key().Kind() != reflect.String || json.Unmarshal(raw, &items) != nil {
			d.addf(path, "must be an object")
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(items))
		for _, k := range sortedKeys(items) {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(newValue(v.Type().Elem()))
			d.value(items[k], e, config.JoinKey(path, k))
			m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	case reflect.Interface:
		x, err := decodeAny(raw)
		if err != nil {
			d.addf(path, "%s", err)
			return
		}
		v.Set(reflect.ValueOf(x))
	default:
		if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
			d.addf(path, "must be %s", kindWanted(v.Kind()))
		}
	}
}

// object decodes a JSON object into the struct v, field by json tag.
func (d *jsonDecoder) object(raw []byte, v reflect.Value, path string) {
	var items map[string]json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		d.addf(path, "must be an object")
		return
	}
	fields := jsonFields(v.Type())
	for _, f := range fields.list {
		if item, ok := items[f.name]; ok {
			d.value(item, v.Field(f.index), config.JoinKey(path, f.name))
		}
	}
	for _, k := range sortedKeys(items) {
		if _, known := fields.byName[k]; known {
			continue
		}
		msg := fmt.Sprintf("unknown field %q", k)
		if s := config.Suggest(k, fields.names()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		d.addf(config.JoinKey(path, k), "%s", msg)
	}
}

// decodeAny decodes a free-form value (a plugin's configuration) as the
// config file's YAML decoder would: whole numbers become int, other
// numbers float64.
func decodeAny(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	return numbersToGo(x), nil
}

func numbersToGo(x any) any {
	switch x := x.(type) {
	case json.Number:
		if n, err := strconv.Atoi(x.String()); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, v := range x {
			x[k] = numbersToGo(v)
		}
	case []any:
		for i, v := range x {
			x[i] = numbersToGo(v)
		}
	}
	return x
}

// kindWanted names the JSON type a Go kind is decoded from.
func kindWanted(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + k.String()
}

// structFields maps a struct type's JSON field names to field indexes.
type structFields struct {
	list   []structField
	byName map[string]int
}

type structField struct {
	name  string
	index int
}

func (f *structFields) names() []string {
	out := make([]string, len(f.list))
	for i, x := range f.list {
		out[i] = x.name
	}
	return out
}

var fieldCache sync.Map // reflect.Type → *structFields

// jsonFields returns the JSON-visible fields of struct type t: exported,
// named by their json tag (or Go name), "-" skipped.
func jsonFields(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f := &structFields{byName: map[string]int{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f.byName[name] = len(f.list)
		f.list = append(f.list, structField{name: name, index: i})
	}
	fieldCache.Store(t, f)
	return f
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// defaults holds, per config type whose zero value is not its default,
// that default encoded as JSON. They are taken from config.Parse itself,
// so an entity sent to the API gets exactly the defaults the same entity
// written in the config file would.
var defaults = sync.OnceValue(func() map[reflect.Type][]byte {
	const doc = `
upstreams:
  - name: d
    targets: [{url: "http://d"}]
    health_check: {active: {}, passive: {}}
ai:
  providers: [{name: p, type: ollama}]
  models: [{name: m, targets: [{provider: p, model: x}]}]
`
	c, err := config.Parse("defaults", []byte(doc))
	if err != nil {
		panic("admin: the defaults document does not parse: " + err.Error())
	}
	u := c.Upstreams[0]
	enc := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			panic("admin: encoding a default: " + err.Error())
		}
		return b
	}
	out := map[reflect.Type][]byte{
		reflect.TypeFor[config.Target]():       enc(u.Targets[0]),
		reflect.TypeFor[config.ActiveCheck]():  enc(u.HealthCheck.Active),
		reflect.TypeFor[config.PassiveCheck](): enc(u.HealthCheck.Passive),
		reflect.TypeFor[config.ModelTarget]():  enc(c.AI.Models[0].Targets[0]),
	}
	u.Name, u.Targets, u.HealthCheck = "", nil, config.HealthCheck{}
	out[reflect.TypeFor[config.Upstream]()] = enc(u)
	return out
})

// newValue returns a new value of type t set to its defaults: the zero
// value for types without any.
func newValue(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	if b, ok := defaults()[t]; ok {
		if err := json.Unmarshal(b, v.Addr().Interface()); err != nil {
			panic("admin: decoding a default: " + err.Error())
		}
	}
	return v
}
