package admin

import (
	"context"
	"strconv"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/secret"
	"github.com/sluicegw/sluice/internal/store"
)

// docItem is one entity of an imported document.
type docItem[T any] struct {
	// path is the entity's path in the document: "routes[2]".
	path string
	v    T
	// Set by plan: file says the config file declares the entity, the
	// same; old is the stored entity it replaces (nil for a new one);
	// changed says it differs from old.
	file    bool
	old     *store.Record[T]
	changed bool
}

var (
	_ importStep = (*kindImport[config.Route])(nil)
	_ importStep = (*credImport)(nil)
)

// kindImport imports the entities of one kind.
type kindImport[T any] struct {
	k     *kindSpec[T]
	items []*docItem[T]
	// restore completes masked secrets of a value from the stored one it
	// replaces (nil for a new one) and reports those it cannot. Nil when
	// the kind has no secrets.
	restore func(v, old *T) []problem
	// restoreFile completes masked secrets of a value from the config
	// file's, before the two are compared.
	restoreFile func(v, file *T)
	// strip removes from a value what the store does not keep with it
	// (a consumer's credentials).
	strip func(v *T)
}

func (p *kindImport[T]) plan(ctx context.Context, a *API) ([]problem, error) {
	if len(p.items) == 0 {
		return nil, nil
	}
	recs, _, err := p.k.repo(a.store).List(ctx, store.Page{})
	if err != nil {
		return nil, err
	}
	stored := make(map[string]*store.Record[T], len(recs))
	for i := range recs {
		stored[p.k.name(&recs[i].Value)] = &recs[i]
	}
	fileItems := p.k.items(a.cfg.Current())
	seen := map[string]string{}
	var ps []problem
	for _, it := range p.items {
		name := p.k.name(&it.v)
		if name == "" {
			ps = append(ps, newProblem(joinPath(it.path, "name"), "every %s needs a name", p.k.singular))
			continue
		}
		if first, dup := seen[name]; dup {
			ps = append(ps, newProblem(it.path, "%s %q is already declared at %s", p.k.singular, name, first))
			continue
		}
		seen[name] = it.path
		if a.cfg.FileOwned(p.k.kind, name) {
			if i := findItem(p.k, fileItems, name); i >= 0 {
				fv := fileItems[i]
				if p.restoreFile != nil {
					p.restoreFile(&it.v, &fv)
				}
				if same(it.v, fv) {
					it.file = true
					continue
				}
			}
			ps = append(ps, newProblem(it.path,
				"the %s %q is declared in the config file and differs from it there; it is read-only through the API: change the file, or leave it out of the document",
				p.k.singular, name))
			continue
		}
		if p.strip != nil {
			p.strip(&it.v)
		}
		it.old = stored[name]
		if p.restore != nil {
			var old *T
			if it.old != nil {
				old = &it.old.Value
			}
			ps = append(ps, prefixProblems(it.path, p.restore(&it.v, old))...)
		}
		it.changed = it.old == nil || !same(it.v, it.old.Value)
	}
	return ps, nil
}

func (p *kindImport[T]) mutate(c *config.Config) {
	for _, it := range p.items {
		if !it.file {
			upsert(p.k, c, it.v)
		}
	}
}

func (p *kindImport[T]) pairs(c *config.Config) []pathPair {
	items := p.k.items(c)
	out := make([]pathPair, 0, len(p.items))
	for _, it := range p.items {
		name := p.k.name(&it.v)
		if i := findItem(p.k, items, name); i >= 0 {
			out = append(out, pathPair{config: p.k.path(i, name), doc: it.path})
		}
	}
	return out
}

