package plugin

import (
	"github.com/sluicegw/sluice/internal/gwerr"
)

// ErrUnauthorized is the answer when a route requires a credential and the
// request carries none.
var ErrUnauthorized = gwerr.Newf(gwerr.Unauthorized, nil, "The request lacks valid credentials.")

// Unauthorized returns a 401 for a credential that is present but invalid;
// reason is private (logged, never sent).
func Unauthorized(reason string) error {
	return gwerr.New(gwerr.Unauthorized, errString(reason))
}

// Forbidden returns a 403; reason is private.
func Forbidden(reason string) error {
	return gwerr.New(gwerr.Forbidden, errString(reason))
}

type errString string

func (e errString) Error() string { return string(e) }
