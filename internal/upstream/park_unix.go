//go:build unix

package upstream

import (
	"net"
	"syscall"
)

// Parker waits until a connection has bytes to read, or its read deadline
// passes, without a buffer to read them into: the runtime's poller waits
// for the socket to become readable, and a peek (MSG_PEEK) tells whether
// it is — bytes left in the socket by an earlier read, which will not
// wake the poller again, are seen at once. A held stream waits this way,
// so it costs no read buffer between its events. The zero value is ready.
type Parker struct {
	conn  net.Conn
	raw   syscall.RawConn
	ready func(fd uintptr) bool
	peek  [1]byte
}

// Wait returns when c is readable (a byte, its end or an error) or its
// read deadline passed (an error). Where c is not a socket it returns at
// once, and the caller's read waits instead.
func (p *Parker) Wait(c net.Conn) error {
	if p.conn != c {
		p.conn, p.raw = c, nil
		if sc, ok := c.(syscall.Conn); ok {
			p.raw, _ = sc.SyscallConn()
		}
		if p.ready == nil {
			p.ready = p.readable
		}
	}
	if p.raw == nil {
		return nil // the caller's read waits instead
	}
	return p.raw.Read(p.ready)
}

// readable reports whether fd has a byte, an end or an error to read.
func (p *Parker) readable(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), p.peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
}
