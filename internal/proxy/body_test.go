package proxy

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReplayBodyKeeps: a body up to the limit replays intact, one byte more
// does not; the kept bytes grow with the body rather than taking the
// limit up front, and a recycled state keeps only a small buffer.
func TestReplayBodyKeeps(t *testing.T) {
	const limit = 1 << 10
	read := func(b *replayBody) string {
		t.Helper()
		got, err := io.ReadAll(b)
		if err != nil {
			t.Fatal(err)
		}
		return string(got)
	}
	for _, n := range []int{0, 1, 200, limit, limit + 1, 3 * limit} {
		body := strings.Repeat("x", n)
		var b replayBody
		b.reset(iotest.HalfReader(strings.NewReader(body)), limit)
		if got := read(&b); got != body {
			t.Fatalf("%d bytes: first read %d bytes", n, len(got))
		}
		replays := b.rewind()
		if replays != (n <= limit) {
			t.Fatalf("%d bytes: rewind = %v", n, replays)
		}
		if replays {
			if got := read(&b); got != body {
				t.Fatalf("%d bytes: replay read %d bytes", n, len(got))
			}
		}
		if cap(b.buf) > 2*max(n, 64) && n <= limit {
			t.Errorf("%d bytes kept in a buffer of %d", n, cap(b.buf))
		}
	}

	var b replayBody
	b.reset(strings.NewReader(strings.Repeat("y", maxPooledReplay*2)), maxPooledReplay*4)
	read(&b)
	b.recycle()
	if b.buf != nil || b.src != nil || b.total != 0 {
		t.Fatalf("recycled a %d-byte buffer: %+v", cap(b.buf), b)
	}
	b.reset(strings.NewReader("small"), limit)
	read(&b)
	b.recycle()
	if cap(b.buf) == 0 || len(b.buf) != 0 {
		t.Fatalf("a small buffer was not kept for reuse: len %d cap %d", len(b.buf), cap(b.buf))
	}
}
