package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/store"
)

// POST /api/v1/config imports a YAML document in the config file's
// format, such as one GET /api/v1/config exported. It creates or updates
// every API-managed entity the document declares and deletes nothing.
// The whole document is checked first: decoded strictly on top of the
// file's defaults, then validated with every entity in it applied to the
// merged config (Config.Check). Only when nothing is wrong is it written,
// in one store transaction: all of it or, on any failure, none.
//
//   - Values are taken literally: ${VAR} is not expanded.
//   - An entity the config file declares is accepted only when the
//     document holds it unchanged (masked secrets aside); otherwise it is a
//     problem: such entities are changed in the file.
//   - A masked secret ("***" or a secret.Mask form) keeps the stored one:
//     a provider's key at the same index or header of the same name, a
//     consumer's stored credential.
//   - A credential with a secret is created, or replaces the consumer's
//     credential with the same key, username or issuer when its secret
//     differs.
//   - The sections that configure the node itself (server, storage,
//     redis, log) and ai.prices are ignored and listed as such in the
//     answer: they are changed in the config file.
//   - ?dry_run=true checks and reports without writing.

// maxImportBytes bounds an imported document.
const maxImportBytes = 16 << 20

// importResult is the answer to an import.
type importResult struct {
	DryRun        bool              `json:"dry_run"`
	Created       map[Kind][]string `json:"created"`
	Updated       map[Kind][]string `json:"updated"`
	Unchanged     map[Kind][]string `json:"unchanged"`
	Credentials   map[string]int    `json:"credentials"`
	Ignored       []string          `json:"ignored"`
	ConfigVersion uint64            `json:"config_version"`
}

// importStep is the import of one kind of entity.
type importStep interface {
	// plan compares the document's entities with the stored and the
	// file's, and returns what is wrong.
	plan(ctx context.Context, a *API) ([]problem, error)
	// mutate applies the entities to a config being checked.
	mutate(c *config.Config)
	// pairs maps config paths of the entities in c to document paths.
	pairs(c *config.Config) []pathPair
	// apply writes the changes in tx.
	apply(ctx context.Context, tx store.Tx) error
	// report adds the outcome to res.
	report(res *importResult)
}

type pathPair struct{ config, doc string }

