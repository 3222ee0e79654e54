package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
)

// replay hands out the request body for each attempt of one call.
type replay struct {
	first  io.ReadCloser                 // the body of the first attempt
	get    func() (io.ReadCloser, error) // a fresh copy; nil when not replayable
	length int64                         // ContentLength to send
	used   bool
}

// newReplay prepares req's body for replay. It uses req.GetBody when set;
// otherwise it buffers a body of at most limit bytes. A larger body is
// streamed once and the replay reports it cannot repeat. On error req.Body
// is closed.
func newReplay(req *http.Request, limit int64) (*replay, error) {
	r := &replay{first: req.Body, get: req.GetBody, length: req.ContentLength}
	if req.Body == nil || req.Body == http.NoBody {
		r.get = func() (io.ReadCloser, error) { return req.Body, nil }
		return r, nil
	}
	if r.get != nil {
		return r, nil
	}
	if limit <= 0 || req.ContentLength > limit {
		return r, nil
	}
	buf, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		_ = req.Body.Close()
		return nil, err
	}
	if int64(len(buf)) > limit {
		// Too large: send what was read, then the rest, once.
		r.first = readCloser{io.MultiReader(bytes.NewReader(buf), req.Body), req.Body}
		return r, nil
	}
	if err := req.Body.Close(); err != nil {
		return nil, err
	}
	r.length = int64(len(buf))
	r.get = func() (io.ReadCloser, error) {
		if len(buf) == 0 {
			return http.NoBody, nil
		}
		return io.NopCloser(bytes.NewReader(buf)), nil
	}
	r.first, _ = r.get()
	return r, nil
}

// canRepeat reports whether another attempt can get the body.
func (r *replay) canRepeat() bool { return r.get != nil }

// next returns the body for the next attempt.
func (r *replay) next() (io.ReadCloser, error) {
	if !r.used {
		r.used = true
		return r.first, nil
	}
	if r.get == nil {
		return nil, errors.New("client: request body cannot be replayed")
	}
	return r.get()
}

// readCloser joins a Reader with the Closer of the original body.
type readCloser struct {
	io.Reader
	io.Closer
}

// cancelBody releases an attempt's context when the response body it
// carries is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// cancelRWBody is cancelBody for the writable body of a 101 Switching
// Protocols response, which must stay an io.ReadWriteCloser.
type cancelRWBody struct {
	cancelBody
	w io.Writer
}

func (b *cancelRWBody) Write(p []byte) (int, error) { return b.w.Write(p) }

// withCancel makes closing resp.Body call cancel; a nil cancel leaves resp
// as it is.
func withCancel(resp *http.Response, cancel context.CancelFunc) {
	if cancel == nil {
		return
	}
	if resp.Body == nil {
		cancel()
		return
	}
	cb := cancelBody{resp.Body, cancel}
	if w, ok := resp.Body.(io.Writer); ok && resp.StatusCode == http.StatusSwitchingProtocols {
		resp.Body = &cancelRWBody{cb, w}
		return
	}
	resp.Body = &cb
}

// drainLimit is how much of a discarded response body is read so the
// connection can be reused, and how much of an error body is kept.
const drainLimit = 64 << 10

// readAndClose reads up to drainLimit bytes of body and closes it.
func readAndClose(body io.ReadCloser) []byte {
	if body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(body, drainLimit))
	_ = body.Close()
	return b
}
