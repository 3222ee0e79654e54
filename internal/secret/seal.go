package secret

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
)

// Sealed values are laid out as
//
//	version (1 byte) | key id (4 bytes) | nonce (12 bytes) | ciphertext | tag (16 bytes)
//
// The version says how the rest is to be read; the key id names the master
// key that sealed the value, so a later keyring can hold several keys and
// pick the right one when keys rotate. Both are authenticated together with
// the caller's associated data.
const (
	sealVersion1 = 1
	keyIDSize    = 4
	headerSize   = 1 + keyIDSize
	nonceSize    = 12
	tagSize      = 16
)

// ErrDecrypt is returned (wrapped) when a sealed value cannot be opened: it
// is truncated, was altered, or is bound to other associated data.
var ErrDecrypt = errors.New("secret: cannot decrypt: value altered, truncated or bound to other data")

// ErrWrongKey is returned (wrapped) when a sealed value was sealed under a
// different master key than the keyring holds, typically because
// SLUICE_MASTER_KEY or the key file changed.
var ErrWrongKey = errors.New("secret: value was sealed under a different master key")

// Encrypt seals plaintext with AES-256-GCM under a fresh random nonce.
// associatedData is authenticated but not stored: Decrypt must be given the
// same bytes, which binds the value to its context (for example the row it
// belongs to) so that a sealed value copied elsewhere does not open. The
// result is 33 bytes longer than plaintext.
func (k *Keyring) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	out := make([]byte, headerSize+nonceSize, headerSize+nonceSize+len(plaintext)+tagSize)
	out[0] = sealVersion1
	copy(out[1:headerSize], k.keyID[:])
	nonce := out[headerSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return k.aead.Seal(out, nonce, plaintext, k.additional(out[:headerSize], associatedData)), nil
}

// Decrypt opens a value made by Encrypt with the same associated data. It
// returns an error wrapping ErrWrongKey when the value names another master
// key, and one wrapping ErrDecrypt when it is malformed or fails
// authentication.
func (k *Keyring) Decrypt(sealed, associatedData []byte) ([]byte, error) {
	if len(sealed) < headerSize+nonceSize+tagSize {
		return nil, fmt.Errorf("%w (%d bytes)", ErrDecrypt, len(sealed))
	}
	if sealed[0] != sealVersion1 {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrDecrypt, sealed[0])
	}
	if id := sealed[1:headerSize]; string(id) != string(k.keyID[:]) {
		return nil, fmt.Errorf("%w (value key id %s, keyring key id %s)", ErrWrongKey, hex.EncodeToString(id), k.KeyID())
	}
	nonce := sealed[headerSize : headerSize+nonceSize]
	plain, err := k.aead.Open(nil, nonce, sealed[headerSize+nonceSize:], k.additional(sealed[:headerSize], associatedData))
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}

// additional returns the bytes GCM authenticates: the header, then the
// caller's associated data.
func (k *Keyring) additional(header, associatedData []byte) []byte {
	ad := make([]byte, 0, len(header)+len(associatedData))
	ad = append(ad, header...)
	return append(ad, associatedData...)
}