func (a *API) importConfig(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	data, err := readBody(w, r, maxImportBytes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	dryRun, _ := strconv.ParseBool(r.URL.Query().Get("dry_run"))
	doc, ps := a.decodeDocument(data)
	if len(ps) > 0 {
		a.fail(w, r, invalid(ps, "The document has %s; nothing was applied.", countProblems(len(ps))))
		return
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	for _, s := range doc.steps {
		more, err := s.plan(ctx, a)
		if err != nil {
			a.fail(w, r, a.storeError(ctx, err, "the stored config"))
			return
		}
		ps = append(ps, doc.located(more)...)
	}
	if len(ps) > 0 {
		a.fail(w, r, invalid(ps, "The document has %s; nothing was applied.", countProblems(len(ps))))
		return
	}
	var pairs []pathPair
	res, err := a.check(ctx, func(c *config.Config) string {
		for _, s := range doc.steps {
			s.mutate(c)
		}
		for _, s := range doc.steps {
			pairs = append(pairs, s.pairs(c)...)
		}
		return ""
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(res.problems) > 0 {
		ps := doc.checkProblems(res, pairs)
		a.fail(w, r, invalid(ps, "The document has %s; nothing was applied.", countProblems(len(ps))))
		return
	}
	out := &importResult{DryRun: dryRun, Created: map[Kind][]string{}, Updated: map[Kind][]string{},
		Unchanged: map[Kind][]string{}, Credentials: map[string]int{}, Ignored: doc.ignored}
	for _, s := range doc.steps {
		s.report(out)
	}
	if !dryRun {
		err = a.store.Tx(ctx, func(tx store.Tx) error {
			for _, s := range doc.steps {
				if err := s.apply(ctx, tx); err != nil {
					return err
				}
			}
			return nil
		})
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			a.fail(w, r, errConflict("The stored config changed while the document was imported; nothing was applied. Retry."))
			return
		}
		if err != nil {
			a.fail(w, r, a.storeError(ctx, err, "the config"))
			return
		}
		a.audit(r, "config imported", "created", total(out.Created), "updated", total(out.Updated),
			"credentials_created", out.Credentials["created"], "credentials_replaced", out.Credentials["replaced"])
	}
	if out.ConfigVersion, err = a.store.ConfigVersion(ctx); err != nil {
		a.fail(w, r, a.storeError(ctx, err, "the config version"))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func total(m map[Kind][]string) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

// document is a decoded import document.
type document struct {
	steps   []importStep
	ignored []string
	// lines maps document paths to their lines.
	lines map[string]int
}

// located sets the line of each problem from its document path.
func (d *document) located(ps []problem) []problem {
	for i := range ps {
		ps[i].Line = lineOf(d.lines, ps[i].Path)
	}
	return ps
}

// checkProblems maps the problems of the check to document paths.
func (d *document) checkProblems(res *checkResult, pairs []pathPair) []problem {
	out := make([]problem, 0, len(res.problems))
	for _, p := range res.problems {
		msg := strings.TrimPrefix(p.Message, p.Path+": ")
		mapped := false
		for _, pp := range pairs {
			if rest, ok := below(p.Path, pp.config); ok {
				path := pp.doc + rest
				out = append(out, problem{Path: path, Field: firstField(path), Line: lineOf(d.lines, path), Message: msg})
				mapped = true
				break
			}
		}
		if !mapped {
			if desc := describeAt(res.c, p.Path); desc != "" {
				msg = desc + ": " + msg
			}
			out = append(out, problem{ConfigPath: p.Path, Message: msg})
		}
	}
	return out
}

// nodeSections configure the node; an import ignores them.
var nodeSections = []string{"server", "storage", "redis", "log", "telemetry"}

// decodeDocument parses an import document into its import steps.
func (a *API) decodeDocument(data []byte) (*document, []problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, []problem{{Message: "the document is empty"}}
		}
		return nil, []problem{{Message: "the document is not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, []problem{{Line: extra.Line, Message: "the document must be a single YAML document"}}
	}
	d := &document{lines: map[string]int{}}
	walkLines(&root, "", d.lines)
	var generic any
	if err := root.Decode(&generic); err != nil {
		return nil, []problem{{Message: "the document cannot be read: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	raw, err := json.Marshal(generic)
	var top map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(raw, &top)
	}
	if err != nil {
		return nil, []problem{{Line: 1, Message: "the document must be a mapping of sections like upstreams: and routes:, with string keys"}}
	}
	var ps []problem
	var ai map[string]json.RawMessage
	if v, ok := top["ai"]; ok && string(v) != "null" {
		if json.Unmarshal(v, &ai) != nil {
			ps = append(ps, newProblem("ai", "must be a mapping of providers:, models: and prices:"))
		}
	}
	ups, more := decodeItems(upstreamKind, top["upstreams"], "upstreams")
	ps = append(ps, more...)
	routes, more := decodeItems(routeKind, top["routes"], "routes")
	ps = append(ps, more...)
	providers, more := decodeItems(providerKind, ai["providers"], "ai.providers")
	ps = append(ps, more...)
	models, more := decodeItems(modelKind, ai["models"], "ai.models")
	ps = append(ps, more...)
	consumers, more := decodeItems(consumerKind, top["consumers"], "consumers")
	ps = append(ps, more...)
	plugins, more := decodePlugins(top["plugins"])
	ps = append(ps, more...)
	providers.restore = restoreProviderSecrets
	providers.restoreFile = func(v, file *config.Provider) { restoreProviderSecrets(v, file) }
	consumers.restoreFile = restoreFileCredentials
	consumers.strip = func(v *config.Consumer) { v.Credentials = nil }
	creds := &credImport{}
	for _, it := range consumers.items {
		creds.consumers = append(creds.consumers, credConsumer{name: it.v.Name, path: it.path, creds: it.v.Credentials})
	}
	d.steps = []importStep{ups, routes, plugins, providers, models, consumers, creds}

	for _, k := range sortedKeys(top) {
		switch {
		case k == "upstreams" || k == "routes" || k == "consumers" || k == "plugins" || k == "ai":
		case slices.Contains(nodeSections, k):
			d.ignored = append(d.ignored, k)
		default:
			msg := "unknown section " + strconv.Quote(k)
			if s := config.Suggest(k, append([]string{"upstreams", "routes", "consumers", "plugins", "ai"}, nodeSections...)); s != "" {
				msg += " (did you mean " + strconv.Quote(s) + "?)"
			}
			ps = append(ps, newProblem(k, "%s", msg))
		}
	}
	for _, k := range sortedKeys(ai) {
		switch k {
		case "providers", "models":
		case "prices", "timeout", "stream_idle_timeout", "retries", "keepalive", "max_body_size":
			// Node settings, from the config file only.
			d.ignored = append(d.ignored, "ai."+k)
		default:
			ps = append(ps, newProblem("ai."+k, "unknown section %q; ai holds providers, models, prices and the node's AI settings", k))
		}
	}
	if d.ignored == nil {
		d.ignored = []string{}
	}
	return d, d.located(ps)
}

// decodeItems decodes the list at path of a document into entities.
func decodeItems[T any](k *kindSpec[T], raw json.RawMessage, path string) (*kindImport[T], []problem) {
	ki := &kindImport[T]{k: k}
	if raw == nil || string(raw) == "null" {
		return ki, nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return ki, []problem{newProblem(path, "must be a list of %ss", k.singular)}
	}
	var ps []problem
	for i, item := range list {
		p := path + "[" + strconv.Itoa(i) + "]"
		it := &docItem[T]{path: p}
		ps = append(ps, prefixProblems(p, decodeJSON(item, &it.v))...)
		ki.items = append(ki.items, it)
	}
	return ki, ps
}

// decodePlugins decodes the global plugins of a document: name → config.
func decodePlugins(raw json.RawMessage) (*kindImport[store.Plugin], []problem) {
	ki := &kindImport[store.Plugin]{k: pluginKind}
	if raw == nil || string(raw) == "null" {
		return ki, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ki, []problem{newProblem("plugins", "must be a mapping of plugin name to its configuration")}
	}
	var ps []problem
	for _, name := range sortedKeys(m) {
		p := config.JoinKey("plugins", name)
		it := &docItem[store.Plugin]{path: p, v: store.Plugin{Name: name, Config: map[string]any{}}}
		if string(m[name]) != "null" {
			ps = append(ps, prefixProblems(p, decodeJSON(m[name], &it.v.Config))...)
			if it.v.Config == nil {
				it.v.Config = map[string]any{}
			}
		}
		ki.items = append(ki.items, it)
	}
	return ki, ps
}

// prefixProblems places problems found in a value at path of a document.
func prefixProblems(path string, ps []problem) []problem {
	for i := range ps {
		ps[i].Path = joinPath(path, ps[i].Path)
		ps[i].Field = firstField(ps[i].Path)
	}
	return ps
}

// joinPath appends a relative path ("name", `["x"]`, "") to path.
func joinPath(path, rest string) string {
	switch {
	case rest == "":
		return path
	case path == "" || strings.HasPrefix(rest, "["):
		return path + rest
	}
	return path + "." + rest
}

// walkLines records the line of every path of a YAML node tree. Aliases
// are not followed, so a document of many aliases cannot make it slow.
func walkLines(n *yaml.Node, path string, lines map[string]int) {
	if _, seen := lines[path]; !seen {
		lines[path] = n.Line
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			walkLines(n.Content[0], path, lines)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if key := n.Content[i]; key.Value != "<<" {
				p := config.JoinKey(path, key.Value)
				lines[p] = key.Line
				walkLines(n.Content[i+1], p, lines)
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walkLines(c, path+"["+strconv.Itoa(i)+"]", lines)
		}
	}
}

// lineOf returns the line of path or of the nearest enclosing path
// written in the document; 0 when none is.
func lineOf(lines map[string]int, path string) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}
