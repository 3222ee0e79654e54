package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/store"
)

// Error codes of the admin API beyond gwerr's. Like gwerr's, they are
// stable: clients may branch on them.
const (
	// codeNotFound: the entity, credential, user or token does not exist.
	codeNotFound gwerr.Code = "not_found"
	// codeConflict: the name or credential is taken, or the entity is still
	// used by another.
	codeConflict gwerr.Code = "conflict"
	// codeReadOnly: the entity is declared in the config file.
	codeReadOnly gwerr.Code = "read_only"
	// codePrecondition: If-Match named another version than the stored one.
	codePrecondition gwerr.Code = "precondition_failed"
)

// problem is one thing wrong with what a request sent.
type problem struct {
	// Path locates the value in the request body: JSON field names joined
	// by dots, list indexes in brackets ("match.paths[0]"); for an
	// imported document, its YAML path ("routes[2].upstream"). "" when the
	// problem is about the whole body or lies outside it.
	Path string `json:"path"`
	// Field is Path's first field name ("match"), for a form to show the
	// problem on; "" when Path is "" or starts with an index.
	Field string `json:"field,omitempty"`
	// Line is the line of an imported document the value is on.
	Line int `json:"line,omitempty"`
	// ConfigPath locates a problem found in the merged config that lies
	// outside the request body, such as the route still using an upstream
	// being deleted.
	ConfigPath string `json:"config_path,omitempty"`
	Message    string `json:"message"`
}

// newProblem returns a problem at path within the request body.
func newProblem(path, format string, args ...any) problem {
	return problem{Path: path, Field: firstField(path), Message: fmt.Sprintf(format, args...)}
}

// firstField returns the first field name of a path: "match" for
// "match.paths[0]", "headers" for `headers["X-Key"]`.
func firstField(path string) string {
	for i := 0; i < len(path); i++ {
		if path[i] == '.' || path[i] == '[' {
			return path[:i]
		}
	}
	return path
}

// problemError is an error answered with a list of problems.
type problemError struct {
	err      *gwerr.Error
	problems []problem
}

func (e *problemError) Error() string { return e.err.Error() }
func (e *problemError) Unwrap() error { return e.err }

// invalid returns a 400 listing problems, with detail as its summary.
func invalid(problems []problem, format string, args ...any) error {
	return &problemError{err: gwerr.Newf(gwerr.BadRequest, nil, format, args...), problems: problems}
}

// withStatus returns an error of code with status and a public detail.
func withStatus(code gwerr.Code, status int, format string, args ...any) *gwerr.Error {
	e := gwerr.Newf(code, nil, format, args...)
	e.Status = status
	return e
}

func errNotFound(format string, args ...any) error {
	return withStatus(codeNotFound, http.StatusNotFound, format, args...)
}

func errConflict(format string, args ...any) error {
	return withStatus(codeConflict, http.StatusConflict, format, args...)
}

func errBadRequest(format string, args ...any) error {
	return gwerr.Newf(gwerr.BadRequest, nil, format, args...)
}

// errReadOnly is the answer to a write to an entity of the config file.
func errReadOnly(singular, name string) error {
	return withStatus(codeReadOnly, http.StatusConflict,
		"The %s %q is declared in the config file, so it is read-only through the API; change it in the file.", singular, name)
}

// storeError turns a store failure into the API's answer: not found,
// conflict and invalid keep their meaning, a database that does not
// answer is 503, and anything else is a 500 whose cause is logged.
func (a *API) storeError(ctx context.Context, err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNotFound("%s does not exist.", what)
	case errors.Is(err, store.ErrConflict):
		return errConflict("%s already exists or was changed concurrently.", what)
	case errors.Is(err, store.ErrInvalid):
		return gwerr.Newf(gwerr.BadRequest, err, "The store refused %s; see the problems of the request.", what)
	case errors.Is(err, context.Canceled):
		return gwerr.New(gwerr.ClientClosed, err)
	}
	if a.store.Ping(ctx) != nil {
		return gwerr.New(gwerr.StoreUnavailable, err)
	}
	return gwerr.New(gwerr.Internal, err)
}

// problemBody is the problem+json document, gwerr's shape plus problems.
type problemBody struct {
	Type      string    `json:"type"`
	Title     string    `json:"title"`
	Status    int       `json:"status"`
	Code      string    `json:"code"`
	Detail    string    `json:"detail"`
	RequestID string    `json:"request_id"`
	Problems  []problem `json:"problems,omitempty"`
}

// fail answers err as application/problem+json. Causes of server errors
// are logged with the request id; the public detail never carries them.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var pe *problemError
	var problems []problem
	ge := gwerr.As(err)
	if errors.As(err, &pe) {
		ge, problems = pe.err, pe.problems
	}
	status := ge.Status
	if status == 0 {
		status = ge.Code.Status()
	}
	id := requestID(r.Context())
	if status >= 500 && ge.Code != gwerr.ClientClosed {
		a.log.Error("admin: request failed", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"code", string(ge.Code), "error", fmt.Sprint(ge.Cause))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice-admin"`)
	}
	body, _ := json.Marshal(problemBody{
		Type: "about:blank", Title: http.StatusText(status), Status: status, Code: string(ge.Code),
		Detail: ge.Detail, RequestID: id, Problems: problems,
	})
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Sluice-Error", string(ge.Code))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Every value answered is built from plain data; this is a bug.
		panic("admin: encoding a response: " + err.Error())
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

type requestIDKey struct{}

// newRequestID returns a random request id of 32 hex digits.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestID returns the id wrap gave the request.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// isNotFound reports whether err is the store's not found.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
