package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The decoder walks the YAML node tree itself instead of using
// yaml.Node.Decode, because it must keep going after a bad value (to report
// every problem at once), name problems by field path and line, expand
// environment variables first, and refuse unknown keys with a message that
// says where they are.

const (
	tagNull  = "!!null"
	tagBool  = "!!bool"
	tagInt   = "!!int"
	tagFloat = "!!float"
	tagStr   = "!!str"
	tagMerge = "!!merge"
)

// aliasAllowance is how many nodes beyond those written in the file alias
// expansion may produce, so a "billion laughs" document is refused quickly.
const aliasAllowance = 100_000

// decoder decodes one document's node tree into a Config, recording the
// line of every field path and collecting problems instead of stopping.
type decoder struct {
	lookup   lookupFunc
	lines    map[string]int
	problems Problems
	// budget is the number of node visits left; see aliasAllowance.
	budget int
	// active holds the anchored nodes being decoded, to refuse an alias
	// that refers to a value containing itself.
	active map[*yaml.Node]bool
}

// decodeFile parses data and decodes it over the defaults. It returns a nil
// Config only when the YAML itself cannot be parsed or is not a mapping.
func decodeFile(filename string, data []byte, lookup lookupFunc) (*Config, Problems) {
	withFile := func(ps Problems) Problems {
		for i := range ps {
			ps[i].File = filename
		}
		return ps
	}
	root, problems := parseYAML(data)
	if problems != nil {
		return nil, withFile(problems)
	}
	c := Default()
	c.file = filename
	c.lines = map[string]int{}
	if root == nil || root.ShortTag() == tagNull {
		return c, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, withFile(Problems{{Line: root.Line,
			Message: "the config file must be a mapping of sections like server:, upstreams: and routes:"}})
	}
	d := &decoder{
		lookup: lookup,
		lines:  c.lines,
		budget: countNodes(root) + aliasAllowance,
		active: map[*yaml.Node]bool{},
	}
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	return c, withFile(dedupe(d.problems))
}

// parseYAML parses exactly one YAML document. It returns the document's
// root node (nil for an empty document) or the syntax problem.
func parseYAML(data []byte) (*yaml.Node, Problems) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, Problems{syntaxProblem(err, data)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, Problems{{Line: extra.Line, Message: "the config file must hold a single YAML document; remove this ---"}}
	case !errors.Is(err, io.EOF):
		return nil, Problems{syntaxProblem(err, data)}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var (
	yamlErrLine       = regexp.MustCompile(`^line (\d+): (.*)$`)
	yamlUnknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// yamlParserProblems are the messages of the YAML parser (as opposed to its
// scanner). The parser reports 0-based line numbers and the scanner 1-based
// ones, and both leave the line out when it would be 0.
var yamlParserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found undefined tag handle",
	"found duplicate %YAML directive",
	"found duplicate %TAG directive",
	"found incompatible YAML document",
}

// syntaxProblem turns a YAML parser error into a Problem on the 1-based
// line it is about, undoing the quirks of the parser's line reports.
func syntaxProblem(err error, data []byte) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if slices.Contains(yamlParserProblems, msg) {
			line++
		}
	} else if m := yamlUnknownAnchor.FindStringSubmatch(msg); m != nil {
		line = lineOf(data, bytes.Index(data, []byte("*"+m[1])))
	} else if i := badByte(data); i >= 0 {
		line = lineOf(data, i)
	} else {
		line = 1
	}
	if msg == "found character that cannot start any token" && strings.Contains(leadingSpace(data, line), "\t") {
		msg += " (indent with spaces: YAML does not allow tabs)"
	}
	return Problem{Line: line, Message: "invalid YAML: " + msg}
}

// leadingSpace returns the indentation of the given 1-based line of data.
func leadingSpace(data []byte, line int) string {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return ""
	}
	l := lines[line-1]
	return string(l[:len(l)-len(bytes.TrimLeft(l, " \t"))])
}

// lineOf returns the 1-based line of byte offset i in data, 0 if i < 0.
func lineOf(data []byte, i int) int {
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// badByte returns the offset of the first byte YAML refuses to read
// (invalid UTF-8 or a character outside YAML's printable set), or -1.
func badByte(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		printable := r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7e || r == 0x85 ||
			r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
		if (r == utf8.RuneError && size == 1) || !printable {
			return i
		}
		i += size
	}
	return -1
}

// countNodes counts the nodes written in the tree under n, not following
// aliases.
func countNodes(n *yaml.Node) int {
	total := 1
	for _, c := range n.Content {
		total += countNodes(c)
	}
	return total
}

