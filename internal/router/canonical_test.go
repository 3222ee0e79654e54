package router

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonicalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"root", "/", "/"},
		{"plain", "/a/b", "/a/b"},
		{"trailing slash kept", "/a/b/", "/a/b/"},
		{"slash runs collapse", "//a///b//", "/a/b/"},
		{"dot removed", "/a/./b", "/a/b"},
		{"dot-dot removed", "/a/../b", "/b"},
		{"dot-dot at root clamps", "/..", "/"},
		{"dot-dots above root clamp", "/../../a", "/a"},
		{"dot-dot to root", "/a/..", "/"},
		{"final dot-dot leaves slash", "/a/b/..", "/a/"},
		{"final dot leaves slash", "/a/.", "/a/"},
		{"dot-dot after slash run", "/a//..//b", "/b"},
		{"encoded dot-dot", "/public/%2e%2e/private", "/private"},
		{"encoded dot-dot upper", "/public/%2E%2E/private", "/private"},
		{"half encoded dot-dot", "/public/.%2e/private", "/private"},
		{"encoded final dot", "/a/%2e", "/a/"},
		{"encoded slash stays encoded", "/a%2fb", "/a%2Fb"},
		{"encoded slash not a separator", "/a%2F/../b", "/b"},
		{"unreserved decoded", "/%7euser/%41%42%63%2D%5F", "/~user/ABc-_"},
		{"reserved kept upper-cased", "/%e2%82%ac/%3a%40", "/%E2%82%AC/%3A%40"},
		{"percent escape kept", "/%25", "/%25"},
		{"double encoding not decoded twice", "/%252e%252e/x", "/%252e%252e/x"},
		{"space encoded", "/a b", "/a%20b"},
		{"high bytes encoded", "/caf\xc3\xa9", "/caf%C3%A9"},
		{"question mark encoded", "/a?b", "/a%3Fb"},
		{"brackets encoded", "/[x]", "/%5Bx%5D"},
		{"params kept", "/a;b=c/d", "/a;b=c/d"},
		{"sub-delims kept", "/!$&'()*+,;=:@", "/!$&'()*+,;=:@"},
		{"dots in names kept", "/v1.2/file.json", "/v1.2/file.json"},
		{"three dots is a name", "/.../x", "/.../x"},
		{"dot prefix is a name", "/.hidden/..b/b..", "/.hidden/..b/b.."},
		{"semicolon after name", "/a/x;..", "/a/x;.."},
		{"encoded control kept", "/a%0a", "/a%0A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize(tt.in)
			if err != nil {
				t.Fatalf("Canonicalize(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Canonicalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := Canonicalize(got)
			if err != nil || again != got {
				t.Fatalf("not idempotent: Canonicalize(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestCanonicalizeErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrPathNotAbsolute},
		{"relative", "a/b", ErrPathNotAbsolute},
		{"encoded leading slash", "%2Fa", ErrPathNotAbsolute},
		{"bad hex", "/a%zz", ErrMalformedEscape},
		{"truncated escape", "/a%4", ErrMalformedEscape},
		{"lone percent", "/a%", ErrMalformedEscape},
		{"percent then slash", "/a%/b", ErrMalformedEscape},
		{"encoded NUL", "/a%00", ErrForbiddenByte},
		{"raw NUL", "/a\x00", ErrForbiddenByte},
		{"raw newline", "/a\nb", ErrForbiddenByte},
		{"raw tab", "/a\tb", ErrForbiddenByte},
		{"raw DEL", "/a\x7f", ErrForbiddenByte},
		{"raw backslash", "/a\\b", ErrForbiddenByte},
		{"tomcat dot-dot", "/..;/private", ErrDisguisedDotSegment},
		{"dot-dot with session", "/a/..;jsessionid=x/b", ErrDisguisedDotSegment},
		{"dot with param", "/a/.;", ErrDisguisedDotSegment},
		{"encoded dot-dot with param", "/a/%2e%2e;/b", ErrDisguisedDotSegment},
		{"dot-dot with encoded semicolon", "/a/..%3bx/b", ErrDisguisedDotSegment},
		{"dot-dot before encoded slash", "/public/..%2Fprivate", ErrDisguisedDotSegment},
		{"dot-dot before lower encoded slash", "/public/..%2fprivate", ErrDisguisedDotSegment},
		{"dot-dot between encoded backslashes", "/public/a%5c..%5cb", ErrDisguisedDotSegment},
		{"dot-dot hidden after param", "/a/x;%2F..%2F", ErrDisguisedDotSegment},
		{"dot before encoded slash", "/a/.%2Fb", ErrDisguisedDotSegment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize(tt.in)
			if err == nil {
				t.Fatalf("Canonicalize(%q) = %q, want error %v", tt.in, got, tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Canonicalize(%q) error %v, want %v", tt.in, err, tt.want)
			}
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("error %v does not wrap ErrInvalidPath", err)
			}
		})
	}
}

func TestCanonicalizeErrorDetail(t *testing.T) {
	_, err := Canonicalize("/ok/%4")
	if err == nil || !strings.Contains(err.Error(), `"%4"`) {
		t.Fatalf("error %v does not name the bad escape", err)
	}
	_, err = Canonicalize("/" + strings.Repeat("x", 200) + "/..;")
	if err == nil || len(err.Error()) > 120 {
		t.Fatalf("error detail not bounded: %v", err)
	}
}

func TestCanonicalizeFastPathDoesNotAllocate(t *testing.T) {
	paths := []string{"/", "/a/b/c", "/orders/123/items/", "/v1.2/a%2Fb;x=y/~me", "/%E2%82%AC"}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			var got string
			allocs := testing.AllocsPerRun(100, func() {
				got, _ = Canonicalize(p)
			})
			if got != p {
				t.Fatalf("Canonicalize(%q) = %q, want it unchanged", p, got)
			}
			if allocs != 0 {
				t.Fatalf("Canonicalize(%q) allocated %v times, want 0", p, allocs)
			}
		})
	}
}
