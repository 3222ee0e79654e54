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
