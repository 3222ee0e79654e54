package sqlcore

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluicegw/sluice/internal/store"
)

// dbTime returns t as stored: UTC, truncated to the microsecond (the
// precision both databases keep), or nil (NULL) for the zero time.
func dbTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

// now is the current time as it will read back from the database.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// timeCol scans a time column: an INTEGER of unix microseconds (SQLite), a
// time.Time (PostgreSQL), or NULL, which leaves the zero time.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner; pgx uses it too.
func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = v.UTC()
	default:
		return fmt.Errorf("store: cannot read %T as a time", src)
	}
	return nil
}

// scanTime returns a scan destination that fills *t.
func scanTime(t *time.Time) timeCol { return timeCol{t} }

// nullBytes returns b, or nil (NULL) when it is empty.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// newID returns a random identifier (26 base32 characters, 128 bits).
func newID() string { return rand.Text() }

// checkPage validates a page and returns its SQL LIMIT and OFFSET.
func checkPage(p store.Page) (limit, offset int64, err error) {
	if p.Offset < 0 || p.Size < 0 {
		return 0, 0, fmt.Errorf("%w: page offset %d, size %d", store.ErrInvalid, p.Offset, p.Size)
	}
	limit = int64(p.Size)
	if limit == 0 {
		limit = 1 << 62
	}
	return limit, int64(p.Offset), nil
}

// notFound wraps store.ErrNotFound with what was missing.
func notFound(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{store.ErrNotFound}, args...)...)
}

// conflict wraps store.ErrConflict with what collided.
func conflict(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{store.ErrConflict}, args...)...)
}

// invalid wraps store.ErrInvalid with what is wrong.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{store.ErrInvalid}, args...)...)
}

// isText reports whether s can be stored as text by both databases: valid
// UTF-8 without NUL. PostgreSQL refuses anything else; SQLite would keep
// it, and the two backends must agree.
func isText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// storable returns ErrInvalid (wrapped) unless every value isText.
func storable(what string, values ...string) error {
	for _, v := range values {
		if !isText(v) {
			return invalid("%s: %q is not valid UTF-8 text without NUL characters", what, v)
		}
	}
	return nil
}

// text makes s storable: invalid UTF-8 becomes U+FFFD and NUL is dropped.
// Log fields carry whatever a client sent, so they are cleaned, not
// refused.
func text(s string) string {
	if isText(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// hasEscapedNUL reports whether the JSON document doc holds a NUL
// character (written \u0000), which PostgreSQL's jsonb refuses.
func hasEscapedNUL(doc []byte) bool {
	for i := 0; ; {
		j := bytes.Index(doc[i:], []byte(`\u0000`))
		if j < 0 {
			return false
		}
		j += i
		// The escape is real when an even number of backslashes precede
		// its own (an odd count would make it a literal "\u0000").
		n := 0
		for k := j - 1; k >= 0 && doc[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return true
		}
		i = j + 1
	}
}

// ms is d in milliseconds, for REAL/DOUBLE PRECISION columns.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// boolInt stores a bool as 0 or 1 (INTEGER on every backend).
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
