package config

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse checks that no input makes Parse panic, that failures are
// always Problems with a line >= 0 and a one-line message, and that
// successes are valid configs that Clone faithfully. Its seeds live in
// testdata/fuzz/FuzzParse and run with every `go test`.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a config along with an error")
			}
			var problems Problems
			if !errors.As(err, &problems) || len(problems) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty Problems", err, err)
			}
			for _, p := range problems {
				if p.Line < 0 || p.File != "fuzz.yaml" || p.Message == "" || strings.ContainsAny(p.Message, "\r\n") {
					t.Fatalf("bad problem %+v", p)
				}
			}
			return
		}
		if c == nil {
			t.Fatal("Parse returned neither a config nor an error")
		}
		if problems := c.Validate(); problems != nil {
			t.Fatalf("parsed config fails Validate:\n%v", problems)
		}
		// Compare as YAML: raw plugin values may hold NaN, which DeepEqual
		// never finds equal to itself.
		a, errA := yaml.Marshal(c)
		b, errB := yaml.Marshal(c.Clone())
		if errA != nil || errB != nil || string(a) != string(b) {
			t.Fatalf("clone differs: %v %v\n%s\n%s", errA, errB, a, b)
		}
	})
}
