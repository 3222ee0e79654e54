// Command call-with-header calls an API through sluice with extra request
// headers, using the sluice client so that failures on the way (a refused
// connection, a 502, 503, 504 or 429) are retried within a deadline.
//
//	go run ./examples/call-with-header -url http://localhost:8080/demo/healthz \
//	    -H 'X-Api-Version: 2' -H 'x-api-key: demo-key'
//
// It prints the status, the request id and the body. It exits 1 when the
// call fails or answers a non-2xx status, 2 on bad arguments.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sluicegw/sluice/client"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// headers collects repeated -H "Name: value" flags.
type headers http.Header

func (h headers) String() string { return fmt.Sprint(http.Header(h)) }

func (h headers) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return errors.New(`want "Name: value"`)
	}
	http.Header(h).Add(strings.TrimSpace(name), strings.TrimSpace(value))
	return nil
}

// run is the whole program; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("call-with-header", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://localhost:8080/demo/healthz", "URL to GET, through sluice")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline for the whole call, retries included")
	hdr := headers{}
	fs.Var(hdr, "H", `extra request header "Name: value" (repeatable)`)
	if err := fs.Parse(args); err != nil {
		return 2
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	for name, values := range hdr {
		req.Header[name] = values
	}

	c := client.New(client.WithAttemptTimeout(5 * time.Second))
	resp, err := c.Do(req)
	if err == nil {
		err = client.CheckResponse(resp)
	}
	if err != nil {
		fmt.Fprintln(stderr, "call failed:", err)
		return 1
	}
	defer resp.Body.Close()
	fmt.Fprintf(stdout, "status: %d\nrequest id: %s\n\n", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		fmt.Fprintln(stderr, "reading the body:", err)
		return 1
	}
	return 0
}
