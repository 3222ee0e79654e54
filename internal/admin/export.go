package admin

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/store"
)

// exportHeader starts every exported document.
const exportHeader = `# sluice config, exported by the admin API (GET /api/v1/config).
# It is the merged config this node serves: the config file's entities and
# those managed through the API.
# Secrets are masked: credential keys, passwords and secrets, AI provider
# api_keys and header values read "***", and database and Redis passwords
# are hidden. POST /api/v1/config takes this document back: a masked value
# keeps the secret already stored.
`

// exportConfig answers GET /api/v1/config with the merged config as YAML,
// its secrets masked.
func (a *API) exportConfig(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := a.mergedConfig(ctx)
	if err != nil {
		a.fail(w, r, a.storeError(ctx, err, "the stored config"))
		return
	}
	maskConfig(c)
	var root yaml.Node
	err = root.Encode(c)
	var buf bytes.Buffer
	buf.WriteString(exportHeader)
	if err == nil {
		pruneUnset(&root)
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		err = enc.Encode(&root)
		enc.Close()
	}
	if err != nil {
		a.fail(w, r, fmt.Errorf("encoding the config: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// mergedConfig returns a copy of the merged config with the store's
// entities as they are now (the node may lag), each API consumer with its
// stored credentials (which hold no secret).
func (a *API) mergedConfig(ctx context.Context) (*config.Config, error) {
	overlay, err := a.freshOverlay(ctx)
	if err != nil {
		return nil, err
	}
	consumers, err := overlayKind(ctx, a, consumerKind)
	if err != nil {
		return nil, err
	}
	creds, _, err := a.store.Credentials().List(ctx, store.Page{})
	if err != nil {
		return nil, err
	}
	c := a.cfg.Current().Clone()
	overlay(c)
	consumers(c)
	byConsumer := map[string][]config.Credential{}
	for _, sc := range creds {
		byConsumer[sc.Consumer] = append(byConsumer[sc.Consumer], fromStored(sc))
	}
	for i := range c.Consumers {
		if cs, ok := byConsumer[c.Consumers[i].Name]; ok && !a.cfg.FileOwned(KindConsumers, c.Consumers[i].Name) {
			c.Consumers[i].Credentials = cs
		}
	}
	return c, nil
}

// pruneUnset removes the mapping entries whose value is null or the
// empty string, which mean the same as leaving the key out, so the export
// shows what is set. Plugin configurations are left whole: what their
// settings mean is up to each plugin.
func pruneUnset(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Tag == "!!str" && v.Value == "") {
				continue
			}
			if k.Value != "plugins" {
				pruneUnset(v)
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
		return
	}
	for _, c := range n.Content {
		pruneUnset(c)
	}
}

// fromStored returns a stored credential as the config file writes one,
// its secrets masked (the store has none to give).
func fromStored(sc store.Credential) config.Credential {
	cr := config.Credential{Type: sc.Type, Username: sc.Attrs["username"], Issuer: sc.Attrs["issuer"],
		Algorithm: sc.Attrs["algorithm"], PublicKey: sc.Attrs["public_key"]}
	switch sc.Type {
	case "key-auth":
		cr.Key = masked
	case "basic-auth":
		cr.Password = masked
	case "jwt":
		if len(sc.Secret) > 0 {
			cr.Secret = masked
		}
	}
	return cr
}

// maskConfig replaces every secret in c by "***" (passwords in
// addresses are redacted).
func maskConfig(c *config.Config) {
	for i := range c.AI.Providers {
		p := &c.AI.Providers[i]
		for j := range p.APIKeys {
			p.APIKeys[j] = masked
		}
		for k := range p.Headers {
			p.Headers[k] = masked
		}
	}
	for i := range c.Consumers {
		for j := range c.Consumers[i].Credentials {
			cr := &c.Consumers[i].Credentials[j]
			for _, s := range []*string{&cr.Key, &cr.Password, &cr.Secret} {
				if *s != "" {
					*s = masked
				}
			}
		}
	}
	for k := range c.Telemetry.Tracing.Headers {
		c.Telemetry.Tracing.Headers[k] = masked
	}
	c.Storage.DSN = redactAddress(c.Storage.DSN)
	c.Redis.URL = redactAddress(c.Redis.URL)
}

var dsnPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|\S+)`)

// redactAddress hides the password of a URL or of a key=value DSN.
func redactAddress(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsnPassword.ReplaceAllString(s, "${1}"+masked)
}

// sameValue reports whether a and b hold the same config: nil and empty
// lists and maps are the same, numbers compare by value whatever their Go
// type (a plugin setting read back from JSON is float64, from YAML int).
func sameValue(a, b reflect.Value) bool {
	a, b = unwrap(a), unwrap(b)
	if empty(a) || empty(b) {
		return empty(a) && empty(b)
	}
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Pointer:
		return sameValue(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for it := a.MapRange(); it.Next(); {
			bv := b.MapIndex(it.Key())
			if !bv.IsValid() || !sameValue(it.Value(), bv) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() && !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return a.Interface() == b.Interface()
}

// unwrap returns the value an interface holds; the zero Value for nil.
func unwrap(v reflect.Value) reflect.Value {
	for v.IsValid() && v.Kind() == reflect.Interface {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

// empty reports whether v is nothing: absent, a nil pointer, or a list or
// map without entries.
func empty(v reflect.Value) bool {
	if !v.IsValid() {
		return true
	}
	switch v.Kind() {
	case reflect.Pointer:
		return v.IsNil()
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return false
}

// number returns the value of a plain number held in v.
func number(v reflect.Value) (float64, bool) {
	if v.Type().PkgPath() != "" {
		return 0, false // a named type such as config.Duration compares as itself
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint()), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	return 0, false
}

// same reports whether two entities hold the same config.
func same[T any](a, b T) bool { return sameValue(reflect.ValueOf(a), reflect.ValueOf(b)) }
