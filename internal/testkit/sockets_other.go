//go:build !linux

package testkit

import (
	"net"
	"testing"
	"time"
)

// BlackholeAddr needs Linux (a raw listening socket whose accept queue can
// be filled); elsewhere it skips the test.
func BlackholeAddr(t testing.TB) string {
	t.Helper()
	t.Skip("testkit: BlackholeAddr is only implemented on Linux")
	return ""
}

// waitSent cannot query the send queue here; it gives loopback a moment to
// deliver what was written before a reset.
func waitSent(net.Conn, time.Duration) {
	time.Sleep(50 * time.Millisecond)
}
