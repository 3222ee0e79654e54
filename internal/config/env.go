package config

import (
	"fmt"
	"strings"
)

// lookupFunc reports the value of an environment variable and whether it is
// set; os.LookupEnv in production.
type lookupFunc func(name string) (string, bool)

// expandEnv replaces every ${NAME} in s with the variable's value and every
// ${NAME:-default} with the value, or with default when the variable is
// unset or empty (as in a POSIX shell). "$${" stands for a literal "${"; a
// "$" not followed by "{" is kept as is. The default is taken literally up
// to the first "}": references do not nest.
//
// It returns the expanded string, whether any variable was substituted, and
// one message per bad or unset reference.
func expandEnv(s string, lookup lookupFunc) (out string, substituted bool, errs []string) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' {
			// "$${": an escaped, literal "${".
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			errs = append(errs, fmt.Sprintf(`unclosed "${" in %s; write ${NAME}, or $${ for a literal "${"`, quoteShort(s[i:])))
			b.WriteString(s[i:])
			break
		}
		ref := s[i+2 : i+end]
		s = s[i+end+1:]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !isEnvName(name) {
			errs = append(errs, fmt.Sprintf("bad variable reference %s; write ${NAME} or ${NAME:-default}", quoteShort("${"+ref+"}")))
			continue
		}
		substituted = true
		v, ok := lookup(name)
		switch {
		case hasDef && v == "":
			b.WriteString(def)
		case ok:
			b.WriteString(v)
		default:
			errs = append(errs, fmt.Sprintf("environment variable %s is not set; set it or write ${%s:-default}", name, name))
		}
	}
	return b.String(), substituted, errs
}

// isEnvName reports whether s is a valid environment variable name:
// a letter or underscore, then letters, digits and underscores.
func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
