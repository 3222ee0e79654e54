package app

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
)

// rawUpstream answers every request with a fixed 1 KiB response, parsing
// only what it must, so the benchmark measures the gateway, not the peer.
func rawUpstream(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1024\r\n\r\n" + strings.Repeat("x", 1024))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReaderSize(c, 8192)
				for {
					if err := skipHead(br); err != nil {
						return
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// skipHead consumes one request or response head.
func skipHead(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			return nil
		}
	}
}

// rawClient sends pre-built keep-alive requests and reads the responses.
type rawClient struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
}

func (rc *rawClient) do() error {
	if _, err := rc.c.Write(rc.req); err != nil {
		return err
	}
	length := -1
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 {
		return io.ErrUnexpectedEOF
	}
	_, err := rc.br.Discard(length)
	return err
}

func benchGateway(b *testing.B, extra string) string {
	b.Helper()
	return startBenchGateway(b, oneTarget(extra, rawUpstream(b)))
}

// startBenchGateway starts a node for a benchmark and returns its address.
func startBenchGateway(b *testing.B, body string) string {
	b.Helper()
	dir := b.TempDir()
	path := dir + "/sluice.yaml"
	if err := writeFile(path, withServer("log: { access: \"off\" }\n"+body)); err != nil {
		b.Fatal(err)
	}
	a, err := New(Options{ConfigPath: path, DataDir: dir + "/data", Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Shutdown(b.Context()) })
	return a.ProxyAddr()
}

func newRawClient(b *testing.B, addr string) *rawClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return &rawClient{c: c, br: bufio.NewReaderSize(c, 16<<10),
		req: []byte("GET /bench/path?q=1 HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")}
}

// BenchmarkProxy1KiB measures one keep-alive request through the gateway
// to an upstream answering 1 KiB, sequentially (latency) and in parallel
// (throughput). allocs/op counts the whole process; the raw client and
// upstream allocate nothing per request, so it is the gateway's.
func BenchmarkProxy1KiB(b *testing.B) {
	addr := benchGateway(b, "")
	b.Run("serial", func(b *testing.B) {
		rc := newRawClient(b, addr)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := rc.do(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			rc := newRawClient(b, addr)
			for pb.Next() {
				if err := rc.do(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
