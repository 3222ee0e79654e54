// Package authtest holds the cross-plugin auth tests that no single auth
// plugin owns: the auth-bypass suite, which attacks a key-auth route over
// raw TCP with path, method, header and connection tricks, and the check
// that no configured secret ever reaches a log. It has no code of its own.
package authtest
