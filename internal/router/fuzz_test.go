package router

import (
	"errors"
	"strings"
	"testing"
	"unsafe"
)

// FuzzCanonicalize checks the properties every canonical path has. Its seed
// corpus lives in testdata/fuzz/FuzzCanonicalize and runs with go test.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{"/", "/a/b/", "/public/%2e%2e/private", "//a/./b/../c", "/a%2fb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Canonicalize(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("Canonicalize(%q) error %v does not wrap ErrInvalidPath", in, err)
			}
			return
		}
		checkCanonical(t, in, out)
	})
}

// checkCanonical fails t unless out, the result of Canonicalize(in), has the
// properties of a canonical path.
func checkCanonical(t *testing.T, in, out string) {
	t.Helper()
	if !strings.HasPrefix(out, "/") {
		t.Fatalf("Canonicalize(%q) = %q: does not begin with /", in, out)
	}
	if strings.Contains(out, "//") {
		t.Fatalf("Canonicalize(%q) = %q: holds //", in, out)
	}
	for seg := range strings.SplitSeq(out[1:], "/") {
		if seg == "." || seg == ".." {
			t.Fatalf("Canonicalize(%q) = %q: holds dot segment %q", in, out, seg)
		}
		if hasDotPiece(seg) {
			t.Fatalf("Canonicalize(%q) = %q: holds disguised dot segment %q", in, out, seg)
		}
	}
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case c == '%':
			if i+2 >= len(out) || !isUpperHex(out[i+1]) || !isUpperHex(out[i+2]) {
				t.Fatalf("Canonicalize(%q) = %q: escape at %d not two upper-case hex digits", in, out, i)
			}
			if v := unhex(out[i+1])<<4 | unhex(out[i+2]); unreserved[v] || v == 0 {
				t.Fatalf("Canonicalize(%q) = %q: escape %q must have been decoded or rejected", in, out, out[i:i+3])
			}
			i += 2
		case byteClass[c] != classKeep:
			t.Fatalf("Canonicalize(%q) = %q: raw byte %#x may not appear", in, out, c)
		}
	}
	again, err := Canonicalize(out)
	if err != nil || again != out {
		t.Fatalf("not idempotent: Canonicalize(%q) = %q, %v", out, again, err)
	}
	if unsafe.StringData(again) != unsafe.StringData(out) {
		t.Fatalf("Canonicalize(%q) copied a canonical path instead of returning it", out)
	}
}
