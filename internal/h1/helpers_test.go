package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"
)

// testServer is a Server running on a loopback listener.
type testServer struct {
	*Server
	addr  string
	done  chan error
	conns *countingConns
	logs  *syncBuffer
}

// countingConns counts the connections a Server accepted.
type countingConns struct {
	mu sync.Mutex
	n  int
}

func (c *countingConns) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// startServer serves h on a loopback listener; configure adjusts the Server
// before Serve. The server is closed when the test ends.
func startServer(t testing.TB, h http.Handler, configure ...func(*Server)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{
		addr:  ln.Addr().String(),
		done:  make(chan error, 1),
		conns: &countingConns{},
		logs:  &syncBuffer{},
	}
	ts.Server = &Server{
		Handler: h,
		Logger:  slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			ts.conns.mu.Lock()
			ts.conns.n++
			ts.conns.mu.Unlock()
			return ctx
		},
	}
	for _, f := range configure {
		f(ts.Server)
	}
	go func() { ts.done <- ts.Serve(ln) }()
	t.Cleanup(func() {
		ts.Close()
		select {
		case err := <-ts.done:
			if !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return ts
}

// url returns an http URL for path on the server.
func (ts *testServer) url(path string) string { return "http://" + ts.addr + path }

// newClient returns an HTTP/1.1 client with its own connection pool.
func newClient(t testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// rawConn is a raw TCP client connection.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (rc *rawConn) write(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.nc, s); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// response reads one response to a request with method.
func (rc *rawConn) response(method string) *http.Response {
	rc.t.Helper()
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("reading response body: %v", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

// expectClosed checks that the server closes the connection (EOF or reset)
// within the connection deadline, without sending more bytes.
func (rc *rawConn) expectClosed() {
	rc.t.Helper()
	b, err := rc.br.ReadByte()
	if err == nil {
		rest, _ := rc.br.Peek(rc.br.Buffered())
		rc.t.Fatalf("connection still open: read %q", append([]byte{b}, rest...))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		rc.t.Fatalf("connection not closed: %v", err)
	}
}

// readAll reads until the server closes the connection.
func (rc *rawConn) readAll() string {
	rc.t.Helper()
	b, err := io.ReadAll(rc.br)
	if err != nil && !isReset(err) {
		rc.t.Fatalf("reading until close: %v", err)
	}
	return string(b)
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

func bodyString(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

// testCert returns a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sluice test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// syncBuffer is a goroutine-safe buffer for captured logs.
type syncBuffer = testkit.SyncBuffer
