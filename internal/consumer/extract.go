package consumer

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Errors of the credential extractors. The auth plugins map
// ErrNoCredential to "not my kind of credential" and the others to a 401;
// none of them carries any part of the credential.
var (
	// ErrNoCredential reports that the request carries no credential at
	// the place looked at.
	ErrNoCredential = errors.New("no credential")
	// ErrAmbiguousCredential reports that the place looked at holds more
	// than one credential (two Authorization fields, for example), so the
	// gateway and the upstream could disagree about which one counts.
	ErrAmbiguousCredential = errors.New("more than one credential")
	// ErrMalformedCredential reports a credential that is present but
	// empty or not well formed.
	ErrMalformedCredential = errors.New("malformed credential")
)

// Authorization returns the credential of the request's Authorization field
// when the field uses auth-scheme scheme ("Bearer", "Basic"; compared
// case-insensitively, RFC 9110 §11.1). It returns ErrNoCredential when there
// is no Authorization field or it names another scheme,
// ErrAmbiguousCredential when there are several Authorization fields, and
// ErrMalformedCredential when the field is blank or the scheme is followed
// by nothing or by more than one token. It allocates nothing.
func Authorization(h http.Header, scheme string) (string, error) {
	vs := h["Authorization"]
	switch len(vs) {
	case 0:
		return "", ErrNoCredential
	case 1:
	default:
		return "", ErrAmbiguousCredential
	}
	v := strings.Trim(vs[0], " \t")
	if v == "" {
		return "", ErrMalformedCredential
	}
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", ErrNoCredential
	}
	rest := v[len(scheme):]
	if rest == "" {
		return "", ErrMalformedCredential
	}
	if rest[0] != ' ' && rest[0] != '\t' {
		return "", ErrNoCredential // another scheme that starts the same
	}
	cred := strings.TrimLeft(rest, " \t")
	if cred == "" || strings.ContainsAny(cred, " \t,") {
		return "", ErrMalformedCredential
	}
	return cred, nil
}

// QueryValues calls f with the decoded value of every parameter of
// rawQuery (a URL's escaped query, without "?") whose decoded name is one
// of names; names are matched exactly (query names are case-sensitive).
// Parameters are separated by "&" only. A parameter whose name does not
// decode is skipped, as net/url does; a matching parameter whose value
// does not decode is ErrMalformedCredential. It allocates only to decode
// escaped names or values.
func QueryValues(rawQuery string, names []string, f func(value string)) error {
	for rawQuery != "" {
		var seg string
		seg, rawQuery, _ = strings.Cut(rawQuery, "&")
		name, value, _ := strings.Cut(seg, "=")
		if !queryNameIn(name, names) {
			continue
		}
		if strings.ContainsAny(value, "%+") {
			v, err := url.QueryUnescape(value)
			if err != nil {
				return ErrMalformedCredential
			}
			value = v
		}
		f(value)
	}
	return nil
}

// RemoveQueryParams returns rawQuery without the parameters whose decoded
// name is one of names, keeping every other parameter byte for byte and in
// order. It returns rawQuery itself when nothing matched.
func RemoveQueryParams(rawQuery string, names []string) string {
	var b strings.Builder
	rest, removed := rawQuery, false
	for rest != "" {
		var seg string
		seg, rest, _ = strings.Cut(rest, "&")
		name, _, _ := strings.Cut(seg, "=")
		if queryNameIn(name, names) {
			removed = true
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(seg)
	}
	if !removed {
		return rawQuery
	}
	return b.String()
}

// queryNameIn reports whether the escaped query name raw decodes to one of
// names.
func queryNameIn(raw string, names []string) bool {
	if raw == "" {
		return false
	}
	if strings.ContainsAny(raw, "%+") {
		d, err := url.QueryUnescape(raw)
		if err != nil {
			return false
		}
		raw = d
	}
	for _, n := range names {
		if raw == n {
			return true
		}
	}
	return false
}

// ValidName reports whether s is usable, without escaping, both as a
// header name and as a cookie or query parameter name: letters, digits,
// "-", "_" and ".". Auth plugins check configured credential names with it.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
