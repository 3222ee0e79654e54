package config

import "testing"

func TestJoinKey(t *testing.T) {
	tests := []struct{ parent, key, want string }{
		{"", "server", "server"},
		{"routes[0].plugins", "rate-limit", "routes[0].plugins.rate-limit"},
		{"ai.prices", "anthropic/claude", `ai.prices["anthropic/claude"]`},
		{"x", "a.b", `x["a.b"]`},
		{"x", "", `x[""]`},
		{"", "has space", `["has space"]`},
	}
	for _, tt := range tests {
		if got := joinKey(tt.parent, tt.key); got != tt.want {
			t.Errorf("joinKey(%q, %q) = %q, want %q", tt.parent, tt.key, got, tt.want)
		}
	}
}

func TestParentPath(t *testing.T) {
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"upstreams[0].targets[1].url", "upstreams[0].targets[1]", true},
		{"upstreams[0].targets[1]", "upstreams[0].targets", true},
		{"upstreams[0]", "upstreams", true},
		{"upstreams", "", true},
		{`ai.prices["a/b"].input`, `ai.prices["a/b"]`, true},
		{`ai.prices["a/b"]`, "ai.prices", true},
		{`ai.prices["a]b.c[d"]`, "ai.prices", true},
		{`["top"]`, "", true},
		{"", "", false},
		{`x["unterminated`, "", false},
		{"x[0", "", false},
	}
	for _, tt := range tests {
		got, ok := parentPath(tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parentPath(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}
