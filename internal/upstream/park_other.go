//go:build !unix

package upstream

import "net"

// Parker is a no-op where sockets cannot be peeked: the caller's read
// waits with its buffer.
type Parker struct{}

// Wait returns at once.
func (p *Parker) Wait(net.Conn) error { return nil }
