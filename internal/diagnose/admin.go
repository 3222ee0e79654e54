package diagnose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sluicegw/sluice/internal/config"
)

// adminClient reads from a running gateway's admin API.
type adminClient struct {
	base   string // scheme://host:port, no trailing slash
	token  string
	client *http.Client
}

// newAdminClient checks the admin URL and returns a client for it.
func newAdminClient(raw, token string, c *http.Client) (*adminClient, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = "http://127.0.0.1:8081"
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, cannotRun("--admin %q is not an http(s) URL of the admin listener", raw)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v1")
	u.RawQuery, u.Fragment, u.User = "", "", nil
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	return &adminClient{base: strings.TrimSuffix(u.String(), "/"), token: token, client: c}, nil
}

// adminError is a non-2xx answer of the admin API.
type adminError struct {
	status int
	code   string
	detail string
}

func (e *adminError) Error() string {
	s := fmt.Sprintf("%d %s", e.status, http.StatusText(e.status))
	if e.code != "" {
		s += " (" + e.code + ")"
	}
	if e.detail != "" {
		s += ": " + e.detail
	}
	return s
}

// storeWait is how long get waits for an admin API that answers 503
// store_unavailable (a node that is still opening its database).
const storeWait = 5 * time.Second

// get fetches path (under /api/v1) and returns the body of a 2xx answer.
// An unreachable gateway and a 401 are ErrCannotRun errors; other
// answers are *adminError.
func (a *adminClient) get(ctx context.Context, path string) ([]byte, error) {
	deadline := time.Now().Add(storeWait)
	for {
		body, err := a.getOnce(ctx, path)
		var ae *adminError
		if errors.As(err, &ae) && ae.status == http.StatusServiceUnavailable && ae.code == "store_unavailable" && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		return body, err
	}
}

func (a *adminClient) getOnce(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/api/v1"+path, nil)
	if err != nil {
		return nil, cannotRun("%v", err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, cannotRun("the gateway's admin API at %s is unreachable: %v (set --admin or SLUICE_ADMIN_URL)", a.base, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, cannotRun("reading the admin API's answer to %s: %v", path, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		if a.token == "" {
			return nil, cannotRun("the admin API at %s needs a token: pass --token or set SLUICE_ADMIN_TOKEN", a.base)
		}
		return nil, cannotRun("the admin API at %s refused the token (401): check --token or SLUICE_ADMIN_TOKEN", a.base)
	}
	if resp.StatusCode/100 != 2 {
		ae := &adminError{status: resp.StatusCode}
		var p struct{ Code, Detail string }
		if json.Unmarshal(body, &p) == nil {
			ae.code, ae.detail = p.Code, p.Detail
		}
		return nil, ae
	}
	return body, nil
}

// unwrapURLError drops the "Get URL:" prefix net/http puts on errors.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// config fetches the merged config (secrets masked) and parses it with
// the gateway's own config package. Only the sections that routing and
// forwarding depend on are kept: masked credentials would collide.
func (a *adminClient) config(ctx context.Context) (*config.Config, error) {
	body, err := a.get(ctx, "/config")
	if err != nil {
		if ae, ok := errors.AsType[*adminError](err); ok {
			return nil, cannotRun("the admin API at %s did not give its config: %v", a.base, ae)
		}
		return nil, err
	}
	data, err := routingSections(body)
	if err != nil {
		return nil, cannotRun("the config the admin API gave is not YAML: %v", err)
	}
	cfg, err := config.Parse("admin-api-config.yaml", data)
	if err != nil {
		return nil, cannotRun("the config the admin API gave does not parse: %v", err)
	}
	return cfg, nil
}

// keptSections are the top-level config keys diagnose reads.
var keptSections = map[string]bool{"upstreams": true, "routes": true, "ai": true, "plugins": true, "log": true}

// routingSections reduces an exported config document to keptSections,
// with every "${" in a string escaped as "$${" (the export holds values,
// which must not be expanded again).
func routingSections(doc []byte) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	if len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		m := root.Content[0]
		kept := m.Content[:0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if keptSections[m.Content[i].Value] {
				kept = append(kept, m.Content[i], m.Content[i+1])
			}
		}
		m.Content = kept
	}
	escapeEnv(&root)
	return yaml.Marshal(&root)
}

// escapeEnv escapes "${" in every string scalar below n.
func escapeEnv(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = strings.ReplaceAll(n.Value, "${", "$${")
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		escapeEnv(c)
	}
}

// healthTarget is one target in GET /api/v1/upstreams/{name}/health.
type healthTarget struct {
	URL                 string    `json:"url"`
	State               string    `json:"state"`
	Weight              int       `json:"weight"`
	LastCheck           time.Time `json:"last_check"`
	LastError           string    `json:"last_error"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	ProbeFailures       int       `json:"probe_failures"`
}

// health fetches an upstream's health as the gateway sees it.
func (a *adminClient) health(ctx context.Context, upstream string) ([]healthTarget, error) {
	body, err := a.get(ctx, "/upstreams/"+url.PathEscape(upstream)+"/health")
	if err != nil {
		return nil, err
	}
	var h struct {
		Targets []healthTarget `json:"targets"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return nil, fmt.Errorf("the health answer is not JSON: %w", err)
	}
	return h.Targets, nil
}

// logAttempt is one attempt of a request log entry.
type logAttempt struct {
	Target     string  `json:"target"`
	Status     int     `json:"status"`
	Code       string  `json:"code"`
	Error      string  `json:"error"`
	DurationMS float64 `json:"duration_ms"`
}

// logEntry is one entry of GET /api/v1/logs.
type logEntry struct {
	Time       time.Time    `json:"time"`
	RequestID  string       `json:"request_id"`
	Route      string       `json:"route"`
	Method     string       `json:"method"`
	Path       string       `json:"path"`
	Status     int          `json:"status"`
	Code       string       `json:"code"`
	Attempts   []logAttempt `json:"attempts"`
	UpstreamMS float64      `json:"upstream_ms"`
}

// logs fetches the route's request log entries of the last since, newest
// first, at most limit.
func (a *adminClient) logs(ctx context.Context, route string, since time.Duration, limit int) ([]logEntry, error) {
	q := url.Values{"route": {route}, "since": {since.String()}, "limit": {strconv.Itoa(limit)}}
	body, err := a.get(ctx, "/logs?"+q.Encode())
	if err != nil {
		return nil, err
	}
	var l struct {
		Data []logEntry `json:"data"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("the request log answer is not JSON: %w", err)
	}
	return l.Data, nil
}
