// Package secret protects the secrets sluice keeps at rest: it holds the
// master key, seals values with AES-256-GCM, computes keyed digests for
// looking credentials up by value without storing them, hashes admin
// passwords with argon2id, and masks secrets for display.
//
// Every key used for a purpose is derived from the one master key with HKDF,
// so the key that seals provider API keys is never the key that digests
// consumer keys. The master key comes from the SLUICE_MASTER_KEY environment
// variable or, when that is unset, from DATA_DIR/master.key, which is
// created with mode 0600 on first use.
package secret

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/crypto/hkdf"
)

// MasterKeyEnv is the environment variable that holds the master key, as
// base64 (standard or URL alphabet, padded or not) or hex of 32 bytes.
const MasterKeyEnv = "SLUICE_MASTER_KEY"

// KeyFileName is the name of the master key file inside the data directory.
const KeyFileName = "master.key"

// MasterKeySize is the length of the master key in bytes.
const MasterKeySize = 32

// HKDF info strings, one per purpose. Changing one changes every key derived
// for that purpose and makes existing data unreadable: they are part of the
// on-disk format.
const (
	infoSeal   = "sluice/v1/seal"
	infoDigest = "sluice/v1/digest"
	infoKeyID  = "sluice/v1/key-id"
)

// Keyring holds the master key and the subkeys derived from it. It is safe
// for concurrent use and immutable once built.
type Keyring struct {
	aead      cipher.AEAD
	digestKey []byte
	keyID     [keyIDSize]byte
}

// LoadKeyring returns the keyring for a node whose state lives in dataDir.
// The master key is taken from SLUICE_MASTER_KEY when it is set (a malformed
// value is an error, never silently replaced); otherwise from
// dataDir/master.key, which is created with 32 random bytes and mode 0600
// when it does not exist. A key file readable or writable by group or others
// is refused, as is one that does not hold exactly 32 bytes.
func LoadKeyring(dataDir string) (*Keyring, error) {
	return loadKeyring(os.Getenv(MasterKeyEnv), dataDir)
}

// loadKeyring is LoadKeyring with the environment value passed in.
func loadKeyring(env, dataDir string) (*Keyring, error) {
	if strings.TrimSpace(env) != "" {
		key, err := ParseMasterKey(env)
		if err != nil {
			return nil, fmt.Errorf("secret: %s: %w", MasterKeyEnv, err)
		}
		return NewKeyring(key)
	}
	if dataDir == "" {
		return nil, fmt.Errorf("secret: %s is unset and there is no data directory for %s", MasterKeyEnv, KeyFileName)
	}
	key, err := loadOrCreateKeyFile(filepath.Join(dataDir, KeyFileName))
	if err != nil {
		return nil, err
	}
	return NewKeyring(key)
}

// NewKeyring builds a keyring from a 32-byte master key. The caller may
// reuse master afterwards; the keyring keeps only derived keys.
func NewKeyring(master []byte) (*Keyring, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("secret: master key is %d bytes, want %d", len(master), MasterKeySize)
	}
	sealKey := derive(master, infoSeal, 32)
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	k := &Keyring{aead: aead, digestKey: derive(master, infoDigest, 32)}
	copy(k.keyID[:], derive(master, infoKeyID, keyIDSize))
	return k, nil
}

// KeyID returns a short public fingerprint of the master key (hex). It
// identifies which key sealed a value and is safe to show and log.
func (k *Keyring) KeyID() string { return hex.EncodeToString(k.keyID[:]) }

// derive expands n bytes for one purpose from the master key.
func derive(master []byte, info string, n int) []byte {
	out := make([]byte, n)
	// HKDF-SHA256 can produce up to 255*32 bytes; n is far below that, so
	// the read cannot fail.
	if _, err := io.ReadFull(hkdf.New(sha256.New, master, nil, []byte(info)), out); err != nil {
		panic("secret: hkdf: " + err.Error())
	}
	return out
}

// ParseMasterKey decodes a master key written as hex (64 digits) or base64
// (standard or URL alphabet, with or without padding). Surrounding white
// space is ignored. The result must be exactly 32 bytes.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("key is empty")
	}
	if len(s) == 2*MasterKeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != MasterKeySize {
			return nil, fmt.Errorf("key decodes to %d bytes, want %d", len(b), MasterKeySize)
		}
		return b, nil
	}
	return nil, errors.New("key is neither hex nor base64 of 32 bytes")
}

// loadOrCreateKeyFile reads the key file at path, creating it first when it
// does not exist.
func loadOrCreateKeyFile(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createKeyFile(path); err != nil {
		return nil, err
	}
	return readKeyFile(path)
}

// readKeyFile reads and checks an existing key file. The file holds the key
// as base64 or hex text, or as 32 raw bytes.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("secret: %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("secret: %s has mode %#o, which lets group or others read it; run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if len(data) == MasterKeySize && !isText(data) {
		return data, nil
	}
	key, err := ParseMasterKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("secret: %s: %w", path, err)
	}
	return key, nil
}

// isText reports whether b looks like an encoded key rather than raw bytes.
func isText(b []byte) bool {
	return len(bytes.TrimFunc(b, func(r rune) bool {
		return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
			r == '+' || r == '/' || r == '-' || r == '_' || r == '=' || r == '\n' || r == '\r' || r == ' '
	})) == 0
}

// createKeyFile writes a new random key to path unless a file is already
// there. The key is written to a private temporary file which is then
// hard-linked into place, so a concurrent reader never sees a partial key
// and two nodes racing to create the file agree on one key.
func createKeyFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	key := make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".master.key.*") // mode 0600
	if err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("secret: writing %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("secret: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a new directory entry durable where the platform allows;
// failure only weakens durability, so it is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
