package jwtauth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signer is a test credential: the method and the private key that signs,
// and the public (or shared) key that verifies.
type signer struct {
	method jwt.SigningMethod
	priv   any
	pub    any
}

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	rsaKey2  *rsa.PrivateKey
	ecKey256 *ecdsa.PrivateKey
	ecKey384 *ecdsa.PrivateKey
	edKey    ed25519.PrivateKey
)

// keys generates the test's asymmetric keys once per process.
func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		must := func(e error) {
			if e != nil && err == nil {
				err = e
			}
		}
		rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		rsaKey2, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		ecKey256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		ecKey384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		must(err)
		_, edKey, err = ed25519.GenerateKey(rand.Reader)
		must(err)
		if err != nil {
			panic(err)
		}
	})
}

// pubPEM returns k's public key as PKIX PEM.
func pubPEM(t testing.TB, k crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// yamlBlock indents s as a YAML literal block at the given indent.
func yamlBlock(s, indent string) string {
	return "|\n" + indent + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+indent) + "\n"
}

// sign makes a token with the given header fields and claims.
func sign(t testing.TB, m jwt.SigningMethod, key any, hdr map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	for k, v := range hdr {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("signing %s: %v", m.Alg(), err)
	}
	return s
}

// unsigned makes a token with alg none and no signature.
func unsigned(t testing.TB, hdr map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr, claims)
}

// rawToken assembles a token from literal JSON header and claims and a
// signature, for shapes a library would refuse to make.
func rawToken(header, claims string, sig []byte) string {
	e := base64.RawURLEncoding
	return e.EncodeToString([]byte(header)) + "." + e.EncodeToString([]byte(claims)) + "." + e.EncodeToString(sig)
}

// claims returns standard claims for iss valid from now for ttl.
func claims(iss string, ttl time.Duration) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": iss, "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
}

// jwkOf returns the public JWK of key with kid (and alg when not empty).
func jwkOf(t testing.TB, key crypto.PublicKey, kid, alg string) map[string]any {
	t.Helper()
	e := base64.RawURLEncoding
	m := map[string]any{"kid": kid, "use": "sig"}
	if alg != "" {
		m["alg"] = alg
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", e.EncodeToString(k.N.Bytes()), e.EncodeToString(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		size := (len(b) - 1) / 2
		m["kty"], m["crv"] = "EC", k.Curve.Params().Name
		m["x"], m["y"] = e.EncodeToString(b[1:1+size]), e.EncodeToString(b[1+size:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", e.EncodeToString(k)
	default:
		t.Fatalf("no JWK for %T", key)
	}
	return m
}

// jwksDoc returns a JWKS document of keys.
func jwksDoc(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// otherEd returns a fresh Ed25519 private key.
func otherEd(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