// dedupe drops repeated problems (same line and message), which an alias
// decoded in several places would otherwise produce.
func dedupe(ps Problems) Problems {
	type key struct {
		line int
		msg  string
	}
	seen := make(map[key]bool, len(ps))
	out := ps[:0]
	for _, p := range ps {
		k := key{p.Line, p.Message}
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}

// addf records a problem about the value at path, prefixing the message
// with the path.
func (d *decoder) addf(line int, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.problems = append(d.problems, Problem{Line: line, Path: path, Message: msg})
}

// enter resolves an alias and marks an anchored node as being decoded. It
// returns the node to decode and ok=false if decoding must stop there (a
// self-containing alias, or the budget is spent). The caller must call
// d.leave(node) when ok.
func (d *decoder) enter(n *yaml.Node, path string) (*yaml.Node, bool) {
	if d.budget <= 0 {
		return nil, false
	}
	d.budget--
	if d.budget == 0 {
		d.addf(n.Line, "", "the document expands to too many values; check its aliases (*name)")
		return nil, false
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.addf(n.Line, path, "alias *%s refers to nothing", n.Value)
			return nil, false
		}
		if d.active[n.Alias] {
			d.addf(n.Line, path, "alias *%s refers to a value that contains it", n.Value)
			return nil, false
		}
		n = n.Alias
	}
	if n.Anchor != "" {
		if d.active[n] {
			d.addf(n.Line, path, "anchor &%s refers to a value that contains it", n.Anchor)
			return nil, false
		}
		d.active[n] = true
	}
	return n, true
}

func (d *decoder) leave(n *yaml.Node) {
	if n.Anchor != "" {
		delete(d.active, n)
	}
}

var (
	durationType = reflect.TypeFor[Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
)

// decode decodes n into v. A null value leaves v as it is (so null behaves
// like an absent key and keeps the default); a value that cannot be decoded
// is reported and also leaves v as it is.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n, ok := d.enter(n, path)
	if !ok {
		return
	}
	d.decodeNode(n, v, path)
	d.leave(n)
}

// decodeNode is decode for a node already entered.
func (d *decoder) decodeNode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == tagNull {
		return
	}
	switch v.Type() {
	case durationType:
		d.durationValue(n, v, path)
		return
	case byteSizeType:
		d.byteSizeValue(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structValue(n, v, path)
	case reflect.Slice:
		d.sliceValue(n, v, path)
	case reflect.Map:
		d.mapValue(n, v, path)
	case reflect.Pointer:
		p := newValue(v.Type().Elem())
		d.decodeNode(n, p.Elem(), path)
		v.Set(p)
	case reflect.Interface:
		if raw := d.rawNode(n, path); raw != nil {
			v.Set(reflect.ValueOf(raw))
		}
	default:
		d.scalarValue(n, v, path)
	}
}

// newValue returns a pointer to a new value of type t holding its defaults.
func newValue(t reflect.Type) reflect.Value {
	p := reflect.New(t)
	if def, ok := p.Interface().(defaulter); ok {
		def.setDefaults()
	}
	return p
}

// describe names what a node holds, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return quoteShort(n.Value)
}

// scalar returns a scalar's value after environment expansion and the tag
// that types it. A value produced by expansion is typed by what it expands
// to; when raw is set (plugin configurations, which have no schema here) a
// quoted value stays a string even then.
func (d *decoder) scalar(n *yaml.Node, path string, raw bool) (value, tag string) {
	value, tag = n.Value, n.ShortTag()
	if tag != tagStr {
		return value, tag
	}
	value, substituted, errs := expandEnv(value, d.lookup)
	for _, e := range errs {
		d.addf(n.Line, path, "%s", e)
	}
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	if substituted && !(raw && quoted) {
		tag = (&yaml.Node{Kind: yaml.ScalarNode, Value: value}).ShortTag()
	}
	return value, tag
}

// scalarValue decodes a scalar into a string, bool, int or float64.
func (d *decoder) scalarValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.addf(n.Line, path, "expected %s, got %s", kindWanted(v.Kind()), describe(n))
		return
	}
	value, tag := d.scalar(n, path, false)
	switch v.Kind() {
	case reflect.String:
		v.SetString(value)
	case reflect.Bool:
		if tag != tagBool {
			d.addf(n.Line, path, "expected true or false, got %s", quoteShort(value))
			return
		}
		v.SetBool(strings.EqualFold(value, "true"))
	case reflect.Int:
		var i int
		if tag != tagInt || (&yaml.Node{Kind: yaml.ScalarNode, Tag: tagInt, Value: value}).Decode(&i) != nil {
			d.addf(n.Line, path, "expected a whole number, got %s", quoteShort(value))
			return
		}
		v.SetInt(int64(i))
	case reflect.Float64:
		var f float64
		if (tag != tagInt && tag != tagFloat) || (&yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}).Decode(&f) != nil {
			d.addf(n.Line, path, "expected a number, got %s", quoteShort(value))
			return
		}
		v.SetFloat(f)
	default:
		// Unreachable with the config types; kept so a new field of an
		// unsupported kind fails loudly in tests rather than silently.
		d.addf(n.Line, path, "cannot decode into %s", v.Type())
	}
}