func (p *kindImport[T]) apply(ctx context.Context, tx store.Tx) error {
	repo := p.k.repo(tx)
	for _, it := range p.items {
		var err error
		switch {
		case it.file || !it.changed:
		case it.old == nil:
			_, err = repo.Create(ctx, it.v)
		default:
			// Conditional on the version planned against: a concurrent
			// change aborts the whole import.
			_, err = repo.Update(ctx, it.v, it.old.Version)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *kindImport[T]) report(res *importResult) {
	for _, it := range p.items {
		name := p.k.name(&it.v)
		switch {
		case it.file || !it.changed:
			res.Unchanged[p.k.kind] = append(res.Unchanged[p.k.kind], name)
		case it.old == nil:
			res.Created[p.k.kind] = append(res.Created[p.k.kind], name)
		default:
			res.Updated[p.k.kind] = append(res.Updated[p.k.kind], name)
		}
	}
}

// restoreFileCredentials puts the file's secrets in place of the masked
// ones of v's credentials, credential by credential, so that an exported
// file consumer compares equal to the file's.
func restoreFileCredentials(v, file *config.Consumer) {
	if len(v.Credentials) != len(file.Credentials) {
		return
	}
	for i := range v.Credentials {
		d, f := &v.Credentials[i], file.Credentials[i]
		for _, pair := range []struct {
			doc  *string
			file string
		}{{&d.Key, f.Key}, {&d.Password, f.Password}, {&d.Secret, f.Secret}} {
			if isMasked(*pair.doc) {
				*pair.doc = pair.file
			}
		}
	}
}

// credImport imports the credentials of the document's API consumers.
type credImport struct {
	consumers []credConsumer
	// Set by plan.
	create   []store.Credential
	remove   []string // ids of credentials replaced
	kept     int
	replaced int
}

// credConsumer is a consumer of the document with its credentials.
type credConsumer struct {
	name, path string
	creds      []config.Credential
	file       bool
}

// credentialMasked reports whether cr's secret is masked: it stands for
// the stored credential.
func credentialMasked(cr config.Credential) bool {
	switch cr.Type {
	case "key-auth":
		return isMasked(cr.Key)
	case "basic-auth":
		return isMasked(cr.Password)
	case "jwt":
		return isMasked(cr.Secret)
	}
	return false
}

func (p *credImport) plan(ctx context.Context, a *API) ([]problem, error) {
	var ps []problem
	for ci := range p.consumers {
		cc := &p.consumers[ci]
		if cc.file = a.cfg.FileOwned(KindConsumers, cc.name); cc.file || len(cc.creds) == 0 {
			continue
		}
		stored, err := a.store.Credentials().ListByConsumer(ctx, cc.name)
		if err != nil {
			return nil, err
		}
		for j, cr := range cc.creds {
			path := cc.path + ".credentials[" + strconv.Itoa(j) + "]"
			if credentialMasked(cr) {
				if cr.Type != "key-auth" && !hasStored(stored, cr) {
					ps = append(ps, newProblem(path, "the %s of this %s credential is masked, and consumer %q has no stored one to keep; give the secret",
						map[string]string{"basic-auth": "password", "jwt": "secret"}[cr.Type], cr.Type, cc.name))
				}
				p.kept++
				continue
			}
			lookup := lookupValue(cr)
			if lookup == "" || cr.Type != "key-auth" && cr.Type != "basic-auth" && cr.Type != "jwt" {
				continue // the check reports it
			}
			existing, err := a.store.Credentials().FindByDigest(ctx, cr.Type, a.keys.Digest(lookup))
			switch {
			case err != nil && !isNotFound(err):
				return nil, err
			case err != nil:
				p.create = append(p.create, a.toStored(cc.name, cr))
			case existing.Consumer != cc.name:
				ps = append(ps, newProblem(path, "this %s is already used by consumer %q", lookupWhat(cr), existing.Consumer))
			case a.sameMaterial(existing, cr):
				p.kept++
			default:
				p.remove = append(p.remove, existing.ID)
				p.create = append(p.create, a.toStored(cc.name, cr))
				p.replaced++
			}
		}
	}
	return ps, nil
}

// hasStored reports whether stored holds a credential of cr's type with
// cr's username or issuer.
func hasStored(stored []store.Credential, cr config.Credential) bool {
	for _, sc := range stored {
		if sc.Type == cr.Type && (cr.Type == "basic-auth" && sc.Attrs["username"] == cr.Username ||
			cr.Type == "jwt" && sc.Attrs["issuer"] == cr.Issuer) {
			return true
		}
	}
	return false
}

// sameMaterial reports whether the stored credential already holds cr.
func (a *API) sameMaterial(sc store.Credential, cr config.Credential) bool {
	switch cr.Type {
	case "basic-auth":
		return secret.Equal(sc.Secret, a.keys.Digest(cr.Password))
	case "jwt":
		return sc.Attrs["algorithm"] == cr.Algorithm && sc.Attrs["public_key"] == cr.PublicKey &&
			secret.Equal(sc.Secret, []byte(cr.Secret))
	}
	return true // key-auth: the same key is the same digest
}

// mutate gives the document's API consumers their credentials inline, so
// the check validates them. A masked secret becomes a placeholder unique
// to its credential, so masked keys do not collide with each other.
func (p *credImport) mutate(c *config.Config) {
	for _, cc := range p.consumers {
		if cc.file {
			continue
		}
		i := findItem(consumerKind, c.Consumers, cc.name)
		if i < 0 {
			continue
		}
		creds := make([]config.Credential, len(cc.creds))
		for j, cr := range cc.creds {
			placeholder := "masked-" + cc.path + "-" + strconv.Itoa(j)
			for _, s := range []*string{&cr.Key, &cr.Password, &cr.Secret} {
				if isMasked(*s) {
					*s = placeholder
				}
			}
			creds[j] = cr
		}
		c.Consumers[i].Credentials = creds
	}
}

func (p *credImport) pairs(*config.Config) []pathPair { return nil }

func (p *credImport) apply(ctx context.Context, tx store.Tx) error {
	for _, id := range p.remove {
		if err := tx.Credentials().Delete(ctx, id); err != nil {
			return err
		}
	}
	for _, sc := range p.create {
		if _, err := tx.Credentials().Create(ctx, sc); err != nil {
			return err
		}
	}
	return nil
}

func (p *credImport) report(res *importResult) {
	res.Credentials["created"] = len(p.create) - p.replaced
	res.Credentials["replaced"] = p.replaced
	res.Credentials["kept"] = p.kept
}
