package secret

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func testKeyring(t *testing.T) *Keyring {
	t.Helper()
	k, err := NewKeyring(testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEncryptRoundTrip(t *testing.T) {
	k := testKeyring(t)
	cases := []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"empty", nil, nil},
		{"short with ad", []byte("sk-live-123"), []byte("credential:abc")},
		{"binary", []byte{0, 1, 2, 255}, []byte("x")},
		{"long", bytes.Repeat([]byte("secret"), 1000), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := k.Encrypt(tc.plaintext, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) != len(tc.plaintext)+headerSize+nonceSize+tagSize {
				t.Errorf("sealed length %d for %d plaintext bytes", len(sealed), len(tc.plaintext))
			}
			if len(tc.plaintext) > 4 && bytes.Contains(sealed, tc.plaintext) {
				t.Error("plaintext visible in sealed value")
			}
			got, err := k.Decrypt(sealed, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Errorf("got %q, want %q", got, tc.plaintext)
			}
		})
	}
}

func TestEncryptUsesFreshNonces(t *testing.T) {
	k := testKeyring(t)
	a, _ := k.Encrypt([]byte("same"), nil)
	b, _ := k.Encrypt([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical")
	}
}

func TestDecryptRejects(t *testing.T) {
	k := testKeyring(t)
	other := testKeyring(t)
	sealed, err := k.Encrypt([]byte("provider-key"), []byte("ai-provider:openai"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}
	cases := []struct {
		name   string
		keys   *Keyring
		sealed []byte
		ad     string
		want   error
	}{
		{"other associated data", k, sealed, "ai-provider:anthropic", ErrDecrypt},
		{"no associated data", k, sealed, "", ErrDecrypt},
		{"other master key", other, sealed, "ai-provider:openai", ErrWrongKey},
		{"flipped version", k, flip(0), "ai-provider:openai", ErrDecrypt},
		{"flipped key id", k, flip(2), "ai-provider:openai", ErrWrongKey},
		{"flipped nonce", k, flip(headerSize + 3), "ai-provider:openai", ErrDecrypt},
		{"flipped ciphertext", k, flip(headerSize + nonceSize + 1), "ai-provider:openai", ErrDecrypt},
		{"flipped tag", k, flip(len(sealed) - 1), "ai-provider:openai", ErrDecrypt},
		{"truncated", k, sealed[:len(sealed)-1], "ai-provider:openai", ErrDecrypt},
		{"too short", k, sealed[:headerSize+nonceSize+tagSize-1], "ai-provider:openai", ErrDecrypt},
		{"empty", k, nil, "ai-provider:openai", ErrDecrypt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.keys.Decrypt(tc.sealed, []byte(tc.ad))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if got != nil {
				t.Errorf("returned %q alongside an error", got)
			}
			if strings.Contains(err.Error(), "provider-key") {
				t.Error("error message leaks the plaintext")
			}
		})
	}
}

func TestDigest(t *testing.T) {
	k, other := testKeyring(t), testKeyring(t)
	d := k.Digest("alice-key")
	if len(d) != DigestSize {
		t.Fatalf("digest is %d bytes", len(d))
	}
	cases := []struct {
		name string
		a, b []byte
		want bool
	}{
		{"same key same value", d, k.Digest("alice-key"), true},
		{"same key other value", d, k.Digest("alice-kez"), false},
		{"other key same value", d, other.Digest("alice-key"), false},
		{"prefix", d, d[:16], false},
		{"both empty", nil, []byte{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Equal(tc.a, tc.b); got != tc.want {
				t.Errorf("Equal = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMask(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"short", "hunter2", "…(7 chars)"},
		{"eleven", "abcdefghijk", "…(11 chars)"},
		{"twelve", "abcdefghijkl", "abcd…(12 chars)"},
		{"api key", "sk-ant-api03-0123456789abcdef", "sk-a…(29 chars)"},
		{"multibyte", "ключ-секретный", "ключ…(14 chars)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Mask(tc.in); got != tc.want {
				t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
