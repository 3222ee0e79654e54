package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/store"
)

// Page sizes of entity lists.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// entityRoutes returns the CRUD routes of one kind of entity.
func entityRoutes[T any](a *API, k *kindSpec[T]) []route {
	base := "/api/v1/" + string(k.kind)
	item := base + "/{name}"
	if k.kind == KindAIModels {
		item = base + "/{name...}" // model names may hold "/"
	}
	return []route{
		{method: "GET", pattern: base, handler: func(w http.ResponseWriter, r *http.Request) { listEntities(a, k, w, r) }},
		{method: "POST", pattern: base, handler: func(w http.ResponseWriter, r *http.Request) { createEntity(a, k, w, r) }},
		{method: "GET", pattern: item, handler: func(w http.ResponseWriter, r *http.Request) { getEntity(a, k, w, r) }},
		{method: "PUT", pattern: item, handler: func(w http.ResponseWriter, r *http.Request) { putEntity(a, k, w, r) }},
		{method: "DELETE", pattern: item, handler: func(w http.ResponseWriter, r *http.Request) { deleteEntity(a, k, w, r) }},
	}
}

// listBody is the answer to a list.
type listBody struct {
	Data   []map[string]json.RawMessage `json:"data"`
	Total  int                          `json:"total"`
	Offset int                          `json:"offset"`
	Size   int                          `json:"size"`
}