func kindWanted(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	}
	return "a string"
}

func (d *decoder) durationValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.addf(n.Line, path, "expected a duration like 2s, got %s", describe(n))
		return
	}
	value, tag := d.scalar(n, path, false)
	var err error
	var dur Duration
	switch tag {
	case tagInt, tagFloat:
		err = errDurationUnit
	case tagStr:
		dur, err = parseDuration(value)
	default:
		err = fmt.Errorf("expected a duration like 2s, got %s", quoteShort(value))
	}
	if err != nil {
		if errors.Is(err, errDurationUnit) {
			err = fmt.Errorf("%w (got %s)", err, value)
		}
		d.addf(n.Line, path, "%v", err)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) byteSizeValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.addf(n.Line, path, "expected a size like 64KiB, got %s", describe(n))
		return
	}
	value, tag := d.scalar(n, path, false)
	if tag != tagInt && tag != tagStr {
		d.addf(n.Line, path, "expected a size like 64KiB, got %s", quoteShort(value))
		return
	}
	size, err := parseByteSize(value)
	if err != nil {
		d.addf(n.Line, path, "%v", err)
		return
	}
	v.SetInt(int64(size))
}

// pair is one key and value of a mapping.
type pair struct{ key, value *yaml.Node }

// pairs returns the entries of mapping n with merge keys ("<<: *base")
// resolved: keys written in n win over merged ones, and earlier merged
// mappings win over later ones. A key written twice is a problem.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var own, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == tagMerge {
			merged = append(merged, d.mergePairs(val, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.addf(k.Line, path, "keys must be plain strings, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.problems = append(d.problems, Problem{Line: k.Line, Path: joinKey(path, k.Value),
				Message: fmt.Sprintf("key %q is repeated (first on line %d)", k.Value, first.Line)})
			continue
		}
		seen[k.Value] = k
		own = append(own, pair{k, val})
	}
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; !ok {
			seen[p.key.Value] = p.key
			own = append(own, p)
		}
	}
	return own
}

// mergePairs returns the entries merged by a "<<" key whose value is a
// mapping or a list of mappings.
func (d *decoder) mergePairs(val *yaml.Node, path string) []pair {
	val, ok := d.enter(val, path)
	if !ok {
		return nil
	}
	defer d.leave(val)
	switch val.Kind {
	case yaml.MappingNode:
		return d.pairs(val, path)
	case yaml.SequenceNode:
		var out []pair
		for _, e := range val.Content {
			e, ok := d.enter(e, path)
			if !ok {
				continue
			}
			if e.Kind == yaml.MappingNode {
				out = append(out, d.pairs(e, path)...)
			} else {
				d.addf(e.Line, path, "<< must merge a mapping or a list of mappings, got %s", describe(e))
			}
			d.leave(e)
		}
		return out
	}
	d.addf(val.Line, path, "<< must merge a mapping or a list of mappings, got %s", describe(val))
	return nil
}

func (d *decoder) structValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.addf(n.Line, path, "expected a mapping, got %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	for _, p := range d.pairs(n, path) {
		key := p.key.Value
		fp := joinKey(path, key)
		i, ok := fields.index[key]
		if !ok {
			msg := fmt.Sprintf("unknown key %q in %s", key, kindNames[v.Type()])
			if path == "" {
				msg = fmt.Sprintf("unknown top-level key %q", key)
			}
			if s := suggest(key, fields.names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.problems = append(d.problems, Problem{Line: p.key.Line, Path: fp, Message: msg})
			continue
		}
		d.lines[fp] = p.key.Line
		d.decode(p.value, v.Field(i), fp)
	}
}

func (d *decoder) sliceValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.addf(n.Line, path, "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, e := range n.Content {
		ep := joinIndex(path, i)
		d.lines[ep] = e.Line
		ev := newValue(v.Type().Elem())
		d.decode(e, ev.Elem(), ep)
		s = reflect.Append(s, ev.Elem())
	}
	v.Set(s)
}

