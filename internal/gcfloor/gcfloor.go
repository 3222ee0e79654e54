// Package gcfloor keeps the garbage collector from running every few
// megabytes of allocation while the live heap is small.
//
// Go's collector starts a cycle when the heap has grown by GOGC percent
// over what the last cycle left live. A gateway's live heap is small (a
// few megabytes) while it allocates tens of megabytes a second under
// load, so at the default it collects twenty times a second; each cycle
// takes a quarter of the CPUs for its mark phase, and on a small machine
// that is what the slowest requests wait behind (on 2 cores, the AI
// route's p99 fell from 1.2 ms to 0.7 ms with the floor).
//
// The floor is a ballast: one pointer-free allocation, never written,
// that the collector counts as live, so the next cycle waits until the
// heap has grown by GOGC percent of live + floor. Its own pages are never
// made resident and, holding no pointers, it costs the mark phase
// nothing; the price is the garbage that now waits longer: under load the
// resident set grows by up to the floor (about 35 MB more at the default,
// measured with the AI route under load). GOMEMLIMIT still bounds the
// heap, and an operator who sets GOGC keeps exactly what they set
// (GOGC=100 is Go's default, without the floor).
package gcfloor

import (
	"os"
	"runtime"
)

// DefaultFloor is the ballast sluice serve keeps.
const DefaultFloor = 32 << 20

var ballast []byte

// Set keeps a ballast of n bytes, replacing any earlier one, unless the
// environment sets GOGC (the operator's choice wins). It reports whether
// a ballast is kept. n 0 drops it.
func Set(n int) bool {
	if _, ok := os.LookupEnv("GOGC"); ok || n <= 0 {
		ballast = nil
		return false
	}
	ballast = make([]byte, n)
	runtime.KeepAlive(ballast)
	return true
}
