// Package termination is the request-termination plugin: it answers every
// request of its scope at the edge with a fixed response, for maintenance
// windows and retired routes. The upstream is never contacted.
//
// Config:
//
//	request-termination:
//	  status: 503                       # default 503; 200..599
//	  message: "Down for maintenance"   # sent as {"message": "..."} (application/json)
//	  # or, instead of message:
//	  body: "<h1>Back soon</h1>"        # sent as is
//	  content_type: "text/html; charset=utf-8"   # with body; default text/plain; charset=utf-8
//
// message and body are mutually exclusive; with neither, the message is the
// status text ("Service Unavailable"). Statuses 204 and 304 are sent
// without a body, so they take neither. The response carries X-Request-Id,
// Server-Timing and Cache-Control: no-store, and passes through the
// response plugins of the route (cors, response-transform), so for example
// a Retry-After can be added with response-transform.
//
// The plugin runs after authentication and the other access plugins, so a
// request that would be refused (401, 403, 429) still is; a consumer may
// have its own termination, for example to switch one client off.
package termination

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sluicegw/sluice/internal/jsonenc"
	"github.com/sluicegw/sluice/internal/plugin"
)

// Name is the plugin's registered name.
const Name = "request-termination"

func init() {
	plugin.Register(plugin.Spec{Name: Name, Phase: plugin.PhaseTermination, New: New})
}

// Config is the plugin's configuration.
type Config struct {
	Status      *int    `json:"status"`
	Message     *string `json:"message"`
	Body        *string `json:"body"`
	ContentType string  `json:"content_type"`
}

// Termination is one configured instance. It is immutable and safe for
// concurrent use.
type Termination struct {
	status int
	body   []byte
	// Header values, shared and read-only.
	contentType, contentLength []string
}

var _ plugin.Access = (*Termination)(nil)

var valNoStore = []string{"no-store"}[:1:1]

// New builds an instance from its raw config.
func New(raw map[string]any, _ plugin.Env) (any, error) {
	var cfg Config
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	t := &Termination{status: http.StatusServiceUnavailable}
	if cfg.Status != nil {
		t.status = *cfg.Status
	}
	if t.status < 200 || t.status > 599 {
		return nil, fmt.Errorf("status: %d is not a final HTTP status (200..599)", t.status)
	}
	bodiless := t.status == http.StatusNoContent || t.status == http.StatusNotModified
	switch {
	case cfg.Message != nil && cfg.Body != nil:
		return nil, errors.New("message and body are mutually exclusive")
	case bodiless && (cfg.Message != nil || cfg.Body != nil):
		return nil, fmt.Errorf("status %d has no body; remove message and body", t.status)
	case cfg.ContentType != "" && cfg.Body == nil:
		return nil, errors.New("content_type applies only with body")
	case bodiless:
	case cfg.Body != nil:
		t.body = []byte(*cfg.Body)
		ct := cfg.ContentType
		if ct == "" {
			ct = "text/plain; charset=utf-8"
		}
		for i := 0; i < len(ct); i++ {
			if ct[i] < ' ' || ct[i] == 0x7f {
				return nil, errors.New("content_type: has control characters")
			}
		}
		t.contentType = []string{ct}[:1:1]
	default:
		msg := http.StatusText(t.status)
		if cfg.Message != nil {
			msg = *cfg.Message
		}
		b := append([]byte(`{"message":`), jsonenc.AppendString(nil, msg)...)
		t.body = append(b, "}\n"...)
		t.contentType = []string{"application/json"}[:1:1]
	}
	if !bodiless {
		t.contentLength = []string{strconv.Itoa(len(t.body))}[:1:1]
	}
	return t, nil
}

// Access answers the request and stops the chain with plugin.ErrHandled.
func (t *Termination) Access(c *plugin.Ctx) error {
	h := c.W.Header()
	c.SetGatewayHeaders()
	h["Cache-Control"] = valNoStore
	if t.contentType != nil {
		h["Content-Type"] = t.contentType
	}
	c.X.Status = t.status
	c.BeforeResponse(t.status, h)
	// Response plugins must not change the framing of the fixed body.
	if t.contentLength != nil {
		h["Content-Length"] = t.contentLength
	} else {
		delete(h, "Content-Length")
	}
	c.W.WriteHeader(t.status)
	if len(t.body) > 0 && c.R.Method != http.MethodHead {
		n, _ := c.W.Write(t.body)
		c.X.BytesOut = int64(n)
	}
	return plugin.ErrHandled
}
