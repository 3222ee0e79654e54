package secret

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func testKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, MasterKeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLoadKeyringFromEnv(t *testing.T) {
	key := testKey(t)
	want, err := NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  string
		ok   bool
	}{
		{"hex", hex.EncodeToString(key), true},
		{"hex upper with spaces", "  " + strings.ToUpper(hex.EncodeToString(key)) + "\n", true},
		{"base64 std", base64.StdEncoding.EncodeToString(key), true},
		{"base64 raw std", base64.RawStdEncoding.EncodeToString(key), true},
		{"base64 url", base64.URLEncoding.EncodeToString(key), true},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(key), true},
		{"too short", base64.StdEncoding.EncodeToString(key[:16]), false},
		{"too long", hex.EncodeToString(append(key, 1)), false},
		{"garbage", "not a key!", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k, err := loadKeyring(tc.env, dir)
			if !tc.ok {
				if err == nil {
					t.Fatal("malformed key accepted")
				}
				if !strings.Contains(err.Error(), MasterKeyEnv) {
					t.Errorf("error %q does not name %s", err, MasterKeyEnv)
				}
				if _, statErr := os.Stat(filepath.Join(dir, KeyFileName)); statErr == nil {
					t.Error("a key file was created although the environment variable was set")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.KeyID() != want.KeyID() || !bytes.Equal(k.Digest("x"), want.Digest("x")) {
				t.Error("keyring from env differs from keyring from the raw key")
			}
		})
	}
}

func TestLoadKeyringCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := loadKeyring("", dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFileName)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %#o, want 0600", info.Mode().Perm())
	}
	k2, err := loadKeyring("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1.KeyID() != k2.KeyID() {
		t.Error("second load produced a different key")
	}
	sealed, err := k1.Encrypt([]byte("v"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Decrypt(sealed, nil); err != nil {
		t.Errorf("value sealed before restart does not open after: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only %s", len(entries), KeyFileName)
	}
}

func TestLoadKeyringConcurrentCreation(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := loadKeyring("", dir)
			errs[i] = err
			if err == nil {
				ids[i] = k.KeyID()
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("loader %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("loaders disagree on the key: %s vs %s", ids[i], ids[0])
		}
	}
}

func TestKeyFileChecks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not enforced on Windows")
	}
	key := testKey(t)
	cases := []struct {
		name    string
		content []byte
		mode    os.FileMode
		wantErr string
	}{
		{"base64 0600", []byte(base64.StdEncoding.EncodeToString(key) + "\n"), 0o600, ""},
		{"hex 0400", []byte(hex.EncodeToString(key)), 0o400, ""},
		{"raw bytes", key, 0o600, ""},
		{"group readable", []byte(hex.EncodeToString(key)), 0o640, "chmod 600"},
		{"world readable", []byte(hex.EncodeToString(key)), 0o644, "chmod 600"},
		{"short", []byte(base64.StdEncoding.EncodeToString(key[:20])), 0o600, "20 bytes"},
		{"empty", nil, 0o600, "key is empty"},
		{"not a key", []byte("hello world"), 0o600, "neither hex nor base64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, KeyFileName)
			if err := os.WriteFile(path, tc.content, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil { // umask-proof
				t.Fatal(err)
			}
			k, err := loadKeyring("", dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _ := NewKeyring(key)
			if k.KeyID() != want.KeyID() {
				t.Error("key file decoded to the wrong key")
			}
		})
	}
}

func TestLoadKeyringNeedsASource(t *testing.T) {
	if _, err := loadKeyring("", ""); err == nil {
		t.Fatal("no env and no data dir accepted")
	}
	if _, err := NewKeyring(make([]byte, 31)); err == nil {
		t.Fatal("31-byte master key accepted")
	}
}

func TestSubkeysAreSeparate(t *testing.T) {
	key := testKey(t)
	seal, digest, id := derive(key, infoSeal, 32), derive(key, infoDigest, 32), derive(key, infoKeyID, 32)
	if bytes.Equal(seal, digest) || bytes.Equal(seal, id) || bytes.Equal(digest, id) || bytes.Equal(seal, key) {
		t.Fatal("derived keys are not distinct from each other and the master key")
	}
}
