package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Benchmarks serve the same trivial handler with this engine and with
// net/http over loopback keep-alive connections. The client is a raw
// connection writing pre-built requests and parsing responses without
// allocating, so allocs/op is the server's cost. ns/op includes the
// client and the loopback system calls; the pipelined cases amortise those
// and show more of the server's own time.
//
//	go test -run '^$' -bench . -benchtime 20000x ./internal/h1/

var benchRequests = []struct {
	name string
	raw  string
}{
	{"get", "GET /v1/orders/12345?expand=items HTTP/1.1\r\nHost: api.example.com\r\n" +
		"User-Agent: bench/1.0\r\nAccept: application/json\r\nAccept-Encoding: gzip\r\n" +
		"Authorization: Bearer abcdefghijklmnopqrstuvwxyz\r\nX-Request-Id: 4bf92f3577b34da6a3ce929d0e0e4736\r\n\r\n"},
	{"post", "POST /v1/orders HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: bench/1.0\r\n" +
		"Content-Type: application/json\r\nContent-Length: 128\r\n\r\n" + strings.Repeat("x", 128)},
}

func benchHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		io.Copy(io.Discard, r.Body)
	}
	io.WriteString(w, "Hello, World!")
}

func BenchmarkServe(b *testing.B) {
	servers := []struct {
		name  string
		start func(b *testing.B, ln net.Listener)
	}{
		{"h1", func(b *testing.B, ln net.Listener) {
			s := &Server{Handler: http.HandlerFunc(benchHandler), Logger: slog.New(slog.DiscardHandler)}
			go s.Serve(ln)
			b.Cleanup(func() { s.Close() })
		}},
		{"nethttp", func(b *testing.B, ln net.Listener) {
			s := &http.Server{Handler: http.HandlerFunc(benchHandler)}
			go s.Serve(ln)
			b.Cleanup(func() { s.Close() })
		}},
	}
	for _, depth := range []int{1, 16} {
		for _, req := range benchRequests {
			for _, srv := range servers {
				name := srv.name + "/" + req.name
				if depth > 1 {
					name += "/pipelined" + strconv.Itoa(depth)
				}
				b.Run(name, func(b *testing.B) {
					ln, err := net.Listen("tcp", "127.0.0.1:0")
					if err != nil {
						b.Fatal(err)
					}
					srv.start(b, ln)
					nc, err := net.Dial("tcp", ln.Addr().String())
					if err != nil {
						b.Fatal(err)
					}
					defer nc.Close()
					br := bufio.NewReaderSize(nc, 64<<10)
					batch := []byte(strings.Repeat(req.raw, depth))
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i += depth {
						if _, err := nc.Write(batch); err != nil {
							b.Fatal(err)
						}
						for range depth {
							if err := discardResponse(br); err != nil {
								b.Fatal(err)
							}
						}
					}
				})
			}
		}
	}
}

// discardResponse reads one response with a Content-Length body.
func discardResponse(br *bufio.Reader) error {
	status, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
		return errors.New("unexpected status line " + string(status))
	}
	n := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			n = 0
			for _, c := range bytes.TrimSpace(v) {
				n = n*10 + int(c-'0')
			}
		}
	}
	if n < 0 {
		return errors.New("response without Content-Length")
	}
	_, err = br.Discard(n)
	return err
}