// mapValue decodes a mapping into a map with string keys. An entry with a
// null value is kept, holding the element's default (an empty map for map
// elements), so `key-auth:` enables a plugin just like `key-auth: {}`.
func (d *decoder) mapValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.addf(n.Line, path, "expected a mapping, got %s", describe(n))
		return
	}
	t := v.Type()
	m := reflect.MakeMapWithSize(t, len(n.Content)/2)
	for _, p := range d.pairs(n, path) {
		kp := joinKey(path, p.key.Value)
		d.lines[kp] = p.key.Line
		ev := newValue(t.Elem())
		if t.Elem().Kind() == reflect.Map {
			ev.Elem().Set(reflect.MakeMap(t.Elem()))
		}
		d.decode(p.value, ev.Elem(), kp)
		m.SetMapIndex(reflect.ValueOf(p.key.Value), ev.Elem())
	}
	v.Set(m)
}

// raw decodes a value with no schema (plugin configurations) into nil,
// bool, int, float64, string, []any or map[string]any, recording lines.
func (d *decoder) raw(n *yaml.Node, path string) any {
	n, ok := d.enter(n, path)
	if !ok {
		return nil
	}
	defer d.leave(n)
	return d.rawNode(n, path)
}

// rawNode is raw for a node already entered.
func (d *decoder) rawNode(n *yaml.Node, path string) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for _, p := range d.pairs(n, path) {
			kp := joinKey(path, p.key.Value)
			d.lines[kp] = p.key.Line
			m[p.key.Value] = d.raw(p.value, kp)
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for i, e := range n.Content {
			ep := joinIndex(path, i)
			d.lines[ep] = e.Line
			s = append(s, d.raw(e, ep))
		}
		return s
	}
	value, tag := d.scalar(n, path, true)
	var out any
	switch tag {
	case tagNull:
		return nil
	case tagBool, tagInt, tagFloat:
		if (&yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}).Decode(&out) == nil {
			return out
		}
	}
	return value
}

// structFields maps the YAML keys of a struct type to field indexes.
type structFields struct {
	index map[string]int
	names []string
}

var fieldCache sync.Map // reflect.Type → *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f := &structFields{index: map[string]int{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || name == "" || name == "-" {
			continue
		}
		f.index[name] = i
		f.names = append(f.names, name)
	}
	fieldCache.Store(t, f)
	return f
}

// kindNames name each struct type in "unknown key" messages.
var kindNames = map[reflect.Type]string{
	reflect.TypeFor[Server]():       "server",
	reflect.TypeFor[ServerTLS]():    "server.tls",
	reflect.TypeFor[Storage]():      "storage",
	reflect.TypeFor[Redis]():        "redis",
	reflect.TypeFor[Log]():          "log",
	reflect.TypeFor[RequestLog]():   "log.request_log",
	reflect.TypeFor[Upstream]():     "upstream",
	reflect.TypeFor[Target]():       "target",
	reflect.TypeFor[Timeouts]():     "timeouts",
	reflect.TypeFor[KeepAlive]():    "keep_alive",
	reflect.TypeFor[UpstreamTLS]():  "upstream tls",
	reflect.TypeFor[HealthCheck]():  "health_check",
	reflect.TypeFor[ActiveCheck]():  "active health check",
	reflect.TypeFor[PassiveCheck](): "passive health check",
	reflect.TypeFor[Route]():        "route",
	reflect.TypeFor[RouteMatch]():   "route match",
	reflect.TypeFor[AIRoute]():      "route ai",
	reflect.TypeFor[Consumer]():     "consumer",
	reflect.TypeFor[Credential]():   "credential",
	reflect.TypeFor[AI]():           "ai",
	reflect.TypeFor[Provider]():     "provider",
	reflect.TypeFor[Model]():        "model",
	reflect.TypeFor[ModelTarget]():  "model target",
	reflect.TypeFor[Price]():        "price",
	reflect.TypeFor[Telemetry]():    "telemetry",
	reflect.TypeFor[Tracing]():      "telemetry.tracing",
}

// Suggest returns the candidate closest to word when it is close enough to
// be a likely typo ("retriez" → "retries"), else "".
func Suggest(word string, candidates []string) string { return suggest(word, candidates) }

// suggest returns the candidate closest to word when it is close enough to
// be a likely typo, else "".
func suggest(word string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		dist := editDistance(strings.ToLower(word), strings.ToLower(c))
		if dist <= max(1, len(c)/3) && dist < len(c) && (best == "" || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // not a typo of a key; skip the quadratic work
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
