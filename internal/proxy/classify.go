package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/httpwire"
)

// phase is the step of an upstream exchange where a failure happened. The
// phase, not the error text, decides the failure class: the same ECONNRESET
// means "refused" while dialling and "reset" while waiting for the head.
type phase uint8

const (
	phaseDial phase = iota
	phaseTLS
	phaseWrite
	phaseHead
	phaseBody
)

// errBadResponse marks a response that is not valid HTTP/1.x.
var errBadResponse = httpwire.ErrMalformed

// errClientBody marks a failure to read the client's request body while
// forwarding it: the client's fault, not the upstream's.
type clientBodyError struct{ err error }

func (e *clientBodyError) Error() string { return "reading client body: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }

// attemptError is one failed attempt, classified.
type attemptError struct {
	code  gwerr.Code
	phase phase
	err   error
	// client is set when the client, not the target, failed the attempt:
	// the error to answer with (nothing is retried or held against the
	// target).
	client *gwerr.Error
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// classify sorts a transport failure into a CONTRACT §3 code by the phase it
// happened in and the error's type, never by its text.
func classify(p phase, err error) *attemptError {
	var cbe *clientBodyError
	if errors.As(err, &cbe) {
		// The client's side failed: it went away, or a plugin reading the
		// body refused it (a *gwerr.Error such as payload_too_large).
		var ge *gwerr.Error
		if errors.As(cbe.err, &ge) {
			return &attemptError{code: ge.Code, phase: p, err: err, client: ge}
		}
		return &attemptError{code: gwerr.ClientClosed, phase: p, err: err, client: ErrClientGone}
	}
	timeout := isTimeout(err)
	var code gwerr.Code
	switch p {
	case phaseDial:
		var dnsErr *net.DNSError
		switch {
		case errors.As(err, &dnsErr) && !dnsErr.IsTimeout:
			code = gwerr.UpstreamDNSFailed
		case timeout:
			code = gwerr.UpstreamConnectTimeout
		default:
			code = gwerr.UpstreamConnectFailed
		}
	case phaseTLS:
		if timeout {
			code = gwerr.UpstreamConnectTimeout
		} else {
			code = gwerr.UpstreamTLSFailed
		}
	case phaseWrite, phaseHead:
		switch {
		case timeout:
			code = gwerr.UpstreamTimeout
		case errors.Is(err, errBadResponse):
			code = gwerr.UpstreamBadResponse
		default:
			code = gwerr.UpstreamReset
		}
	case phaseBody:
		if timeout {
			code = gwerr.UpstreamTimeoutAfterHead
		} else {
			code = gwerr.UpstreamResetAfterHead
		}
	}
	return &attemptError{code: code, phase: p, err: err}
}

// isTimeout reports whether err is a deadline expiry of any kind.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isConnReset reports whether err is the peer closing or resetting the
// connection (as opposed to a timeout or a protocol error).
func isConnReset(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
}
