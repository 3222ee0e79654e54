package h1

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// Chunked decoding states.
const (
	chunkSize    uint8 = iota // expecting a chunk-size line
	chunkData                 // inside chunk data
	chunkEnd                  // expecting the CRLF after chunk data
	chunkTrailer              // reading the trailer section
)

var (
	// errBodyClosed is returned by reads after the handler closed the body.
	errBodyClosed = errors.New("h1: read on closed request body")
	// errMalformedChunk is returned for chunked framing that breaks RFC 9112,
	// section 7.1; the connection is closed after the response.
	errMalformedChunk = errors.New("h1: malformed chunked request body")
	// errNeedMore stops a non-blocking parse at the end of the buffer.
	errNeedMore = errors.New("h1: need more bytes")
)

// continueLine is the interim response to "Expect: 100-continue".
var continueLine = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// body is the request body reader, reused across requests. Read errors other
// than io.EOF are sticky and make the connection close after the response.
type body struct {
	c       *conn
	chunked bool
	remain  int64 // bytes left in the body (fixed) or the current chunk
	state   uint8
	done    bool // read to its end
	closed  bool // closed by the handler
	err     error

	trailerLines, trailerBytes int
}

var _ io.ReadCloser = (*body)(nil)

func (b *body) reset(h *reqHead) {
	*b = body{c: b.c, chunked: h.chunked}
	if !h.chunked {
		b.remain = max(h.contentLength, 0)
		b.done = b.remain == 0
	}
}

// Read implements io.Reader. The first Read of a request that expects
// 100-continue sends "100 Continue", unless the response head is already
// out.
func (b *body) Read(p []byte) (int, error) {
	switch {
	case b.c.hijacked:
		return 0, http.ErrHijacked
	case b.closed:
		return 0, errBodyClosed
	}
	return b.read(p)
}

// Close implements io.Closer. The unread rest of the body is discarded, or
// the connection closed, after the handler returns.
func (b *body) Close() error {
	b.closed = true
	return nil
}

