package secret

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"strconv"
	"unicode/utf8"
)

// DigestSize is the length of a Digest in bytes.
const DigestSize = sha256.Size

// Digest returns HMAC-SHA256 of secret under the keyring's digest key. It is
// how a credential presented by value (an API key, a basic-auth user name, a
// JWT issuer, an admin token) is found without the value being stored: the
// store keeps the digest, indexed, and the gateway digests what the client
// sends. Without the master key a leaked digest cannot be tested against
// guesses offline. The same secret always yields the same digest under the
// same master key.
func (k *Keyring) Digest(secret string) []byte {
	m := hmac.New(sha256.New, k.digestKey)
	m.Write([]byte(secret))
	return m.Sum(make([]byte, 0, DigestSize))
}

// NewDigestMAC returns a fresh keyed hash computing the same digests as
// Digest, for callers that pool their hash state on hot paths.
func (k *Keyring) NewDigestMAC() hash.Hash {
	return hmac.New(sha256.New, k.digestKey)
}

// Equal reports whether a and b are equal in time that depends only on their
// lengths, never on their contents.
func Equal(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

// Mask returns a form of secret that is safe to show and log: its first four
// characters, an ellipsis and its length in characters, e.g.
// "sk-a…(51 chars)". Secrets shorter than 12 characters show no characters
// at all ("…(8 chars)"), since four of them would be too large a share. The
// empty string masks to itself.
func Mask(secret string) string {
	n := utf8.RuneCountInString(secret)
	if n == 0 {
		return ""
	}
	prefix := ""
	if n >= 12 {
		i := 0
		for j := range secret {
			if i == 4 {
				prefix = secret[:j]
				break
			}
			i++
		}
	}
	return prefix + "…(" + strconv.Itoa(n) + " chars)"
}
