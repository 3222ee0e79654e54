package upstream

import (
	"bufio"
	"net"
	"sync"
	"time"
)

// Conn is one keep-alive connection to a target, with its buffered reader
// and writer. A Conn is owned by one request at a time: taken from the Pool
// with Get and handed back with Put (or closed) when the exchange is over.
//
// The buffers come from pools as an exchange needs them: W between
// TakeWriter and ReleaseWriter, while a request is written; R always,
// except while WaitReadable waits with nothing buffered. A response that
// streams (server-sent events) is mostly such waits, so a held stream
// costs neither buffer.
type Conn struct {
	net.Conn
	R *bufio.Reader
	W *bufio.Writer

	// Reused reports whether the connection carried an earlier request.
	// A failure on a reused connection before any response byte may be a
	// keep-alive race (the target closed it while idle), not a target fault.
	Reused bool

	idleSince time.Time
	readers   *Readers
	parker    Parker
}

// Readers hands out read buffers of one size to connections, which hold
// one only while they read.
type Readers struct {
	size int
	pool sync.Pool
}

// NewReaders returns a source of read buffers of size bytes.
func NewReaders(size int) *Readers { return &Readers{size: size} }

// proxyReaders and writers are the proxy's buffers.
var (
	proxyReaders = NewReaders(16 << 10)
	writers      sync.Pool
)

const writeBufferSize = 8 << 10

// NewConn wraps a freshly dialled connection, with a read buffer from rs
// (nil: the proxy's, 16 KiB).
func NewConn(c net.Conn, rs *Readers) *Conn {
	if rs == nil {
		rs = proxyReaders
	}
	conn := &Conn{Conn: c, readers: rs}
	conn.TakeReader()
	return conn
}

// TakeReader gives c a read buffer, if it has none.
func (c *Conn) TakeReader() {
	if c.R != nil {
		return
	}
	if r, ok := c.readers.pool.Get().(*bufio.Reader); ok {
		r.Reset(c.Conn)
		c.R = r
		return
	}
	c.R = bufio.NewReaderSize(c.Conn, c.readers.size)
}

// ReleaseReader gives c's read buffer back if it holds nothing (an idle
// connection, or one waiting for the server, needs none).
func (c *Conn) ReleaseReader() {
	if c.R != nil && c.R.Buffered() == 0 {
		c.R.Reset(nil)
		c.readers.pool.Put(c.R)
		c.R = nil
	}
}

// TakeWriter gives c a write buffer, if it has none, for a request.
func (c *Conn) TakeWriter() *bufio.Writer {
	if c.W == nil {
		if w, ok := writers.Get().(*bufio.Writer); ok {
			w.Reset(c.Conn)
			c.W = w
		} else {
			c.W = bufio.NewWriterSize(c.Conn, writeBufferSize)
		}
	}
	return c.W
}

// ReleaseWriter gives c's write buffer back once it is flushed (a buffer
// still holding bytes stays with c).
func (c *Conn) ReleaseWriter() {
	if c.W != nil && c.W.Buffered() == 0 {
		c.W.Reset(nil)
		writers.Put(c.W)
		c.W = nil
	}
}

// WaitReadable returns once c has a byte to read, or fails as a read
// would (the read deadline passed, the connection broke). With nothing
// buffered it gives the read buffer back for the wait and takes one again
// after.
func (c *Conn) WaitReadable() error {
	if c.R.Buffered() > 0 {
		return nil
	}
	c.ReleaseReader()
	err := c.parker.Wait(c.Conn)
	c.TakeReader()
	if err != nil {
		return err
	}
	_, err = c.R.Peek(1)
	return err
}

// Pool keeps idle keep-alive connections to one target, most recently used
// first. It is safe for concurrent use. The zero value is not usable; build
// it with NewPool.
type Pool struct {
	mu          sync.Mutex
	idle        []*Conn
	maxIdle     int
	idleTimeout time.Duration
	closed      bool
}

// NewPool returns a pool that keeps at most maxIdle idle connections, each
// for at most idleTimeout (0 means no idle timeout).
func NewPool(maxIdle int, idleTimeout time.Duration) *Pool {
	return &Pool{maxIdle: maxIdle, idleTimeout: idleTimeout}
}

// Configure changes the pool's limits; idle connections beyond the new
// maximum are closed.
func (p *Pool) Configure(maxIdle int, idleTimeout time.Duration) {
	p.mu.Lock()
	p.maxIdle, p.idleTimeout = maxIdle, idleTimeout
	var drop []*Conn
	if len(p.idle) > maxIdle {
		drop = append(drop, p.idle[:len(p.idle)-maxIdle]...)
		p.idle = append(p.idle[:0], p.idle[len(p.idle)-maxIdle:]...)
	}
	p.mu.Unlock()
	for _, c := range drop {
		c.Close()
	}
}

// Get returns the most recently used idle connection, or nil when there is
// none. Connections idle longer than the idle timeout are closed, not returned.
func (p *Pool) Get() *Conn {
	var expired []*Conn
	p.mu.Lock()
	var c *Conn
	for n := len(p.idle); n > 0; n = len(p.idle) {
		c = p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		if p.idleTimeout > 0 && time.Since(c.idleSince) > p.idleTimeout {
			expired = append(expired, c)
			c = nil
			continue
		}
		break
	}
	p.mu.Unlock()
	for _, e := range expired {
		e.Close()
	}
	if c != nil {
		c.Reused = true
	}
	return c
}

// Put hands an idle connection back. The caller must have read the previous
// response completely. When the pool is full or closed the connection is
// closed instead.
func (p *Pool) Put(c *Conn) {
	c.idleSince = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.maxIdle {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// Idle returns the number of idle connections.
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// Close closes every idle connection and makes later Puts close theirs.
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}
