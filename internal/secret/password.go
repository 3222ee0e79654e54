package secret

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are the argon2id cost parameters of a password hash.
type PasswordParams struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism (lanes).
	Threads uint8
	// SaltLen is the length of the random salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the derived hash in bytes.
	KeyLen uint32
}

// DefaultPasswordParams are the parameters HashPassword uses: the second
// recommended option of RFC 9106 §4 (m=64 MiB, t=3, p=4) with a 16-byte
// salt and a 32-byte hash. One hash costs tens of milliseconds of CPU and
// 64 MiB of memory, which is right for admin logins and far too slow for
// anything on the request path (basic-auth on every proxied request must
// not use it).
var DefaultPasswordParams = PasswordParams{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}

// Bounds on parameters read back from an encoded hash, so a hash planted in
// the database cannot make verification allocate gigabytes or spin for
// minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 16
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// ErrBadHash is returned (wrapped) for an encoded hash that is not a
// supported argon2id PHC string or whose parameters are out of bounds.
var ErrBadHash = errors.New("secret: malformed or unsupported password hash")

// hashSlots bounds how many argon2id computations run at once, and so the
// memory a burst of logins can take (each holds Memory KiB while it runs).
// Further callers wait for a slot.
var hashSlots = make(chan struct{}, 2)

// HashPassword hashes password with argon2id under DefaultPasswordParams
// and a fresh random salt, and returns it in the PHC string format:
//
//	$argon2id$v=19$m=65536,t=3,p=4$SALT$HASH
//
// with SALT and HASH in unpadded standard base64.
func HashPassword(password string) (string, error) {
	return HashPasswordWith(password, DefaultPasswordParams)
}

// HashPasswordWith is HashPassword with explicit parameters; tests use it
// with small ones. Parameters outside the bounds VerifyPassword accepts are
// an error, since the hash could never be verified.
func HashPasswordWith(password string, p PasswordParams) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("secret: %w", err)
	}
	key := idKey(password, salt, p)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches encoded, a hash made by
// HashPassword. The comparison of the derived hashes is constant time. A
// mismatch is (false, nil); an encoded hash that cannot be parsed or is out
// of bounds is (false, error wrapping ErrBadHash).
func VerifyPassword(encoded, password string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := idKey(password, salt, p)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters other than
// p (or cannot be parsed), so that a caller which has just verified the
// password can store a fresh hash.
func NeedsRehash(encoded string, p PasswordParams) bool {
	got, _, _, err := decodeHash(encoded)
	return err != nil || got != p
}

// idKey runs argon2id, holding one of the hash slots while it does.
func idKey(password string, salt []byte, p PasswordParams) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// check reports whether p is within the bounds decodeHash accepts.
func (p PasswordParams) check() error {
	switch {
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemoryKiB:
		return fmt.Errorf("%w: memory %d KiB out of range", ErrBadHash, p.Memory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("%w: time %d out of range", ErrBadHash, p.Time)
	case p.Threads < 1:
		return fmt.Errorf("%w: parallelism 0", ErrBadHash)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("%w: salt length %d out of range", ErrBadHash, p.SaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: hash length %d out of range", ErrBadHash, p.KeyLen)
	}
	return nil
}

// decodeHash parses a PHC argon2id string.
func decodeHash(encoded string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: not an argon2id PHC string", ErrBadHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %q", ErrBadHash, parts[2])
	}
	seen := 0
	for _, kv := range strings.Split(parts[3], ",") {
		name, value, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(value, 10, 32)
		if !ok || err != nil {
			return p, nil, nil, fmt.Errorf("%w: parameter %q", ErrBadHash, kv)
		}
		switch name {
		case "m":
			p.Memory, seen = uint32(n), seen|1
		case "t":
			p.Time, seen = uint32(n), seen|2
		case "p":
			if n > 255 {
				return p, nil, nil, fmt.Errorf("%w: parallelism %d", ErrBadHash, n)
			}
			p.Threads, seen = uint8(n), seen|4
		default:
			return p, nil, nil, fmt.Errorf("%w: parameter %q", ErrBadHash, kv)
		}
	}
	if seen != 7 {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", ErrBadHash, parts[3])
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: salt: %v", ErrBadHash, err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: hash: %v", ErrBadHash, err)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.check(); err != nil {
		return p, nil, nil, err
	}
	return p, salt, key, nil
}
