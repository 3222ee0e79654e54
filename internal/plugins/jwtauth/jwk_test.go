package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestParseKeySet(t *testing.T) {
	e := base64.RawURLEncoding
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecBytes, _ := ec.PublicKey.Bytes()
	ecX, ecY := e.EncodeToString(ecBytes[1:33]), e.EncodeToString(ecBytes[33:])
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec384Bytes, _ := ec384.PublicKey.Bytes()
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	short, _ := rsa.GenerateKey(rand.Reader, 1024)
	long, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaN, rsaE := e.EncodeToString(long.N.Bytes()), "AQAB"
	// Flip the last byte of y: the point leaves the curve.
	offCurve := slices.Clone(ecBytes)
	offCurve[64] ^= 1

	ecJWK := func(kid string, extra string) string {
		return `{"kty":"EC","crv":"P-256","kid":"` + kid + `","x":"` + ecX + `","y":"` + ecY + `"` + extra + `}`
	}
	all := asymmetricAlgorithms
	cases := []struct {
		name    string
		keys    []string
		allowed []string
		want    map[string][]string // kid → methods; nil with wantErr
		wantErr string
		only    bool
	}{
		{name: "EC P-256", keys: []string{ecJWK("a", "")}, allowed: all, want: map[string][]string{"a": {"ES256"}}, only: true},
		{name: "EC P-384", keys: []string{`{"kty":"EC","crv":"P-384","kid":"b","x":"` + e.EncodeToString(ec384Bytes[1:49]) + `","y":"` + e.EncodeToString(ec384Bytes[49:]) + `"}`}, allowed: all, want: map[string][]string{"b": {"ES384"}}, only: true},
		{name: "Ed25519", keys: []string{`{"kty":"OKP","crv":"Ed25519","kid":"c","x":"` + e.EncodeToString(edPub) + `"}`}, allowed: all, want: map[string][]string{"c": {"EdDSA"}}, only: true},
		{name: "RSA without alg fits every RSA algorithm allowed", keys: []string{`{"kty":"RSA","kid":"d","n":"` + rsaN + `","e":"` + rsaE + `"}`}, allowed: []string{"RS256", "PS512", "ES256"}, want: map[string][]string{"d": {"RS256", "PS512"}}, only: true},
		{name: "RSA with alg is pinned", keys: []string{`{"kty":"RSA","kid":"d","alg":"RS384","n":"` + rsaN + `","e":"` + rsaE + `"}`}, allowed: all, want: map[string][]string{"d": {"RS384"}}, only: true},
		{name: "two keys", keys: []string{ecJWK("a", ""), `{"kty":"RSA","kid":"d","n":"` + rsaN + `","e":"` + rsaE + `"}`}, allowed: []string{"ES256", "RS256"}, want: map[string][]string{"a": {"ES256"}, "d": {"RS256"}}},
		{name: "unusable keys skipped", allowed: all, want: map[string][]string{"a": {"ES256"}}, only: true, keys: []string{
			ecJWK("a", ""),
			`{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}`,
			ecJWK("enc", `,"use":"enc"`),
			ecJWK("ops", `,"key_ops":["encrypt"]`),
			ecJWK("alg-mismatch", `,"alg":"RS256"`),
			`{"kty":"RSA","kid":"short","n":"` + e.EncodeToString(short.N.Bytes()) + `","e":"AQAB"}`,
			`{"kty":"RSA","kid":"even-e","n":"` + rsaN + `","e":"Ag"}`,
			`{"kty":"EC","crv":"P-256","kid":"off","x":"` + ecX + `","y":"` + e.EncodeToString(offCurve[33:]) + `"}`,
			`{"kty":"EC","crv":"secp256k1","kid":"k1","x":"` + ecX + `","y":"` + ecY + `"}`,
			`{"kty":"OKP","crv":"X25519","kid":"x","x":"` + e.EncodeToString(edPub) + `"}`,
			`{"kty":"OKP","crv":"Ed25519","kid":"trunc","x":"AAAA"}`,
			`"not an object"`,
		}},
		{name: "algorithm not allowed", keys: []string{ecJWK("a", "")}, allowed: []string{"RS256"}, wantErr: "no usable"},
		{name: "duplicate kid unusable", keys: []string{ecJWK("a", ""), ecJWK("a", ""), ecJWK("a", ""), ecJWK("z", "")}, allowed: all, want: map[string][]string{"z": {"ES256"}}, only: true},
		{name: "empty", keys: nil, allowed: all, wantErr: "no usable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := `{"keys":[` + strings.Join(tc.keys, ",") + `]}`
			set, _, err := parseKeySet([]byte(doc), tc.allowed)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for kid, k := range set.byKid {
				got[kid] = k.methods
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tc.want)
			if string(gj) != string(wj) {
				t.Errorf("keys %s, want %s", gj, wj)
			}
			if (set.only != nil) != tc.only {
				t.Errorf("single key = %v, want %v", set.only != nil, tc.only)
			}
		})
	}
	if _, _, err := parseKeySet([]byte("<html>"), all); err == nil {
		t.Error("a non-JSON document parsed")
	}
}
