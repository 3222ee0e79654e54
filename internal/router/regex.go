package router

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strings"
)

// pathRegex is a compiled regex path spec with what is needed to index it.
type pathRegex struct {
	re *regexp.Regexp
	// literal is a string every match begins with, when the regex is
	// anchored at the start of the text with ^ or \A; empty otherwise.
	literal string
	// anchored reports whether every match begins at offset 0.
	anchored bool
	// whole reports whether every match is the whole path (anchored at both
	// ends), so the matched part is known without asking for its bounds.
	whole bool
}

// compilePathRegex compiles pattern with Go's RE2 syntax and works out its
// anchoring and literal prefix from the parsed syntax tree.
func compilePathRegex(pattern string) (pathRegex, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		var serr *syntax.Error
		if errors.As(err, &serr) {
			return pathRegex{}, serr // drop the redundant "regexp: Compile(...)" wrapper
		}
		return pathRegex{}, err
	}
	tree, err := syntax.Parse(pattern, syntax.Perl) // the flags regexp.Compile uses
	if err != nil {
		return pathRegex{}, err
	}
	var h headScan
	h.scan(tree)
	return pathRegex{
		re:       re,
		literal:  h.literal.String(),
		anchored: h.anchored,
		whole:    h.anchored && endsAtEndText(tree),
	}, nil
}

// headScan walks the leading part of a syntax tree: a begin-of-text
// assertion followed by case-sensitive literals, through concatenations and
// capture groups. It stops at the first construct that is anything else.
type headScan struct {
	anchored bool
	literal  strings.Builder
}

// scan consumes re and reports whether all of it was consumed, so that the
// caller may carry on with the next node of a concatenation.
func (h *headScan) scan(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return true
	case syntax.OpBeginText:
		if h.literal.Len() > 0 {
			return false
		}
		h.anchored = true
		return true
	case syntax.OpLiteral:
		if !h.anchored || re.Flags&syntax.FoldCase != 0 {
			return false
		}
		for _, r := range re.Rune {
			h.literal.WriteRune(r)
		}
		return true
	case syntax.OpCapture:
		return h.scan(re.Sub[0])
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !h.scan(sub) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// endsAtEndText reports whether re ends with an end-of-text assertion ($
// without the m flag, or \z) through concatenations and capture groups.
func endsAtEndText(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEndText:
		return true
	case syntax.OpCapture:
		return endsAtEndText(re.Sub[0])
	case syntax.OpConcat:
		return len(re.Sub) > 0 && endsAtEndText(re.Sub[len(re.Sub)-1])
	default:
		return false
	}
}

// matchedPrefix returns the part of path matched by the regex when the match
// starts at offset 0, and "" otherwise. Callers have already established that
// the regex matches path.
func (r *pathRegex) matchedPrefix(path string) string {
	if r.whole {
		return path
	}
	loc := r.re.FindStringIndex(path)
	if loc == nil || loc[0] != 0 {
		return ""
	}
	return path[:loc[1]]
}
