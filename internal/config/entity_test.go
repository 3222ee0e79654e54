package config

import (
	"strings"
	"testing"
)

func TestDecodeEntity(t *testing.T) {
	v, ps := DecodeEntity(KindUpstream, []byte(`{"name": "u", "targets": [{"url": "http://10.0.0.1:9000"}], "retries": 0, "timeouts": {"read": "5s"}}`))
	if ps != nil {
		t.Fatal(ps)
	}
	u := v.(Upstream)
	if u.Targets[0].Weight != 100 || u.Retries != 0 || u.Timeouts.Read.D().Seconds() != 5 || u.Timeouts.Connect.D().Seconds() != 5 || u.Balancer != "round_robin" {
		t.Errorf("defaults not applied as in the file: %+v", u)
	}
	v, ps = DecodeEntity(KindRoute, []byte(`{"name": "r", "upstream": "u", "match": {"paths": ["/${NOT_EXPANDED}"]}}`))
	if ps != nil {
		t.Fatal(ps)
	}
	if got := v.(Route).Match.Paths[0]; got != "/${NOT_EXPANDED}" {
		t.Errorf("path = %q; API bodies are not env-expanded", got)
	}
	_, ps = DecodeEntity(KindRoute, []byte("{\"name\": \"r\",\n \"matchh\": {}, \"strip_path\": \"yes\"}"))
	msg := ps.Error()
	if len(ps) != 2 || !strings.Contains(msg, `unknown key "matchh"`) || !strings.Contains(msg, "strip_path") {
		t.Fatalf("problems = %v", msg)
	}
	for _, p := range ps {
		if strings.HasPrefix(p.Path, "routes") || p.Line != 2 {
			t.Errorf("problem %+v: paths must be relative, lines the document's", p)
		}
	}
	if _, ps := DecodeEntity("nope", []byte(`{}`)); ps == nil {
		t.Error("unknown kind accepted")
	}
}
