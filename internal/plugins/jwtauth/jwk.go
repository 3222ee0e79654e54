package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// minRSABits is the smallest RSA modulus accepted from a JWKS.
const minRSABits = 2048

// jwk is one usable verification key of a JWKS.
type jwk struct {
	kid string
	// key is *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	key any
	// methods are the only algorithms a token verified by this key may
	// use: the JWK's own "alg" when it has one, else every configured
	// algorithm that fits the key type. Never an HMAC algorithm.
	methods []string
}

// rawJWK is a JSON Web Key as RFC 7517 writes it; only public members are
// read.
type rawJWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
}

// keySet is one fetched JWKS. It is immutable.
type keySet struct {
	byKid map[string]*jwk
	// only is the set's single key, for tokens without a kid; nil when the
	// set has several keys.
	only *jwk
}

// find returns the key for kid ("" means the token has no kid).
func (s *keySet) find(kid string) *jwk {
	if s == nil {
		return nil
	}
	if kid == "" {
		return s.only
	}
	return s.byKid[kid]
}

// parseKeySet parses a JWKS document, keeping the keys usable for
// signature verification with one of allowed. Keys of other kinds (HMAC
// "oct" keys, encryption keys, unknown curves, short RSA moduli) are
// skipped and counted in skipped; a document with no usable key at all is
// an error.
func parseKeySet(doc []byte, allowed []string) (set *keySet, skipped int, err error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, 0, fmt.Errorf("JWKS is not JSON: %w", err)
	}
	set = &keySet{byKid: make(map[string]*jwk, len(raw.Keys))}
	dup := map[string]bool{}
	for _, m := range raw.Keys {
		var r rawJWK
		if json.Unmarshal(m, &r) != nil {
			skipped++
			continue
		}
		k, err := r.key(allowed)
		if err != nil {
			skipped++
			continue
		}
		if _, seen := set.byKid[k.kid]; seen || dup[k.kid] {
			// Several keys under one kid: which one a token means is
			// ambiguous, so none of them is used.
			delete(set.byKid, k.kid)
			dup[k.kid] = true
			skipped++
			continue
		}
		set.byKid[k.kid] = k
	}
	if len(set.byKid) == 0 {
		return nil, skipped, errors.New("JWKS has no usable signature key")
	}
	if len(set.byKid) == 1 {
		for _, k := range set.byKid {
			set.only = k
		}
	}
	return set, skipped, nil
}

// key converts r to a verification key allowed to use some of allowed.
func (r *rawJWK) key(allowed []string) (*jwk, error) {
	if r.Use != "" && r.Use != "sig" {
		return nil, errors.New("not a signature key")
	}
	if r.KeyOps != nil && !slices.Contains(r.KeyOps, "verify") {
		return nil, errors.New("key_ops lacks verify")
	}
	var (
		key  any
		fits []string
		err  error
	)
	switch r.Kty {
	case "RSA":
		key, err = r.rsa()
		fits = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case "EC":
		var alg string
		key, alg, err = r.ec()
		fits = []string{alg}
	case "OKP":
		key, err = r.ed25519()
		fits = []string{"EdDSA"}
	default:
		return nil, fmt.Errorf("key type %q is not used for signatures here", r.Kty)
	}
	if err != nil {
		return nil, err
	}
	k := &jwk{kid: r.Kid, key: key}
	for _, alg := range fits {
		if slices.Contains(allowed, alg) && (r.Alg == "" || r.Alg == alg) {
			k.methods = append(k.methods, alg)
		}
	}
	if len(k.methods) == 0 {
		return nil, errors.New("no allowed algorithm fits the key")
	}
	return k, nil
}

var b64 = base64.RawURLEncoding

func (r *rawJWK) rsa() (*rsa.PublicKey, error) {
	n, err := b64.DecodeString(r.N)
	if err != nil {
		return nil, errors.New("RSA n does not decode")
	}
	e, err := b64.DecodeString(r.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("RSA e does not decode")
	}
	var exp int
	for _, b := range e {
		exp = exp<<8 | int(b)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
	if pub.N.BitLen() < minRSABits {
		return nil, fmt.Errorf("RSA key of %d bits is shorter than %d", pub.N.BitLen(), minRSABits)
	}
	if exp < 3 || exp%2 == 0 {
		return nil, errors.New("RSA exponent is not valid")
	}
	return pub, nil
}

func (r *rawJWK) ec() (*ecdsa.PublicKey, string, error) {
	var (
		curve elliptic.Curve
		alg   string
	)
	switch r.Crv {
	case "P-256":
		curve, alg = elliptic.P256(), "ES256"
	case "P-384":
		curve, alg = elliptic.P384(), "ES384"
	case "P-521":
		curve, alg = elliptic.P521(), "ES512"
	default:
		return nil, "", fmt.Errorf("EC curve %q is not supported", r.Crv)
	}
	size := (curve.Params().BitSize + 7) / 8
	x, errX := b64.DecodeString(r.X)
	y, errY := b64.DecodeString(r.Y)
	if errX != nil || errY != nil || len(x) != size || len(y) != size {
		return nil, "", errors.New("EC point does not decode")
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, "", errors.New("EC point is not on the curve")
	}
	return pub, alg, nil
}

func (r *rawJWK) ed25519() (ed25519.PublicKey, error) {
	if r.Crv != "Ed25519" {
		return nil, fmt.Errorf("OKP curve %q is not supported", r.Crv)
	}
	x, err := b64.DecodeString(r.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, errors.New("Ed25519 key does not decode")
	}
	return ed25519.PublicKey(x), nil
}