// listEntities answers GET /api/v1/{kind}?offset=&size=: the file's and
// the store's entities together, ordered by name.
func listEntities[T any](a *API, k *kindSpec[T], w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	page, err := parsePage(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := listBody{Data: []map[string]json.RawMessage{}, Offset: page.Offset, Size: page.Size}
	file := fileItems(a, k)
	if len(file) == 0 {
		// The common case, and the one with many entities: the store
		// pages.
		recs, total, err := k.repo(a.store).List(ctx, page)
		if err != nil {
			a.fail(w, r, a.storeError(ctx, err, "the list"))
			return
		}
		for i := range recs {
			body.Data = append(body.Data, render(k, recs[i].Value, &recs[i]))
		}
		body.Total = total
		writeJSON(w, http.StatusOK, body)
		return
	}
	recs, _, err := k.repo(a.store).List(ctx, store.Page{})
	if err != nil {
		a.fail(w, r, a.storeError(ctx, err, "the list"))
		return
	}
	type entry struct {
		name string
		v    T
		rec  *store.Record[T]
	}
	all := make([]entry, 0, len(file)+len(recs))
	owned := map[string]bool{}
	for _, v := range file {
		owned[k.name(&v)] = true
		all = append(all, entry{name: k.name(&v), v: v})
	}
	for i := range recs {
		// A stored entity the file now declares too is shadowed by it.
		if n := k.name(&recs[i].Value); !owned[n] {
			all = append(all, entry{name: n, v: recs[i].Value, rec: &recs[i]})
		}
	}
	slices.SortStableFunc(all, func(x, y entry) int { return strings.Compare(x.name, y.name) })
	body.Total = len(all)
	for _, e := range all[min(page.Offset, len(all)):min(page.Offset+page.Size, len(all))] {
		body.Data = append(body.Data, render(k, e.v, e.rec))
	}
	writeJSON(w, http.StatusOK, body)
}

// getEntity answers GET /api/v1/{kind}/{name}.
func getEntity[T any](a *API, k *kindSpec[T], w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if v, ok := fileItem(a, k, name); ok {
		writeJSON(w, http.StatusOK, render(k, v, nil))
		return
	}
	rec, err := k.repo(a.store).Get(r.Context(), name)
	if err != nil {
		a.fail(w, r, a.storeError(r.Context(), err, k.singular+" "+strconv.Quote(name)))
		return
	}
	w.Header().Set("ETag", etag(rec.Version))
	writeJSON(w, http.StatusOK, render(k, rec.Value, &rec))
}

// createEntity answers POST /api/v1/{kind}.
func createEntity[T any](a *API, k *kindSpec[T], w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var v T
	if err := decodeBody(w, r, &v); err != nil {
		a.fail(w, r, err)
		return
	}
	name := k.name(&v)
	if name == "" {
		a.fail(w, r, invalid([]problem{newProblem("name", "every %s needs a name", k.singular)}, "The %s has no name.", k.singular))
		return
	}
	if a.cfg.FileOwned(k.kind, name) {
		a.fail(w, r, errReadOnly(k.singular, name))
		return
	}
	if k.prepare != nil {
		if ps := k.prepare(&v, nil); len(ps) > 0 {
			a.fail(w, r, invalid(ps, "The %s is not valid.", k.singular))
			return
		}
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	switch _, err := k.repo(a.store).Get(ctx, name); {
	case err == nil:
		a.fail(w, r, errConflict("The %s %q already exists; PUT %s replaces it.", k.singular, name, entityURL(k, name)))
		return
	case !errors.Is(err, store.ErrNotFound):
		a.fail(w, r, a.storeError(ctx, err, k.singular+" "+strconv.Quote(name)))
		return
	}
	if err := checkEntity(a, k, r, v); err != nil {
		a.fail(w, r, err)
		return
	}
	rec, err := k.repo(a.store).Create(ctx, v)
	if err != nil {
		a.fail(w, r, a.storeError(ctx, err, "the "+k.singular+" "+strconv.Quote(name)))
		return
	}
	a.audit(r, k.singular+" created", "name", name, "version", rec.Version)
	w.Header().Set("Location", entityURL(k, name))
	w.Header().Set("ETag", etag(rec.Version))
	writeJSON(w, http.StatusCreated, render(k, rec.Value, &rec))
}

// putEntity answers PUT /api/v1/{kind}/{name}: it replaces the entity, or
// creates it when there is none (201). With If-Match, the entity must
// exist at that version ("*": at any), else 412.
func putEntity[T any](a *API, k *kindSpec[T], w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	var v T
	if err := decodeBody(w, r, &v); err != nil {
		a.fail(w, r, err)
		return
	}
	switch bn := k.name(&v); {
	case bn == "":
		k.setName(&v, name)
	case bn != name:
		a.fail(w, r, invalid([]problem{newProblem("name",
			"the name %q differs from the name in the path, %q; to rename, create the new %s and delete the old one", bn, name, k.singular)},
			"The name in the body differs from the name in the path."))
		return
	}
	if a.cfg.FileOwned(k.kind, name) {
		a.fail(w, r, errReadOnly(k.singular, name))
		return
	}
	want, conditional, err := ifMatch(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	old, err := k.repo(a.store).Get(ctx, name)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, a.storeError(ctx, err, k.singular+" "+strconv.Quote(name)))
		return
	}
	if conditional && (!exists || want != store.AnyVersion && want != old.Version) {
		a.fail(w, r, errPrecondition(k.singular, name))
		return
	}
	if k.prepare != nil {
		var prev *T
		if exists {
			prev = &old.Value
		}
		if ps := k.prepare(&v, prev); len(ps) > 0 {
			a.fail(w, r, invalid(ps, "The %s is not valid.", k.singular))
			return
		}
	}
	if err := checkEntity(a, k, r, v); err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusOK
	var rec store.Record[T]
	if exists {
		rec, err = k.repo(a.store).Update(ctx, v, want)
		if errors.Is(err, store.ErrConflict) {
			err = errPrecondition(k.singular, name)
		}
	} else {
		status = http.StatusCreated
		rec, err = k.repo(a.store).Create(ctx, v)
	}
	if err != nil {
		a.fail(w, r, a.storeErrorKeep(ctx, err, "the "+k.singular+" "+strconv.Quote(name)))
		return
	}
	a.audit(r, k.singular+" updated", "name", name, "version", rec.Version)
	if status == http.StatusCreated {
		w.Header().Set("Location", entityURL(k, name))
	}
	w.Header().Set("ETag", etag(rec.Version))
	writeJSON(w, status, render(k, rec.Value, &rec))
}

// deleteEntity answers DELETE /api/v1/{kind}/{name}. An entity still
// used by another (an upstream a route forwards to) is 409.
func deleteEntity[T any](a *API, k *kindSpec[T], w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	if a.cfg.FileOwned(k.kind, name) {
		a.fail(w, r, errReadOnly(k.singular, name))
		return
	}
	want, conditional, err := ifMatch(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	if _, err := k.repo(a.store).Get(ctx, name); err != nil {
		a.fail(w, r, a.storeError(ctx, err, k.singular+" "+strconv.Quote(name)))
		return
	}
	res, err := a.check(ctx, func(c *config.Config) string { remove(k, c, name); return "" })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(res.problems) > 0 {
		a.fail(w, r, &problemError{
			err: withStatus(codeConflict, http.StatusConflict,
				"The %s %q is still in use; change what uses it first.", k.singular, name),
			problems: bodyProblems(k, res),
		})
		return
	}
	err = a.store.Tx(ctx, func(tx store.Tx) error {
		cur, err := k.repo(tx).Get(ctx, name)
		if err != nil {
			return err
		}
		if conditional && want != store.AnyVersion && cur.Version != want {
			return errPrecondition(k.singular, name)
		}
		return k.repo(tx).Delete(ctx, name)
	})
	if err != nil {
		a.fail(w, r, a.storeErrorKeep(ctx, err, k.singular+" "+strconv.Quote(name)))
		return
	}
	a.audit(r, k.singular+" deleted", "name", name)
	w.WriteHeader(http.StatusNoContent)
}

// checkEntity checks the merged config with v put in, and answers the
// problems found as a 400 naming the fields of the body.
func checkEntity[T any](a *API, k *kindSpec[T], r *http.Request, v T) error {
	res, err := a.check(r.Context(), func(c *config.Config) string { return upsert(k, c, v) })
	if err != nil {
		return err
	}
	if len(res.problems) > 0 {
		ps := bodyProblems(k, res)
		return invalid(ps, "The %s is not valid: %s.", k.singular, countProblems(len(ps)))
	}
	return nil
}

// storeErrorKeep is storeError for errors that may already be the API's
// own answer, which it keeps.
func (a *API) storeErrorKeep(ctx context.Context, err error, what string) error {
	var ge *gwerr.Error
	if errors.As(err, &ge) {
		return err
	}
	return a.storeError(ctx, err, what)
}

// render returns the JSON object answered for an entity: its fields with
// secrets masked, "source" ("file" or "api"), and for stored ones
// "version", "created_at" and "updated_at".
func render[T any](k *kindSpec[T], v T, rec *store.Record[T]) map[string]json.RawMessage {
	if k.show != nil {
		v = k.show(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("admin: encoding a " + k.singular + ": " + err.Error())
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(b, &out); err != nil {
		panic("admin: a " + k.singular + " is not a JSON object: " + err.Error())
	}
	for _, f := range k.omit {
		delete(out, f)
	}
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	if rec == nil {
		out["source"] = raw("file")
		return out
	}
	out["source"] = raw("api")
	out["version"] = raw(rec.Version)
	out["created_at"] = raw(rec.Created.UTC().Format(time.RFC3339Nano))
	out["updated_at"] = raw(rec.Updated.UTC().Format(time.RFC3339Nano))
	return out
}

// fileItems returns the entities of kind k the config file declares,
// ordered by name.
func fileItems[T any](a *API, k *kindSpec[T]) []T {
	var out []T
	for _, v := range k.items(a.cfg.Current()) {
		if a.cfg.FileOwned(k.kind, k.name(&v)) {
			out = append(out, v)
		}
	}
	sortByName(k, out)
	return out
}

// fileItem returns the entity called name when the config file declares
// it.
func fileItem[T any](a *API, k *kindSpec[T], name string) (T, bool) {
	var zero T
	if !a.cfg.FileOwned(k.kind, name) {
		return zero, false
	}
	items := k.items(a.cfg.Current())
	if i := findItem(k, items, name); i >= 0 {
		return items[i], true
	}
	return zero, false
}

// parsePage reads offset and size.
func parsePage(q url.Values) (store.Page, error) {
	p := store.Page{Size: defaultPageSize}
	var ps []problem
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			ps = append(ps, newProblem("offset", "must be a whole number, 0 or more"))
		}
		p.Offset = n
	}
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			ps = append(ps, newProblem("size", "must be a whole number from 1 to %d", maxPageSize))
		}
		p.Size = n
	}
	if len(ps) > 0 {
		return p, invalid(ps, "Invalid query parameters.")
	}
	return p, nil
}

// ifMatch reads If-Match: a version (quoted, as ETag sends it, or not) or
// "*". It reports whether the header was sent.
func ifMatch(r *http.Request) (uint64, bool, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, false, nil
	}
	if h == "*" {
		return store.AnyVersion, true, nil
	}
	n, err := strconv.ParseUint(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || n == 0 {
		return 0, false, invalid([]problem{{Path: "If-Match", Message: `must be a version as the ETag header gives it, like "3", or *`}},
			"Invalid If-Match header.")
	}
	return n, true, nil
}

// etag formats a version as an ETag.
func etag(version uint64) string { return `"` + strconv.FormatUint(version, 10) + `"` }

func errPrecondition(singular, name string) error {
	return withStatus(codePrecondition, http.StatusPreconditionFailed,
		"The %s %q is not at the version If-Match names; read it again and retry.", singular, name)
}

// entityURL returns the API path of one entity.
func entityURL[T any](k *kindSpec[T], name string) string {
	return "/api/v1/" + string(k.kind) + "/" + url.PathEscape(name)
}
