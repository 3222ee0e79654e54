package jsonscan

import (
	"encoding/json"
	"testing"
)

// TestString checks each string form against encoding/json: taken the
// same, or refused (left to encoding/json).
func TestString(t *testing.T) {
	for _, doc := range []string{
		`"plain"`, `"esc \" \\ \/ \b \f \n \r \t"`, `"\u00e9\u0000"`, `"\ud83d\ude00"`, `"é 😀"`,
		`"\ud800"`, `"\udc00\u0041"`, `"bad \x"`, "\"ctl \x01\"", "\"\xff\"", `"\u12"`, `null`, `1`,
	} {
		var p Scanner
		p.Reset([]byte(doc))
		got := "unset"
		ok := p.String(&got) && p.End()
		want := "unset"
		err := json.Unmarshal([]byte(doc), &want)
		switch {
		case !ok:
			// Refusing is always allowed; taking must agree.
		case err != nil:
			t.Errorf("%s: taken as %q, encoding/json refuses it: %v", doc, got, err)
		case got != want:
			t.Errorf("%s: %q, encoding/json %q", doc, got, want)
		}
		if doc == `"plain"` || doc == `"\ud83d\ude00"` || doc == `"esc \" \\ \/ \b \f \n \r \t"` {
			if !ok {
				t.Errorf("%s: refused", doc)
			}
		}
	}
}

// TestObjectRefusals checks the forms encoding/json reads differently from
// a plain key match are refused.
func TestObjectRefusals(t *testing.T) {
	known := []string{"id"}
	for doc, want := range map[string]bool{
		`{"id":"a","x":[1,{"y":null}],"z":-1.5e3}`: true,
		`{"id":"a","id":"b"}`:                      false, // repeated
		`{"i\u0064":"a"}`:                          false, // escaped key
		`{"ID":"a"}`:                               false, // another case of a known key
		`{"id":"a"} x`:                             false, // trailing data
		`{"id":"a",}`:                              false,
	} {
		var p Scanner
		p.Reset([]byte(doc))
		var id string
		ok := p.Object(func(key []byte) bool {
			if string(key) == "id" {
				return p.String(&id)
			}
			return p.Unknown(key, known)
		}) && p.End()
		if ok != want {
			t.Errorf("%s: taken %v, want %v", doc, ok, want)
		}
	}
}

// TestNumbers checks the number and boolean readers against encoding/json
// on each literal form: taken the same, or refused.
func TestNumbers(t *testing.T) {
	agree := func(doc string, read func(p *Scanner) (any, bool), decode func([]byte) (any, error), mustTake bool) {
		t.Helper()
		var p Scanner
		p.Reset([]byte(doc))
		got, ok := read(&p)
		ok = ok && p.End()
		want, err := decode([]byte(doc))
		switch {
		case !ok && mustTake:
			t.Errorf("%s: refused", doc)
		case !ok:
		case err != nil:
			t.Errorf("%s: taken as %v, encoding/json refuses it: %v", doc, got, err)
		case got != want:
			t.Errorf("%s: %v, encoding/json %v", doc, got, want)
		}
	}
	for doc, take := range map[string]bool{
		"0": true, "-0": true, "0.2": true, "1e3": true, "-1.5E-7": true, "2": true, "1e400": false, "01": false,
		"1.": false, ".5": false, "-": false, "1e": false, "+1": false, "0x10": false, "null": true, "true": false, `"1"`: false,
	} {
		agree(doc, func(p *Scanner) (any, bool) {
			var f *float64
			ok := p.OptFloat64(&f)
			if f == nil {
				return "nil", ok
			}
			return *f, ok
		}, func(b []byte) (any, error) {
			var f *float64
			err := json.Unmarshal(b, &f)
			if f == nil {
				return "nil", err
			}
			return *f, err
		}, take)
	}
	for doc, take := range map[string]bool{
		"0": true, "-12": true, "9223372036854775807": true, "9223372036854775808": false, "1.0": false, "1e2": false, "null": true,
	} {
		agree(doc, func(p *Scanner) (any, bool) { var n int64 = 7; ok := p.Int64(&n); return n, ok },
			func(b []byte) (any, error) { var n int64 = 7; err := json.Unmarshal(b, &n); return n, err }, take)
	}
	for doc, take := range map[string]bool{"true": true, "false": true, "null": true, "tru": false, "1": false, `"true"`: false} {
		agree(doc, func(p *Scanner) (any, bool) { v := true; ok := p.Bool(&v); return v, ok },
			func(b []byte) (any, error) { v := true; err := json.Unmarshal(b, &v); return v, err }, take)
	}
}
