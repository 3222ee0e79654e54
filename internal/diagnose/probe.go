package diagnose

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/sluicegw/sluice/internal/config"
)

// TargetReport is one target of the route's upstream and what reaching
// it directly from here found.
type TargetReport struct {
	// URL is the target as configured; Address is the host:port dialled.
	URL     string `json:"url"`
	Address string `json:"address"`
	Weight  int    `json:"weight"`
	// DNS is nil when the target is an IP address; TLS is nil for http
	// targets; a step after a failed one is nil.
	DNS     *ProbeStep `json:"dns,omitempty"`
	Connect *ProbeStep `json:"connect,omitempty"`
	TLS     *ProbeStep `json:"tls,omitempty"`
	HTTP    *ProbeStep `json:"http,omitempty"`
	// Health is the gateway's view of the target; nil when unknown.
	Health *TargetHealth `json:"health,omitempty"`
}

// ProbeStep is one step of reaching a target directly.
type ProbeStep struct {
	OK bool `json:"ok"`
	// Code is the CONTRACT §3 code the gateway would give the failure
	// (upstream_connect_failed…), or target_unhealthy /
	// upstream_error_status for an HTTP answer the gateway would hold
	// against the target; "" when OK.
	Code string `json:"code,omitempty"`
	// Detail is the addresses found, the status line, or the error.
	Detail     string  `json:"detail"`
	DurationMS float64 `json:"duration_ms"`
	// Method, Path and Status are set for the HTTP step.
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
	Status int    `json:"status,omitempty"`
}

