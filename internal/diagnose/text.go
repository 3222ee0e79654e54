package diagnose

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report's findings for people: each finding with
// its severity, code, summary, fix and evidence, then a count.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	b.WriteString("\n")
	if r.Route != nil {
		fmt.Fprintf(&b, "route %s", r.Route.Name)
		switch {
		case r.Route.Upstream != "":
			fmt.Fprintf(&b, " -> upstream %s", r.Route.Upstream)
		case r.Route.AI:
			b.WriteString(" -> AI gateway")
		}
		b.WriteString("\n\n")
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%-8s %s: %s\n", strings.ToUpper(string(f.Severity)), f.Code, f.Summary)
		fmt.Fprintf(&b, "  fix: %s\n", f.Fix)
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "  - %s\n", e)
		}
		b.WriteString("\n")
	}
	switch {
	case r.Problems == 0 && r.Warnings == 0:
		b.WriteString("No problems found.\n")
	case r.Problems == 0:
		fmt.Fprintf(&b, "No problems found; %d %s.\n", r.Warnings, plural(r.Warnings, "warning", "warnings"))
	default:
		fmt.Fprintf(&b, "%d %s, %d %s.\n", r.Problems, plural(r.Problems, "problem", "problems"), r.Warnings, plural(r.Warnings, "warning", "warnings"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the whole report as one indented JSON document.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
