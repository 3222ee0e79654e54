package keyauth_test

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/plugin"
)

func TestConfigErrors(t *testing.T) {
	ix, err := consumer.Build([]config.Consumer{{Name: "alice", Credentials: []config.Credential{{Type: "key-auth", Key: aliceKey}}}})
	if err != nil {
		t.Fatal(err)
	}
	env := plugin.Env{Consumers: ix, State: plugin.NewState(), Scope: "route:r"}
	cases := []struct {
		name string
		cfg  map[string]any
		want string // substring of the error; "" means valid
	}{
		{"defaults", nil, ""},
		{"all places", map[string]any{"key_names": []any{"apikey", "X-Key"}, "key_in_query": true}, ""},
		{"unknown key", map[string]any{"key_name": []any{"a"}}, `unknown key "key_name"`},
		{"wrong type", map[string]any{"key_in_query": "yes"}, "key_in_query"},
		{"authorization as a name", map[string]any{"key_names": []any{"authorization"}}, "key_in_bearer"},
		{"cookie as a name", map[string]any{"key_names": []any{"Cookie"}}, "cannot hold a key"},
		{"consumer header as a name", map[string]any{"key_names": []any{"x-consumer-name"}}, "cannot hold a key"},
		{"bad name", map[string]any{"key_names": []any{"a b"}}, "key_names[0]"},
		{"escaping name", map[string]any{"key_names": []any{"a%41"}}, "key_names[0]"},
		{"duplicate name", map[string]any{"key_names": []any{"x-key", "X-Key"}}, "listed twice"},
		{"nowhere to read", map[string]any{"key_in_bearer": false, "key_in_header": false}, "no place"},
		{"no names and no bearer", map[string]any{"key_in_bearer": false, "key_names": []any{}}, "no place"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := plugin.Build("key-auth", tc.cfg, env)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid config refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
