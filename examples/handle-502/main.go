// Command handle-502 shows how a service handles a failure reported by
// sluice: it calls a URL through the gateway with the sluice client and,
// when the call fails after the client's retries, prints the error code,
// the request id and what to do about it.
//
//	go run ./examples/handle-502 -url http://localhost:8080/orders
//
// With the sample sluice.yaml (nothing listens on the orders targets) it
// prints something like:
//
//	GET http://localhost:8080/orders failed: 502 Bad Gateway after 3 attempts
//	code:       upstream_connect_failed
//	request id: 5be1c0d7a3e44b0f9d3b1c1f2a7e8d90
//	detail:     The upstream refused the connection.
//	what to do: the service behind the route refused the connection: ...
//	look up:    curl -H "Authorization: Bearer $SLUICE_ADMIN_TOKEN" 'http://127.0.0.1:8081/api/v1/logs?request_id=...'
//
// It exits 0 when the call succeeds, 1 when it fails, 2 on bad arguments.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/sluicegw/sluice/client"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// advice says what to do about each of sluice's error codes (CONTRACT §3).
var advice = map[string]string{
	"upstream_connect_failed":  "the service behind the route refused the connection: is it running and listening on the port of its target in sluice's upstream config?",
	"upstream_dns_failed":      "the target's host name does not resolve: check the target URL and DNS.",
	"upstream_tls_failed":      "the TLS handshake with the service failed: check the upstream's tls settings (ca_file, server_name) and the service's certificate.",
	"upstream_reset":           "the service closed the connection before answering: look for crashes, and keep-alive timeouts on the service shorter than sluice's.",
	"upstream_bad_response":    "the service answered something that is not HTTP/1.x: is the target really an HTTP server (not HTTPS or gRPC)?",
	"no_healthy_upstream":      "every target is out after failed health checks: look at the targets' health endpoints and the upstream's health_check settings.",
	"upstream_overloaded":      "every target is at max_connections: retry later, or raise capacity.",
	"upstream_connect_timeout": "connecting to the service timed out: check the network path and firewalls.",
	"upstream_timeout":         "the service did not answer within the upstream's read timeout: compare its latency with the timeouts.",
	"rate_limited":             "this caller is over its rate limit: slow down, and wait Retry-After before the next call.",
	"no_route":                 "no route matches this host, path and method: check the URL and the routes' match rules.",
	"unauthorized":             "credentials are missing or wrong: send the consumer's key (x-api-key or Authorization: Bearer).",
	"forbidden":                "an ACL or IP rule denies this caller.",
}

// run is the whole program; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("handle-502", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "http://localhost:8080/orders", "URL to GET, through sluice")
	admin := fs.String("admin", "http://127.0.0.1:8081", "sluice's admin API, for the log look-up hint")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline for the whole call, retries included")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}

	resp, err := client.New().Do(req)
	if err == nil {
		// Statuses the client does not retry (404, 401, 500, …) come back as
		// responses; this program treats every non-2xx as a failure.
		err = client.CheckResponse(resp)
	}
	if err == nil {
		defer resp.Body.Close()
		fmt.Fprintf(stdout, "ok: %d, request id %s\n", resp.StatusCode, resp.Header.Get("X-Request-Id"))
		return 0
	}
	report(stdout, err, *admin)
	return 1
}

// report prints what failed and what to do about it.
func report(w io.Writer, err error, admin string) {
	var e *client.Error
	if !errors.As(err, &e) {
		fmt.Fprintln(w, "failed:", err)
		return
	}
	if e.StatusCode == 0 {
		// No response at all: sluice itself could not be reached.
		fmt.Fprintf(w, "%s %s failed after %d attempts: %v\n", e.Method, e.URL, e.Attempts, e.Err)
		fmt.Fprintln(w, "what to do: sluice did not answer; is the gateway running, and is the URL's host and port its proxy listener?")
		return
	}
	fmt.Fprintf(w, "%s %s failed: %d %s after %d attempts\n", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode), e.Attempts)
	if e.Code == "" {
		// No Sluice-Error: the service behind the gateway answered this itself.
		fmt.Fprintln(w, "what to do: the service itself answered with this status; see its own logs.")
		return
	}
	fmt.Fprintf(w, "code:       %s\n", e.Code)
	fmt.Fprintf(w, "request id: %s\n", e.RequestID)
	if e.Detail != "" {
		fmt.Fprintf(w, "detail:     %s\n", e.Detail)
	}
	if a, ok := advice[e.Code]; ok {
		fmt.Fprintf(w, "what to do: %s\n", a)
	} else {
		fmt.Fprintln(w, "what to do: see docs/errors.md for this code.")
	}
	if e.RequestID != "" {
		fmt.Fprintf(w, "look up:    curl -H \"Authorization: Bearer $SLUICE_ADMIN_TOKEN\" '%s/api/v1/logs?request_id=%s'\n",
			admin, url.QueryEscape(e.RequestID))
	}
}
