package transform

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/sluicegw/sluice/internal/plugin"
)

// varKind is a template variable.
type varKind uint8

const (
	varNone         varKind = iota // a literal segment
	varConsumerName                // $(consumer.name)
	varRouteName                   // $(route.name)
	varClientIP                    // $(client.ip)
	varHeader                      // $(request.header.NAME)
	varQuery                       // $(request.query.NAME)
)

// segment is a literal or a variable of a template.
type segment struct {
	kind varKind
	text string // the literal; the canonical header name; the query key
}

// template is a value compiled once from config: a sequence of literals and
// variables. A template without variables renders to a constant, kept with
// a ready header value slice so that using it allocates nothing.
type template struct {
	segs []segment
	// constant is set when the template has no variables.
	constant bool
	lit      string
	litVals  []string // []string{lit}, capacity-limited; shared, read-only
}

const varHelp = "$(consumer.name), $(route.name), $(client.ip), $(request.header.NAME) or $(request.query.NAME)"

// compile parses s. "$(" starts a variable that ends at the next ")";
// "$$(" is a literal "$(".
func compile(s string) (*template, error) {
	t := &template{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.segs = append(t.segs, segment{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$$("):
			lit.WriteString("$(")
			i += 3
		case strings.HasPrefix(s[i:], "$("):
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				return nil, fmt.Errorf("unclosed %q in %q; variables are %s (write $$( for a literal $( )", "$(", s, varHelp)
			}
			seg, err := parseVar(strings.TrimSpace(s[i+2 : i+2+end]))
			if err != nil {
				return nil, err
			}
			flush()
			t.segs = append(t.segs, seg)
			i += 2 + end + 1
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	flush()
	t.constant = true
	for _, seg := range t.segs {
		if seg.kind != varNone {
			t.constant = false
		}
	}
	if t.constant {
		if len(t.segs) == 1 {
			t.lit = t.segs[0].text
		}
		t.litVals = []string{t.lit}[:1:1]
	}
	return t, nil
}

// parseVar parses the inside of $(...).
func parseVar(v string) (segment, error) {
	switch {
	case v == "consumer.name":
		return segment{kind: varConsumerName}, nil
	case v == "route.name":
		return segment{kind: varRouteName}, nil
	case v == "client.ip":
		return segment{kind: varClientIP}, nil
	case strings.HasPrefix(v, "request.header."):
		name := strings.TrimPrefix(v, "request.header.")
		if !isToken(name) {
			return segment{}, fmt.Errorf("$(%s): %q is not a header name", v, name)
		}
		return segment{kind: varHeader, text: http.CanonicalHeaderKey(name)}, nil
	case strings.HasPrefix(v, "request.query."):
		name := strings.TrimPrefix(v, "request.query.")
		if name == "" {
			return segment{}, fmt.Errorf("$(%s): the query parameter name is missing", v)
		}
		return segment{kind: varQuery, text: name}, nil
	}
	return segment{}, fmt.Errorf("unknown variable $(%s); variables are %s", v, varHelp)
}

// literals returns the template's literal text, for config-time checks.
func (t *template) literals() string {
	var b strings.Builder
	for _, seg := range t.segs {
		if seg.kind == varNone {
			b.WriteString(seg.text)
		}
	}
	return b.String()
}

// render appends the template's value for request c to buf. A variable
// with no value (no consumer, an absent header or parameter) renders as
// nothing. Header variables use the field's first value; query variables
// the first occurrence, unescaped.
func (t *template) render(buf []byte, c *plugin.Ctx) []byte {
	for _, seg := range t.segs {
		switch seg.kind {
		case varNone:
			buf = append(buf, seg.text...)
		case varConsumerName:
			if c.Consumer != nil {
				buf = append(buf, c.Consumer.Name...)
			}
		case varRouteName:
			buf = append(buf, c.Route...)
		case varClientIP:
			if c.X != nil && c.X.ClientIP.IsValid() {
				buf = c.X.ClientIP.AppendTo(buf)
			}
		case varHeader:
			if seg.text == "Host" {
				buf = append(buf, c.R.Host...)
			} else if vv := c.R.Header[seg.text]; len(vv) > 0 {
				buf = append(buf, vv[0]...)
			}
		case varQuery:
			if raw, ok := queryValue(c.R.URL.RawQuery, seg.text); ok {
				buf = appendUnescaped(buf, raw)
			}
		}
	}
	return buf
}

// validFieldValue reports whether v may be sent as a header field value:
// no control characters other than horizontal tab (RFC 9110 §5.5). A
// rendered value that fails is dropped, so a request cannot inject header
// lines through, say, a query parameter holding %0d%0a.
func validFieldValue(v []byte) bool {
	for _, c := range v {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 9110 token (a header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
