// Package telemetry holds the gateway's logging: the access log (one JSON
// line per request) and the buffered writer behind it.
package telemetry

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// BufferedWriter batches log lines in memory and writes them out when the
// buffer fills or every flush interval, so that logging a request costs a
// memory copy, not a syscall. It is safe for concurrent use. Lines written
// since the last flush are lost if the process dies without Close.
type BufferedWriter struct {
	mu   sync.Mutex
	bw   *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// NewBufferedWriter returns a writer that flushes to w every interval.
func NewBufferedWriter(w io.Writer, size int, interval time.Duration) *BufferedWriter {
	b := &BufferedWriter{bw: bufio.NewWriterSize(w, size), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop(interval)
	return b
}

func (b *BufferedWriter) loop(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.Flush()
		case <-b.stop:
			b.Flush()
			return
		}
	}
}

// Write buffers p; it writes through only when the buffer is full.
func (b *BufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	n, err := b.bw.Write(p)
	b.mu.Unlock()
	return n, err
}

// Flush writes out what is buffered.
func (b *BufferedWriter) Flush() error {
	b.mu.Lock()
	err := b.bw.Flush()
	b.mu.Unlock()
	return err
}

// Close flushes and stops the background flusher.
func (b *BufferedWriter) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
	return nil
}