func (b *body) read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	c := b.c
	if c.head.expectCont && !c.sentContinue {
		c.sentContinue = true
		if !c.resp.committed {
			if _, err := c.rwc.Write(continueLine); err != nil {
				b.err = err
				return 0, err
			}
		}
	}
	var n int
	var err error
	if b.chunked {
		n, err = b.readChunked(p)
	} else {
		n, err = b.readFixed(p)
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (b *body) finish() {
	b.done = true
	b.c.watchBodyDone()
}

func (b *body) readFixed(p []byte) (int, error) {
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.c.readBody(p)
	b.remain -= int64(n)
	if b.remain == 0 {
		b.finish()
		return n, io.EOF
	}
	if n > 0 {
		return n, nil
	}
	return 0, unexpectedEOF(err)
}

func (b *body) readChunked(p []byte) (int, error) {
	for b.state != chunkData {
		if err := b.advance(true); err != nil {
			return 0, err
		}
		if b.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.c.readBody(p)
	if n == 0 {
		return 0, unexpectedEOF(err)
	}
	if b.remain -= int64(n); b.remain == 0 {
		// Parse what follows from the buffer only, so that the read that
		// returns the last data also reports io.EOF when it can.
		b.state = chunkEnd
		if err := b.advance(false); err != nil && err != errNeedMore {
			return n, err
		}
		if b.done {
			return n, io.EOF
		}
	}
	return n, nil
}

// advance parses chunked framing up to the next chunk data or the end of
// the body. Without block it only uses buffered bytes and returns
// errNeedMore when they run out.
func (b *body) advance(block bool) error {
	c := b.c
	for {
		switch b.state {
		case chunkData:
			return nil
		case chunkEnd:
			line, err := c.readLine(2, block)
			if err != nil {
				return err
			}
			if len(line) != 0 {
				return errMalformedChunk
			}
			b.state = chunkSize
		case chunkSize:
			line, err := c.readLine(maxChunkLine, block)
			if err != nil {
				return err
			}
			size, ok := parseChunkSize(line)
			if !ok {
				return errMalformedChunk
			}
			if size == 0 {
				b.state = chunkTrailer
				continue
			}
			b.remain, b.state = size, chunkData
		case chunkTrailer:
			line, err := c.readLine(maxChunkLine, block)
			if err != nil {
				return err
			}
			if len(line) == 0 {
				b.finish()
				return nil
			}
			b.trailerLines++
			b.trailerBytes += len(line) + 2
			if b.trailerLines > maxHeaderCount || b.trailerBytes > c.cfg.maxHeaderBytes {
				return errMalformedChunk
			}
			if _, perr := scanField(line, 0, len(line)); perr != nil {
				return errMalformedChunk
			}
		}
	}
}

// parseChunkSize parses "chunk-size [ chunk-ext ]": hex digits, then
// nothing or optional whitespace, ";" and extension bytes free of CTLs.
func parseChunkSize(line []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if n >= 1<<59 {
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	if i == 0 {
		return 0, false
	}
	ext := bytes.TrimLeft(line[i:], " \t")
	if len(ext) == 0 {
		if len(line) != i { // whitespace without an extension
			return 0, false
		}
		return n, true
	}
	if ext[0] != ';' {
		return 0, false
	}
	for _, b := range ext {
		if !valueChars[b] {
			return 0, false
		}
	}
	return n, true
}

func unhex(b byte) int {
	switch {
	case '0' <= b && b <= '9':
		return int(b - '0')
	case 'a' <= b && b <= 'f':
		return int(b-'a') + 10
	case 'A' <= b && b <= 'F':
		return int(b-'A') + 10
	}
	return -1
}

// discardRest reads and drops the unread rest of the body after the
// handler, up to maxDiscardBytes; it reports whether the connection can
// serve another request.
func (b *body) discardRest() bool {
	c := b.c
	switch {
	case b.done:
		return true
	case b.err != nil:
		return false
	case c.head.expectCont && !c.sentContinue:
		// The client may be waiting for 100 Continue and never send it.
		return false
	case !b.chunked && b.remain > maxDiscardBytes:
		return false
	}
	scratch := c.wbuf[:cap(c.wbuf)]
	for total := 0; total <= maxDiscardBytes; {
		n, err := b.read(scratch)
		total += n
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

// readBody reads body bytes: buffered ones first, then from the connection,
// directly into p when p is large.
func (c *conn) readBody(p []byte) (int, error) {
	if c.r == c.w {
		c.clearDeadline()
		if len(p) >= len(c.rbuf)/4 {
			for {
				n, err := c.rwc.Read(p)
				if n > 0 || err != nil {
					return n, err
				}
			}
		}
		c.r, c.w = 0, 0
		if err := c.fill(len(c.rbuf)); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.rbuf[c.r:c.w])
	c.r += n
	return n, nil
}

// readLine returns the next CRLF-terminated line, without the CRLF, and
// consumes it; the line must end within limit bytes. The result is valid
// until the next read.
func (c *conn) readLine(limit int, block bool) ([]byte, error) {
	for {
		buf := c.rbuf[c.r:c.w]
		if i := bytes.IndexByte(buf[:min(len(buf), limit)], '\n'); i >= 0 {
			if i == 0 || buf[i-1] != '\r' {
				return nil, errMalformedChunk
			}
			c.r += i + 1
			return buf[:i-1], nil
		}
		if len(buf) >= limit {
			return nil, errMalformedChunk
		}
		if !block {
			return nil, errNeedMore
		}
		c.clearDeadline()
		if err := c.fill(limit); err != nil {
			return nil, unexpectedEOF(err)
		}
	}
}

func unexpectedEOF(err error) error {
	if err == io.EOF || err == nil {
		return io.ErrUnexpectedEOF
	}
	return err
}
