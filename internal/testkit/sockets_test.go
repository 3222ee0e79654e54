package testkit

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestBlackholeAddrTimesOut(t *testing.T) {
	addr := BlackholeAddr(t)
	for i := range 2 {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err == nil {
			c.Close()
			t.Fatalf("dial %d connected, want a timeout", i+1)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("dial %d: %v, want a timeout", i+1, err)
		}
	}
}

func TestRefusingAddr(t *testing.T) {
	_, err := net.DialTimeout("tcp", RefusingAddr(t), 5*time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial: %v, want ECONNREFUSED", err)
	}
}
