package consumer

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestAuthorization(t *testing.T) {
	cases := []struct {
		name   string
		fields []string
		scheme string
		want   string
		err    error
	}{
		{"bearer", []string{"Bearer abc"}, "Bearer", "abc", nil},
		{"scheme case", []string{"bearer abc"}, "Bearer", "abc", nil},
		{"extra spaces", []string{"  Bearer \t abc  "}, "Bearer", "abc", nil},
		{"token68 padding", []string{"Basic YWxpY2U6cHc="}, "Basic", "YWxpY2U6cHc=", nil},
		{"absent", nil, "Bearer", "", ErrNoCredential},
		{"other scheme", []string{"Basic abc"}, "Bearer", "", ErrNoCredential},
		{"longer scheme", []string{"BearerX abc"}, "Bearer", "", ErrNoCredential},
		{"shorter than scheme", []string{"Bea"}, "Bearer", "", ErrNoCredential},
		{"two fields", []string{"Bearer a", "Bearer a"}, "Bearer", "", ErrAmbiguousCredential},
		{"two fields, other scheme", []string{"Basic a", "Basic b"}, "Bearer", "", ErrAmbiguousCredential},
		{"empty", []string{""}, "Bearer", "", ErrMalformedCredential},
		{"blank", []string{" \t "}, "Bearer", "", ErrMalformedCredential},
		{"scheme only", []string{"Bearer"}, "Bearer", "", ErrMalformedCredential},
		{"scheme and space", []string{"Bearer   "}, "Bearer", "", ErrMalformedCredential},
		{"two tokens", []string{"Bearer a b"}, "Bearer", "", ErrMalformedCredential},
		{"list", []string{"Bearer a,Bearer b"}, "Bearer", "", ErrMalformedCredential},
		{"auth-params", []string{`Bearer realm="x", a=b`}, "Bearer", "", ErrMalformedCredential},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.fields != nil {
				h["Authorization"] = tc.fields
			}
			got, err := Authorization(h, tc.scheme)
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Errorf("= %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestQueryValues(t *testing.T) {
	names := []string{"apikey", "key"}
	cases := []struct {
		name, query string
		want        []string
		err         error
	}{
		{"none", "a=1&b=2", nil, nil},
		{"one", "a=1&apikey=k1&b=2", []string{"k1"}, nil},
		{"several names", "key=k1&apikey=k2", []string{"k1", "k2"}, nil},
		{"repeated", "apikey=k1&apikey=k1", []string{"k1", "k1"}, nil},
		{"escaped value", "apikey=a%2Bb+c", []string{"a+b c"}, nil},
		{"escaped name", "api%6Bey=k1", []string{"k1"}, nil},
		{"plus in name", "api+key=k1", nil, nil},
		{"no value", "apikey", []string{""}, nil},
		{"empty value", "apikey=", []string{""}, nil},
		{"prefix is not a match", "apikeys=k&xapikey=k", nil, nil},
		{"case matters", "APIKEY=k", nil, nil},
		{"semicolon is not a separator", "a=1;apikey=k", nil, nil},
		{"bad name escape skipped", "api%zzkey=k&key=k2", []string{"k2"}, nil},
		{"bad value escape", "apikey=%zz", nil, ErrMalformedCredential},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := QueryValues(tc.query, names, func(v string) { got = append(got, v) })
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.err == nil && strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("values %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRemoveQueryParams(t *testing.T) {
	names := []string{"apikey"}
	cases := []struct{ query, want string }{
		{"", ""},
		{"a=1&b=%20x", "a=1&b=%20x"},
		{"apikey=k", ""},
		{"a=1&apikey=k&b=2", "a=1&b=2"},
		{"apikey=k&a=1&apikey=j", "a=1"},
		{"api%6Bey=k&z=%2F", "z=%2F"},
		{"apikeys=k&apikey", "apikeys=k"},
		{"a&&b", "a&&b"},
	}
	for _, tc := range cases {
		if got := RemoveQueryParams(tc.query, names); got != tc.want {
			t.Errorf("RemoveQueryParams(%q) = %q, want %q", tc.query, got, tc.want)
		}
	}
}
