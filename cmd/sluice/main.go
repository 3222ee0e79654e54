// Command sluice is the sluice API and AI gateway. See CONTRACT §1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/sluicegw/sluice/internal/app"
	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/gcfloor"
	"github.com/sluicegw/sluice/internal/snapshot"
	"github.com/sluicegw/sluice/internal/upstream"
)

// version and commit are set at build time with -ldflags -X.
var (
	version = "dev"
	commit  = ""
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `sluice: an API and AI gateway

usage:
  sluice serve [--config FILE] [--data DIR]   run the gateway
  sluice config validate FILE                 check a config file
  sluice diagnose [flags] URL|ROUTE           find why requests fail (the 502 doctor)
  sluice version                              print version information
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "config":
		if len(args) == 3 && args[1] == "validate" {
			return validate(args[2], stdout, stderr)
		}
		fmt.Fprint(stderr, "usage: sluice config validate FILE\n")
		return 2
	case "diagnose":
		return diagnoseCmd(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "sluice %s (commit %s, %s %s/%s)\n", version, buildCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func buildCommit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
	}
	return "unknown"
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file (default ./sluice.yaml when present)")
	dataDir := fs.String("data", "sluice-data", "data directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cfgPath == "" {
		if _, err := os.Stat("sluice.yaml"); err == nil {
			*cfgPath = "sluice.yaml"
		}
	}
	gcfloor.Set(gcfloor.DefaultFloor)
	a, err := app.New(app.Options{ConfigPath: *cfgPath, DataDir: *dataDir, Stdout: stdout, Stderr: stderr, Version: version})
	if err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 1
	}
	// Signals are caught before the listeners open: a SIGTERM right after
	// start must drain, not kill.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	if err := a.Start(); err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "sluice %s: proxy on %s, admin on http://%s\n", version, a.ProxyAddr(), a.AdminAddr())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := a.WatchConfig(ctx); err != nil {
		fmt.Fprintf(stderr, "sluice: not watching the config file: %v\n", err)
	}
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			a.Reload()
			continue
		}
		break
	}
	signal.Reset(syscall.SIGTERM, syscall.SIGINT)
	sctx, scancel := context.WithTimeout(context.Background(), a.Current().Server.ShutdownTimeout.D())
	defer scancel()
	if err := a.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(stderr, "sluice: shutdown: %v\n", err)
	}
	return 0
}

// validate checks a config file fully: parsing, validation, and the
// snapshot build (route compilation, upstream targets), without starting
// anything.
func validate(path string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(path)
	if err != nil {
		var probs config.Problems
		if errors.As(err, &probs) {
			fmt.Fprintln(stderr, probs.Error())
		} else {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
		}
		return 1
	}
	reg := upstream.NewRegistry(nil)
	defer reg.Close()
	if _, err := snapshot.Build(cfg, reg, 0, snapshot.Options{}); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return 0
}
