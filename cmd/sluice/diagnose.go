package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/diagnose"
)

// headerFlag collects repeated --header "Name: value" flags.
type headerFlag struct{ h http.Header }

func (f *headerFlag) String() string { return "" }

func (f *headerFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("%q is not \"Name: value\"", v)
	}
	if f.h == nil {
		f.h = http.Header{}
	}
	f.h.Add(name, strings.TrimSpace(value))
	return nil
}

// diagnoseCmd runs `sluice diagnose` (CONTRACT §7): exit 0 when nothing is
// wrong, 1 when a problem is found, 2 when it cannot run.
func diagnoseCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("diagnose", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: sluice diagnose [flags] URL|PATH|ROUTE\n\n")
		fs.PrintDefaults()
	}
	adminURL := fs.String("admin", "", "admin API base URL (default $SLUICE_ADMIN_URL, else http://127.0.0.1:8081)")
	token := fs.String("token", "", "admin API bearer token (default $SLUICE_ADMIN_TOKEN)")
	method := fs.String("method", "GET", "the request's method")
	var hdr headerFlag
	fs.Var(&hdr, "header", "a request header \"Name: value\" for route matching (repeatable; Host: sets the host)")
	fs.Var(&hdr, "H", "short for --header")
	since := fs.Duration("since", 15*time.Minute, "how far back to read the request log")
	limit := fs.Int("limit", 1000, "most request log entries to read (up to 10000)")
	probeTimeout := fs.Duration("probe-timeout", 10*time.Second, "bound on each direct HTTP request to a target")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")

	// Flags may come before and after the argument.
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	if *adminURL == "" {
		*adminURL = os.Getenv("SLUICE_ADMIN_URL")
	}
	if *token == "" {
		*token = os.Getenv("SLUICE_ADMIN_TOKEN")
	}
	if *limit < 1 || *limit > 10000 {
		fmt.Fprintln(stderr, "sluice diagnose: --limit must be from 1 to 10000")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := diagnose.Run(ctx, diagnose.Options{
		AdminURL: *adminURL, Token: *token, Target: pos[0], Method: *method, Header: hdr.h,
		Since: *since, LogLimit: *limit, ProbeTimeout: *probeTimeout, Progress: stderr,
	})
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), diagnose.ErrCannotRun.Error()+": ")
		fmt.Fprintf(stderr, "sluice diagnose: cannot run: %s\n", msg)
		if *asJSON {
			json.NewEncoder(stdout).Encode(map[string]string{"error": msg})
		}
		return 2
	}
	if *asJSON {
		err = diagnose.WriteJSON(stdout, rep)
	} else {
		err = diagnose.WriteText(stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice diagnose: %v\n", err)
		return 2
	}
	return rep.ExitCode()
}
