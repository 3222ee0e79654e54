// Package jsonscantest holds a jsonscan decoder to encoding/json.
package jsonscantest

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Agrees fails t unless decoding b with scan, when scan takes it, gives
// what encoding/json gives. A decoder may refuse anything (it is then
// left to encoding/json) but never take a document encoding/json refuses
// or reads otherwise.
func Agrees[T any](t *testing.T, b []byte, scan func([]byte, *T) bool) {
	t.Helper()
	var got T
	if !scan(b, &got) {
		return
	}
	var want T
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("the scanner took %q, which encoding/json refuses: %v", b, err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("%q:\nscanner       %s\nencoding/json %s", b, g, w)
	}
}

// Takes fails t unless scan takes b, a document its package must read
// itself, and reads it as encoding/json does.
func Takes[T any](t *testing.T, name string, b []byte, scan func([]byte, *T) bool) {
	t.Helper()
	var got T
	if !scan(b, &got) {
		t.Errorf("%s: the scanner left it to encoding/json", name)
		return
	}
	Agrees(t, b, scan)
}