// TargetHealth is a target's state from GET /upstreams/{name}/health.
type TargetHealth struct {
	State               string    `json:"state"`
	LastCheck           time.Time `json:"last_check,omitzero"`
	LastError           string    `json:"last_error,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	ProbeFailures       int       `json:"probe_failures"`
}

// failed returns the first failed step, or nil.
func (t *TargetReport) failed() *ProbeStep {
	for _, s := range []*ProbeStep{t.DNS, t.Connect, t.TLS, t.HTTP} {
		if s != nil && !s.OK {
			return s
		}
	}
	return nil
}

// probeStep reaches every target of up directly (step 2).
func (d *run) probeStep(ctx context.Context, rc *config.Route, up *config.Upstream) {
	d.progress("[2/6] upstream %s: %d %s (connect timeout %s, read timeout %s)", up.Name, len(up.Targets),
		plural(len(up.Targets), "target", "targets"), up.Timeouts.Connect.D(), up.Timeouts.Read.D())
	method, path := d.probeRequest(rc, up)
	for _, t := range up.Targets {
		tr := d.probeTarget(ctx, rc, up, t, method, path)
		d.rep.Targets = append(d.rep.Targets, tr)
		var parts []string
		for _, s := range []struct {
			name string
			st   *ProbeStep
		}{{"dns", tr.DNS}, {"tcp", tr.Connect}, {"tls", tr.TLS}, {method + " " + path, tr.HTTP}} {
			if s.st != nil {
				parts = append(parts, fmt.Sprintf("%s %s (%s)", s.name, s.st.Detail, ms(s.st.DurationMS)))
			}
		}
		d.progress("      %s: %s", t.URL, strings.Join(parts, ", "))
	}
}

// probeRequest is the method and path of the direct HTTP request: the
// active health check's path when there is one, else the path the
// gateway would forward. It is a GET (a HEAD when HEAD is diagnosed):
// diagnose never sends a method that may change something.
func (d *run) probeRequest(rc *config.Route, up *config.Upstream) (method, path string) {
	method = http.MethodGet
	if d.o.Method == http.MethodHead {
		method = http.MethodHead
	}
	if a := up.HealthCheck.Active; a != nil {
		return http.MethodGet, a.Path
	}
	if d.rep.Route != nil && d.rep.Route.ForwardPath != "" {
		return method, d.rep.Route.ForwardPath
	}
	if rc.StripPath {
		return method, "/"
	}
	for _, p := range rc.Match.Paths {
		switch {
		case strings.HasPrefix(p, "="):
			return method, p[1:]
		case strings.HasPrefix(p, "/"):
			return method, p
		}
	}
	return method, "/"
}

// probeTarget runs DNS, TCP, TLS and HTTP against one target, stopping at
// the first step that fails.
func (d *run) probeTarget(ctx context.Context, rc *config.Route, up *config.Upstream, t config.Target, method, path string) TargetReport {
	tr := TargetReport{URL: t.URL, Weight: t.Weight}
	u, err := url.Parse(t.URL)
	if err != nil {
		tr.Connect = &ProbeStep{Code: "upstream_connect_failed", Detail: "the target URL does not parse: " + err.Error()}
		return tr
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"https": "443"}[u.Scheme]
		if port == "" {
			port = "80"
		}
	}
	tr.Address = net.JoinHostPort(host, port)
	connectTimeout := up.Timeouts.Connect.D()

	if net.ParseIP(host) == nil {
		start := time.Now()
		dctx, cancel := context.WithTimeout(ctx, max(connectTimeout, 2*time.Second))
		addrs, err := net.DefaultResolver.LookupHost(dctx, host)
		cancel()
		tr.DNS = &ProbeStep{OK: err == nil, DurationMS: since(start)}
		if err != nil {
			tr.DNS.Code = "upstream_dns_failed"
			tr.DNS.Detail = dnsFailure(host, err)
			return tr
		}
		tr.DNS.Detail = strings.Join(addrs, " ")
	}

	start := time.Now()
	dialer := net.Dialer{Timeout: connectTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", tr.Address)
	tr.Connect = &ProbeStep{OK: err == nil, DurationMS: since(start), Detail: "connected"}
	if err != nil {
		tr.Connect.Code, tr.Connect.Detail = dialFailure(err, connectTimeout)
		return tr
	}
	defer conn.Close()

	if u.Scheme == "https" {
		tc, detail := tlsConfig(up, host)
		start := time.Now()
		conn.SetDeadline(start.Add(connectTimeout))
		tconn := tls.Client(conn, tc)
		err := tconn.HandshakeContext(ctx)
		tr.TLS = &ProbeStep{OK: err == nil, DurationMS: since(start)}
		if err != nil {
			tr.TLS.Code, tr.TLS.Detail = "upstream_tls_failed", "handshake failed: "+err.Error()
			if isTimeout(err) {
				tr.TLS.Code, tr.TLS.Detail = "upstream_connect_timeout", fmt.Sprintf("no TLS handshake within the connect timeout (%s)", connectTimeout)
			}
			if detail != "" {
				tr.TLS.Detail += " (" + detail + ")"
			}
			return tr
		}
		tr.TLS.Detail = describeTLS(tconn.ConnectionState())
		conn = tconn
	}

	tr.HTTP = d.probeHTTP(conn, rc, up, u.Host, method, path)
	return tr
}

// probeHTTP sends one request over conn and reads the response head.
func (d *run) probeHTTP(conn net.Conn, rc *config.Route, up *config.Upstream, targetHost, method, path string) *ProbeStep {
	st := &ProbeStep{Method: method, Path: path}
	req, err := http.NewRequest(method, "http://"+targetHost+path, nil)
	if err != nil {
		st.Code, st.Detail = "upstream_bad_response", "cannot build the request: "+err.Error()
		return st
	}
	req.URL.Opaque = path // sent as is: it is already the gateway's canonical form
	req.Host = targetHost
	if rc.PreserveHost && d.rep.Host != "" {
		req.Host = d.rep.Host
	}
	req.Header.Set("User-Agent", "sluice-diagnose")
	req.Close = true
	start := time.Now()
	conn.SetDeadline(start.Add(d.o.ProbeTimeout))
	resp, err := writeAndRead(conn, req)
	st.DurationMS = since(start)
	if err != nil {
		switch {
		case isTimeout(err):
			st.Code, st.Detail = "upstream_timeout", fmt.Sprintf("no response head within %s", d.o.ProbeTimeout)
		case isConnReset(err):
			st.Code, st.Detail = "upstream_reset", "the target closed the connection before a response head: "+err.Error()
		default:
			st.Code, st.Detail = "upstream_bad_response", "the answer is not HTTP/1.x: "+err.Error()
		}
		return st
	}
	resp.Body.Close()
	st.Status = resp.StatusCode
	st.Detail = resp.Status
	st.OK = true
	if a := up.HealthCheck.Active; a != nil {
		if !healthyStatus(a, resp.StatusCode) {
			st.OK, st.Code = false, "target_unhealthy"
		}
	} else if resp.StatusCode >= 500 {
		st.OK, st.Code = false, "upstream_error_status"
	}
	return st
}

// writeAndRead writes req to conn and reads the response head.
func writeAndRead(conn net.Conn, req *http.Request) (*http.Response, error) {
	if err := req.Write(conn); err != nil {
		return nil, err
	}
	return http.ReadResponse(bufio.NewReader(conn), req)
}

// healthyStatus reports whether the active check counts status as healthy.
func healthyStatus(a *config.ActiveCheck, status int) bool {
	if len(a.Statuses) == 0 {
		return status >= 200 && status < 400
	}
	for _, s := range a.Statuses {
		if s == status {
			return true
		}
	}
	return false
}

// tlsConfig is the TLS client config the gateway uses towards up's
// targets, with a note when the CA file cannot be read from here.
func tlsConfig(up *config.Upstream, host string) (*tls.Config, string) {
	tc := &tls.Config{ServerName: host, NextProtos: []string{"http/1.1"}}
	if up.TLS == nil {
		return tc, ""
	}
	if up.TLS.ServerName != "" {
		tc.ServerName = up.TLS.ServerName
	}
	tc.InsecureSkipVerify = up.TLS.InsecureSkipVerify //nolint:gosec // mirrors the upstream's explicit setting
	if up.TLS.CAFile == "" {
		return tc, ""
	}
	pem, err := os.ReadFile(up.TLS.CAFile)
	if err != nil {
		return tc, fmt.Sprintf("tls.ca_file %s is not readable from here, so the system roots were used", up.TLS.CAFile)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return tc, fmt.Sprintf("tls.ca_file %s holds no PEM certificate", up.TLS.CAFile)
	}
	tc.RootCAs = pool
	return tc, ""
}

// describeTLS summarises an established TLS connection.
func describeTLS(cs tls.ConnectionState) string {
	s := tls.VersionName(cs.Version)
	if len(cs.PeerCertificates) > 0 {
		c := cs.PeerCertificates[0]
		s += fmt.Sprintf(", certificate %q valid until %s", c.Subject.CommonName, c.NotAfter.UTC().Format("2006-01-02"))
	}
	return s
}

// dnsFailure describes a failed lookup.
func dnsFailure(host string, err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			return fmt.Sprintf("host name %s does not resolve (no such host)", host)
		case de.IsTimeout:
			return fmt.Sprintf("the lookup of %s timed out", host)
		}
	}
	return fmt.Sprintf("the lookup of %s failed: %v", host, err)
}

// dialFailure classifies a failed TCP connect as the gateway does.
func dialFailure(err error, timeout time.Duration) (code, detail string) {
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && !de.IsTimeout:
		return "upstream_dns_failed", "the host name does not resolve: " + err.Error()
	case isTimeout(err):
		return "upstream_connect_timeout", fmt.Sprintf("no connection within the connect timeout (%s)", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "upstream_connect_failed", "connection refused"
	}
	return "upstream_connect_failed", "unreachable: " + err.Error()
}

// isTimeout reports whether err is a deadline expiry of any kind.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isConnReset reports whether err is the peer closing or resetting the
// connection.
func isConnReset(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// since is the time since start in milliseconds.
func since(start time.Time) float64 {
	return float64(time.Since(start).Microseconds()) / 1000
}

// ms formats milliseconds for people.
func ms(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.1fms", v)
	case v < 10000:
		return fmt.Sprintf("%.0fms", v)
	}
	return fmt.Sprintf("%.1fs", v/1000)
}
