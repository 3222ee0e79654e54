package keyauth_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/plugin"
)

// BenchmarkAuthenticate measures one key-auth decision on a request with
// the key in x-api-key, against an index of 1000 consumers. The header is
// put back each iteration because hide_credentials removes it.
func BenchmarkAuthenticate(b *testing.B) {
	var cs []config.Consumer
	for i := range 1000 {
		cs = append(cs, config.Consumer{Name: "c" + strconv.Itoa(i), Credentials: []config.Credential{{Type: "key-auth", Key: "key-" + strconv.Itoa(i) + "-0123456789abcdef"}}})
	}
	ix, err := consumer.Build(cs)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		header string
		value  string
	}{
		{"x-api-key", "X-Api-Key", "key-500-0123456789abcdef"},
		{"bearer", "Authorization", "Bearer key-500-0123456789abcdef"},
		{"unknown", "X-Api-Key", "key-none-0123456789abcdef"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			inst, _, err := plugin.Build("key-auth", nil, plugin.Env{Consumers: ix})
			if err != nil {
				b.Fatal(err)
			}
			a := inst.(plugin.Authenticator)
			r := httptest.NewRequest("GET", "/x?q=1", nil)
			x := &exchange.Exchange{}
			c := &plugin.Ctx{W: httptest.NewRecorder(), R: r, X: x}
			vals := []string{bc.value}
			b.ReportAllocs()
			for b.Loop() {
				r.Header[bc.header] = vals
				cons, _, err := a.Authenticate(c)
				if (err == nil) != (bc.name != "unknown") || (err == nil && cons == nil) {
					b.Fatalf("consumer %v err %v", cons, err)
				}
			}
		})
	}
}

// BenchmarkProxyKeyAuth measures one keep-alive request through the
// gateway to an upstream answering 1 KiB, without a plugin and with
// key-auth, serially and in parallel, the way internal/app's
// BenchmarkProxy1KiB does. allocs/op counts the whole process.
func BenchmarkProxyKeyAuth(b *testing.B) {
	up := rawUpstream(b)
	for _, bc := range []struct{ name, plugins, auth string }{
		{"plain", "", ""},
		{"key-auth", "    plugins:\n      key-auth: {}\n", "X-Api-Key: bench-key-0123456789abcdef\r\n"},
	} {
		g := gatewaytest.Start(b, `log: { access: "off" }
upstreams:
  - name: u
    targets: [{ url: "`+up+`" }]
routes:
  - name: r
    match: { paths: ["/"] }
    upstream: u
`+bc.plugins+`consumers:
  - name: bench
    credentials: [{ type: key-auth, key: "bench-key-0123456789abcdef" }]
`)
		req := []byte("GET /bench/path?q=1 HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench\r\nAccept: */*\r\n" + bc.auth + "\r\n")
		b.Run(bc.name+"/serial", func(b *testing.B) {
			rc := newRawClient(b, g.Addr, req)
			b.ReportAllocs()
			for b.Loop() {
				if err := rc.do(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				rc := newRawClient(b, g.Addr, req)
				for pb.Next() {
					if err := rc.do(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// rawUpstream answers every request with a fixed 1 KiB response, parsing
// only what it must, so the benchmark measures the gateway.
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

// skipHead consumes one request head.
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

// rawClient sends a pre-built keep-alive request and reads the response.
type rawClient struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
}

func newRawClient(b *testing.B, addr string, req []byte) *rawClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return &rawClient{c: c, br: bufio.NewReaderSize(c, 16<<10), req: req}
}

func (rc *rawClient) do() error {
	if _, err := rc.c.Write(rc.req); err != nil {
		return err
	}
	length := -1
	status := ""
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if status == "" {
			status = string(line)
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if !strings.HasPrefix(status, "HTTP/1.1 200") {
		return errors.New("unexpected status " + strings.TrimSpace(status))
	}
	if length < 0 {
		return io.ErrUnexpectedEOF
	}
	_, err := rc.br.Discard(length)
	return err
}
