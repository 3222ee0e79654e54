package ratelimit_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/ratelimit/redistest"
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

// rawClient sends one pre-built keep-alive request at a time and reads the
// response, failing on any status but 200.
type rawClient struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
}

func newRawClient(b *testing.B, addr string, extraHeader string) *rawClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return &rawClient{c: c, br: bufio.NewReaderSize(c, 16<<10),
		req: []byte("GET /r/bench?q=1 HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench\r\nAccept: */*\r\n" + extraHeader + "\r\n")}
}

var errStatus = io.ErrUnexpectedEOF

func (rc *rawClient) do() error {
	if _, err := rc.c.Write(rc.req); err != nil {
		return err
	}
	line, err := rc.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return errStatus
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
	_, err = rc.br.Discard(length)
	return err
}

// BenchmarkProxyRateLimit measures keep-alive requests through a gateway to
// a 1 KiB upstream with no plugin, with rate-limit on the memory backend
// (one hot key: every request from one IP), with key-auth in front of it,
// and with the Redis backend. Compare the rows' ns/op to plain proxying.
// The limit is never reached, so every request is proxied.
func BenchmarkProxyRateLimit(b *testing.B) {
	up := rawUpstream(b)
	const route = `log: { access: "off" }
upstreams:
  - name: u
    targets: [{ url: "UPSTREAM" }]
routes:
  - name: r
    match: { paths: ["/r"] }
    upstream: u
    plugins: PLUGINS
consumers:
  - name: alice
    credentials: [{ type: key-auth, key: bench-key }]
`
	const limit = `rate-limit: { limit: 1000, window: 1ms, by: consumer`
	redisURL := "redis://" + redistest.Addr() + "/0"
	cases := []struct {
		name, plugins, header string
		redis                 bool
	}{
		{"off", "{}", "", false},
		{"memory", "{ " + limit + " } }", "", false},
		{"key-auth+memory", "{ key-auth: {}, " + limit + " } }", "X-Api-Key: bench-key\r\n", false},
		{"redis", "{ " + limit + `, redis_url: "` + redisURL + `", redis_prefix: "PREFIX" } }`, "", true},
		{"key-auth+redis", "{ key-auth: {}, " + limit + `, redis_url: "` + redisURL + `", redis_prefix: "PREFIX" } }`, "X-Api-Key: bench-key\r\n", true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			yaml := strings.NewReplacer("UPSTREAM", up, "PLUGINS", tc.plugins).Replace(route)
			if tc.redis {
				yaml = strings.ReplaceAll(yaml, "PREFIX", redistest.Prefix(b, redistest.Client(b)))
			}
			g := gatewaytest.Start(b, yaml)
			b.Run("serial", func(b *testing.B) {
				rc := newRawClient(b, g.Addr, tc.header)
				b.ReportAllocs()
				for b.Loop() {
					if err := rc.do(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(16)
				b.RunParallel(func(pb *testing.PB) {
					rc := newRawClient(b, g.Addr, tc.header)
					for pb.Next() {
						if err := rc.do(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}
