package jwtauth_test

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/plugin"
)

func TestConfigErrors(t *testing.T) {
	ix, err := consumer.Build([]config.Consumer{{Name: "a", Credentials: []config.Credential{{Type: "jwt", Issuer: "a", Algorithm: "HS256", Secret: "s"}}}})
	if err != nil {
		t.Fatal(err)
	}
	env := plugin.Env{Consumers: ix, State: plugin.NewState()}
	cases := []struct {
		name string
		cfg  map[string]any
		want string // "" means valid
	}{
		{"defaults", nil, ""},
		{"everything", map[string]any{"cookie_names": []any{"jwt"}, "query_names": []any{"access_token"}, "claims_to_verify": []any{"exp", "nbf"},
			"leeway": "5s", "audience": []any{"a"}, "max_token_size": 4096, "maximum_expiration": "1h", "hide_credentials": false,
			"jwks_url": "https://idp.example/.well-known/jwks.json", "jwks_issuer": "https://idp.example", "jwks_algorithms": []any{"RS256"},
			"consumer_claim": "email", "jwks_timeout": "2s", "jwks_refresh_interval": "10m", "jwks_min_refetch_interval": "30s"}, ""},
		{"no claims required", map[string]any{"claims_to_verify": []any{}}, ""},
		{"loopback http JWKS", map[string]any{"jwks_url": "http://127.0.0.1:9999/keys"}, ""},
		{"unknown key", map[string]any{"secret": "x"}, `unknown key "secret"`},
		{"wrong type", map[string]any{"max_token_size": "big"}, "max_token_size"},
		{"unknown claim", map[string]any{"claims_to_verify": []any{"exp", "iat"}}, "claims_to_verify[1]"},
		{"negative leeway", map[string]any{"leeway": "-1s"}, "leeway"},
		{"huge leeway", map[string]any{"leeway": "1h"}, "leeway"},
		{"tiny max size", map[string]any{"max_token_size": 10}, "max_token_size"},
		{"maximum_expiration without exp", map[string]any{"maximum_expiration": "1h", "claims_to_verify": []any{"nbf"}}, "needs exp"},
		{"empty audience", map[string]any{"audience": []any{""}}, "audience[0]"},
		{"bad cookie name", map[string]any{"cookie_names": []any{"a;b"}}, "cookie_names[0]"},
		{"bad query name", map[string]any{"query_names": []any{"a b"}}, "query_names[0]"},
		{"jwks settings without url", map[string]any{"consumer_claim": "email"}, "need jwks_url"},
		{"plain http JWKS", map[string]any{"jwks_url": "http://idp.example/keys"}, "must be https"},
		{"relative JWKS", map[string]any{"jwks_url": "/keys"}, "absolute URL"},
		{"JWKS scheme", map[string]any{"jwks_url": "file:///etc/keys"}, "jwks_url"},
		{"HMAC from a JWKS", map[string]any{"jwks_url": "https://idp.example/k", "jwks_algorithms": []any{"HS256"}}, "jwks_algorithms[0]"},
		{"empty JWKS algorithms", map[string]any{"jwks_url": "https://idp.example/k", "jwks_algorithms": []any{}}, "jwks_algorithms"},
		{"refresh below refetch gap", map[string]any{"jwks_url": "https://idp.example/k", "jwks_refresh_interval": "1s", "jwks_min_refetch_interval": "1m"}, "jwks_refresh_interval"},
		{"long timeout", map[string]any{"jwks_url": "https://idp.example/k", "jwks_timeout": "5m"}, "jwks_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := plugin.Build("jwt", tc.cfg, env)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid config refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestCredentialKeyErrors: a credential whose key cannot verify its
// algorithm is a config error naming the consumer.
func TestCredentialKeyErrors(t *testing.T) {
	keys(t)
	cases := []struct {
		name string
		cred config.Credential
		want string
	}{
		{"garbage PEM", config.Credential{Type: "jwt", Issuer: "i", Algorithm: "RS256", PublicKey: "not a key"}, "public_key"},
		{"EC key for RS256", config.Credential{Type: "jwt", Issuer: "i", Algorithm: "RS256", PublicKey: pubPEM(t, &ecKey256.PublicKey)}, "public_key"},
		{"P-256 key for ES384", config.Credential{Type: "jwt", Issuer: "i", Algorithm: "ES384", PublicKey: pubPEM(t, &ecKey256.PublicKey)}, "not P-384"},
		{"unknown algorithm", config.Credential{Type: "jwt", Issuer: "i", Algorithm: "XS256", Secret: "s"}, "unsupported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := consumer.Build([]config.Consumer{{Name: "alice", Credentials: []config.Credential{tc.cred}}})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"alice"`) {
				t.Fatalf("error = %v, want it to name alice and contain %q", err, tc.want)
			}
		})
	}
}
