package testkit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
)

// FastUpstream starts an upstream for benchmarks: it answers every request
// with a fixed 200 response of bodySize bytes, parsing only what it must
// (request heads, no bodies) and allocating nothing per request, so a
// benchmark measures the gateway, not its peer. It returns the base URL.
func FastUpstream(tb testing.TB, bodySize int) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		bodySize, strings.Repeat("x", bodySize)))
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

// skipHead consumes one message head.
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

// FastClient sends one pre-built keep-alive request at a time over a raw
// connection and reads the response, allocating nothing per request.
type FastClient struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
}

// NewFastClient connects to addr; each Do sends "GET path" with Host
// bench.example and the extra header lines (each ending in CRLF).
func NewFastClient(tb testing.TB, addr, path, extraHeaders string) *FastClient {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &FastClient{c: c, br: bufio.NewReaderSize(c, 16<<10),
		req: []byte("GET " + path + " HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench\r\nAccept: */*\r\n" + extraHeaders + "\r\n")}
}

// ErrNotOK is returned by Do for any status but 200.
var ErrNotOK = fmt.Errorf("testkit: response status is not 200")

// Do sends the request and reads the whole response.
func (fc *FastClient) Do() error {
	if _, err := fc.c.Write(fc.req); err != nil {
		return err
	}
	line, err := fc.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	ok := bytes.HasPrefix(line, []byte("HTTP/1.1 200 "))
	length := -1
	for {
		line, err := fc.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, found := bytes.CutPrefix(line, []byte("Content-Length: ")); found {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 {
		return io.ErrUnexpectedEOF
	}
	if _, err := fc.br.Discard(length); err != nil {
		return err
	}
	if !ok {
		return ErrNotOK
	}
	return nil
}
