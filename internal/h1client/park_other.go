//go:build !unix

package h1client

import "net"

// parker is a no-op where sockets cannot be peeked: the caller's read
// waits with its buffer.
type parker struct{}

func (p *parker) wait(net.Conn) error { return nil }
