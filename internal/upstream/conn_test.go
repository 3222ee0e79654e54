package upstream

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// loopback returns the two ends of a loopback TCP connection.
func loopback(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestConnBuffers: the write buffer is taken for a request and given back
// flushed (kept while it holds bytes); WaitReadable waits for bytes and
// fails at the read deadline, with a read buffer again either way.
func TestConnBuffers(t *testing.T) {
	nc, peer := loopback(t)
	c := NewConn(nc, nil)
	if c.W != nil {
		t.Fatal("a new connection holds a write buffer")
	}
	w := c.TakeWriter()
	w.WriteString("GET / HTTP/1.1\r\n\r\n")
	c.ReleaseWriter()
	if c.W == nil {
		t.Fatal("a write buffer holding bytes was given back")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	c.ReleaseWriter()
	if c.W != nil {
		t.Fatal("a flushed write buffer was kept")
	}

	go func() {
		time.Sleep(20 * time.Millisecond)
		peer.Write([]byte("HTTP/1.1 200 OK\r\n"))
	}()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := c.WaitReadable(); err != nil {
		t.Fatalf("wait for the answer: %v", err)
	}
	if line, err := c.R.ReadString('\n'); err != nil || line != "HTTP/1.1 200 OK\r\n" {
		t.Fatalf("read %q, %v", line, err)
	}

	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	start := time.Now()
	err := c.WaitReadable()
	if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) < 20*time.Millisecond {
		t.Fatalf("quiet peer: %v after %v, want the deadline", err, time.Since(start))
	}
	if c.R == nil {
		t.Fatal("no read buffer after a failed wait")
	}

	peer.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := c.WaitReadable(); err == nil {
		t.Fatal("a closed peer reads as data")
	}
}
