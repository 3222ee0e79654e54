package config

import "strconv"

// Field paths name a value in the file the way Problem.Path and Config.Line
// do: YAML keys joined by dots, list indexes in brackets, and map keys that
// are not plain words as quoted strings in brackets:
//
//	upstreams[0].targets[1].url
//	routes[2].plugins.rate-limit.window
//	ai.prices["anthropic/claude-sonnet-4-5"].input

// joinKey returns the path of key inside the mapping at parent.
func joinKey(parent, key string) string {
	if !isWord(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// JoinKey returns the path of key inside the object at parent, in the
// syntax Line and Problem.Path use (for callers that report problems in
// the same terms, such as the admin API).
func JoinKey(parent, key string) string { return joinKey(parent, key) }

// joinIndex returns the path of element i of the list at parent.
func joinIndex(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// isWord reports whether key can appear bare in a path: letters, digits,
// "_" and "-".
func isWord(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parentPath returns the path without its last segment, and false when p
// has no parent (it is empty or cannot be read as a path).
func parentPath(p string) (string, bool) {
	if p == "" {
		return "", false
	}
	last, i := 0, 0
	for i < len(p) {
		switch p[i] {
		case '[':
			last = i
			if i+1 < len(p) && p[i+1] == '"' {
				q, err := strconv.QuotedPrefix(p[i+1:])
				if err != nil {
					return "", false
				}
				i += 1 + len(q)
			} else {
				for i < len(p) && p[i] != ']' {
					i++
				}
			}
			if i >= len(p) || p[i] != ']' {
				return "", false
			}
			i++
		case '.':
			last = i
			i++
			fallthrough
		default:
			for i < len(p) && p[i] != '.' && p[i] != '[' {
				i++
			}
		}
	}
	return p[:last], true
}
