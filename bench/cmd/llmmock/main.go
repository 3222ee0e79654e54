// Command llmmock serves the fast mock LLM provider of bench/llmmock on
// one address, for load tests of AI gateways (bench/ai.sh): OpenAI Chat
// Completions under any path ending in /chat/completions and Anthropic
// Messages under any path ending in /messages.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sluicegw/sluice/bench/llmmock"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18501", "address to listen on")
	chunks := flag.Int("chunks", 20, "text deltas in a streamed answer")
	flushEach := flag.Bool("flush-each", true, "flush every stream event on its own")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: llmmock.New(llmmock.Config{Chunks: *chunks, FlushEach: *flushEach}), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	log.Printf("llmmock listening on %s (%d chunks a stream)", ln.Addr(), *chunks)
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
