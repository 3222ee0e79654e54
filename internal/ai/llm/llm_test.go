package llm

import "testing"

func TestErrorResult(t *testing.T) {
	for in, want := range map[string]string{
		`{"code": 504}`:            `{"error":{"code": 504}}`,
		" [1, 2] \n":               `{"error":[1, 2]}`,
		"timed out":                `{"error":"timed out"}`,
		`{"cut": `:                 `{"error":"{\"cut\": "}`,
		"":                         `{"error":""}`,
		"line one\n\"quoted\" <b>": `{"error":"line one\n\"quoted\" \u003cb\u003e"}`,
	} {
		if got := string(ErrorResult(in)); got != want {
			t.Errorf("ErrorResult(%q) = %s, want %s", in, got, want)
		}
	}
}
