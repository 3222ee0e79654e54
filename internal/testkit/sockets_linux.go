//go:build linux

package testkit

import (
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BlackholeAddr returns a "127.0.0.1:PORT" where a TCP connect times out
// deterministically. The port belongs to a raw socket that listens with a
// backlog of 0 and never accepts; its accept queue is filled with one
// connection first, so the kernel drops every further SYN and a dialler waits
// until its own timeout. The socket and the filling connection are closed in
// t.Cleanup.
func BlackholeAddr(t testing.TB) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("testkit: blackhole socket: %v", err)
	}
	var fill []net.Conn
	t.Cleanup(func() {
		for _, c := range fill {
			_ = c.Close()
		}
		_ = unix.Close(fd)
	})
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("testkit: blackhole bind: %v", err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatalf("testkit: blackhole listen: %v", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatalf("testkit: blackhole getsockname: %v", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))

	// For a listening socket TCP_INFO reports the accept queue's length as
	// tcpi_unacked and its limit as tcpi_sacked; the kernel drops SYNs once
	// the length exceeds the limit.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			t.Fatalf("testkit: blackhole TCP_INFO: %v", err)
		}
		if info.Unacked > info.Sacked {
			return addr
		}
		if int(info.Unacked) >= len(fill) {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				t.Fatalf("testkit: filling blackhole accept queue: %v", err)
			}
			fill = append(fill, c)
			continue
		}
		// The last connection's final ACK is still on its way in.
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("testkit: blackhole accept queue did not fill")
	return ""
}

// waitSent waits, at most limit, until every byte written to c has been
// acknowledged by the peer, so that a reset that follows cannot discard
// data still in the send queue.
func waitSent(c net.Conn, limit time.Duration) {
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	rc, err := tcp.SyscallConn()
	if err != nil {
		return
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		queued := 0
		cerr := rc.Control(func(fd uintptr) {
			queued, err = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
		})
		if cerr != nil || err != nil || queued == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
