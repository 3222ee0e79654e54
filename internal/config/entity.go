package config

import (
	"strings"
)

// Entity kinds DecodeEntity knows, by their place in the file.
const (
	KindRoute    = "routes"
	KindUpstream = "upstreams"
	KindConsumer = "consumers"
	KindProvider = "ai.providers"
	KindModel    = "ai.models"
)

// DecodeEntity decodes one entity of kind (a JSON or YAML document, as the
// admin API receives it) exactly as the file decoder would decode it inside
// the file: the same defaults for absent keys (a target without weight
// gets 100), the same strictness (unknown keys, wrong types) and the same
// messages. `${VAR}` is left as written: only the file is expanded. Problem
// paths are relative to the entity ("match.paths[0]") and lines are the
// document's. The entity is not validated against the rest of a config:
// callers validate the config it joins.
func DecodeEntity(kind string, data []byte) (any, Problems) {
	var prefix, suffix string
	switch kind {
	case KindRoute, KindUpstream, KindConsumer:
		prefix, suffix = `{"`+kind+`": [`, "\n]}"
	case KindProvider, KindModel:
		sub := strings.TrimPrefix(kind, "ai.")
		prefix, suffix = `{"ai": {"`+sub+`": [`, "\n]}}"
	default:
		return nil, Problems{{Message: "unknown entity kind " + kind}}
	}
	doc := append(append([]byte(prefix), data...), suffix...)
	literal := func(name string) (string, bool) { return "${" + name + "}", true }
	c, problems := decodeFile("", doc, literal)
	base := kind + "[0]"
	for i := range problems {
		p := &problems[i]
		p.Path = strings.TrimPrefix(strings.TrimPrefix(p.Path, base), ".")
		p.Message = strings.TrimPrefix(strings.TrimPrefix(p.Message, base), ".")
		p.File = ""
	}
	if len(problems) > 0 || c == nil {
		if len(problems) == 0 {
			problems = Problems{{Message: "no entity in the document"}}
		}
		return nil, problems
	}
	switch kind {
	case KindRoute:
		if len(c.Routes) == 1 {
			return c.Routes[0], nil
		}
	case KindUpstream:
		if len(c.Upstreams) == 1 {
			return c.Upstreams[0], nil
		}
	case KindConsumer:
		if len(c.Consumers) == 1 {
			return c.Consumers[0], nil
		}
	case KindProvider:
		if len(c.AI.Providers) == 1 {
			return c.AI.Providers[0], nil
		}
	case KindModel:
		if len(c.AI.Models) == 1 {
			return c.AI.Models[0], nil
		}
	}
	return nil, Problems{{Message: "the document must hold exactly one " + kind + " entity"}}
}
