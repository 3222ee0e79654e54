package secret

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fastParams keep tests quick; they are within the accepted bounds.
var fastParams = PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashPasswordDefaultFormat(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Fatalf("hash %q is not in the documented PHC form", h)
	}
	ok, err := VerifyPassword(h, "correct horse")
	if err != nil || !ok {
		t.Fatalf("VerifyPassword = %v, %v", ok, err)
	}
	if NeedsRehash(h, DefaultPasswordParams) {
		t.Error("fresh default hash reported as needing a rehash")
	}
}

func TestVerifyPassword(t *testing.T) {
	h, err := HashPasswordWith("s3cret", fastParams)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPasswordWith("s3cret", fastParams)
	if h == h2 {
		t.Fatal("two hashes of one password share a salt")
	}
	cases := []struct {
		name, password string
		want           bool
	}{
		{"right", "s3cret", true},
		{"wrong", "s3creT", false},
		{"empty", "", false},
		{"longer", "s3cret ", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := VerifyPassword(h, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("VerifyPassword(%q) = %v, want %v", tc.password, got, tc.want)
			}
		})
	}
}

func TestVerifyPasswordRejectsBadHashes(t *testing.T) {
	good, _ := HashPasswordWith("pw", fastParams)
	parts := strings.Split(good, "$")
	salt, hash := parts[4], parts[5]
	cases := []struct {
		name, encoded string
	}{
		{"empty", ""},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuu5Yb7cdGAVQxDNSk1d3S3L1Fqtm6rF3G"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + hash},
		{"old version", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + hash},
		{"missing parameter", "$argon2id$v=19$m=64,t=1$" + salt + "$" + hash},
		{"unknown parameter", "$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + hash},
		{"memory bomb", "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + hash},
		{"time bomb", "$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + hash},
		{"zero threads", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + hash},
		{"bad salt", "$argon2id$v=19$m=64,t=1,p=1$!!$" + hash},
		{"short salt", "$argon2id$v=19$m=64,t=1,p=1$AAAA$" + hash},
		{"short hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAA"},
		{"trailing field", good + "$x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := VerifyPassword(tc.encoded, "pw")
			if ok || !errors.Is(err, ErrBadHash) {
				t.Fatalf("VerifyPassword = %v, %v; want false, ErrBadHash", ok, err)
			}
			if !NeedsRehash(tc.encoded, fastParams) {
				t.Error("unparseable hash does not need a rehash")
			}
		})
	}
}

func TestHashPasswordWithRejectsBadParams(t *testing.T) {
	cases := []PasswordParams{
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
		{Memory: 2 << 20, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	}
	for _, p := range cases {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			if _, err := HashPasswordWith("pw", p); !errors.Is(err, ErrBadHash) {
				t.Fatalf("err = %v, want ErrBadHash", err)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	h, _ := HashPasswordWith("pw", fastParams)
	stronger := fastParams
	stronger.Time = 2
	if NeedsRehash(h, fastParams) {
		t.Error("hash with current params needs rehash")
	}
	if !NeedsRehash(h, stronger) {
		t.Error("hash with weaker params does not need rehash")
	}
}
