package config

import (
	"reflect"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"HOST": "db", "PORT": "5432", "EMPTY": "", "DOLLAR": "$X"}
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	tests := []struct {
		name            string
		in, want        string
		wantSubstituted bool
		wantErrs        []string
	}{
		{name: "no reference", in: "plain $HOST {x}", want: "plain $HOST {x}"},
		{name: "whole value", in: "${HOST}", want: "db", wantSubstituted: true},
		{name: "several", in: "postgres://${HOST}:${PORT}/x", want: "postgres://db:5432/x", wantSubstituted: true},
		{name: "set but empty", in: "[${EMPTY}]", want: "[]", wantSubstituted: true},
		{name: "default when unset", in: "${NOPE:-fallback}", want: "fallback", wantSubstituted: true},
		{name: "default when empty", in: "${EMPTY:-fallback}", want: "fallback", wantSubstituted: true},
		{name: "default ignored when set", in: "${HOST:-other}", want: "db", wantSubstituted: true},
		{name: "empty default", in: "${NOPE:-}", want: "", wantSubstituted: true},
		{name: "default is literal", in: "${NOPE:-a:-b}", want: "a:-b", wantSubstituted: true},
		{name: "value not expanded again", in: "${DOLLAR}", want: "$X", wantSubstituted: true},
		{name: "escaped", in: "$${HOST} and ${HOST}", want: "${HOST} and db", wantSubstituted: true},
		{name: "escaped only", in: "cost: $${HOST}", want: "cost: ${HOST}"},
		{
			name: "unset", in: "x${NOPE}y", want: "xy", wantSubstituted: true,
			wantErrs: []string{"environment variable NOPE is not set; set it or write ${NOPE:-default}"},
		},
		{
			name: "bad name", in: "${1X} ${}", want: " ",
			wantErrs: []string{
				`bad variable reference "${1X}"; write ${NAME} or ${NAME:-default}`,
				`bad variable reference "${}"; write ${NAME} or ${NAME:-default}`,
			},
		},
		{
			name: "unclosed", in: "a ${HOST", want: "a ${HOST",
			wantErrs: []string{`unclosed "${" in "${HOST"; write ${NAME}, or $${ for a literal "${"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, substituted, errs := expandEnv(tt.in, lookup)
			if got != tt.want || substituted != tt.wantSubstituted || !reflect.DeepEqual(errs, tt.wantErrs) {
				t.Errorf("expandEnv(%q) = %q, %v, %q; want %q, %v, %q", tt.in, got, substituted, errs, tt.want, tt.wantSubstituted, tt.wantErrs)
			}
		})
	}
}
