package jsonenc

import (
	"encoding/json"
	"testing"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\`, "ctl\x00\x1f\x7f", "héllo ✓", "bad\xff\xfeutf8", "\u2028"} {
		b := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", s, b, err)
		}
		want := string([]rune(s)) // invalid bytes become U+FFFD, as the decoder does
		if got != want {
			t.Errorf("%q: round trip = %q, want %q", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"b\\c\x01")
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid(AppendString(nil, s)) {
			t.Fatalf("invalid JSON for %q", s)
		}
	})
}

// FuzzAppendStd holds AppendStd to encoding/json's bytes.
func FuzzAppendStd(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote\`, "ctl\x00\x1f\x7f\b\f\n\r\t", "<a href='x'>&amp;</a>", "héllo ✓ 😀", "bad\xff\xfeutf8", "\u2028\u2029", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendStd(nil, s); string(got) != string(want) {
			t.Fatalf("%q: %s, encoding/json %s", s, got, want)
		}
	})
}
