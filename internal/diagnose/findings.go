package diagnose

import (
	"slices"
	"sort"
)

// findings collects findings in the order they are found. Two findings
// with the same code, route, upstream and target are one: the first one's
// summary and fix stay, the evidence is merged, and the more severe
// severity wins.
type findings struct {
	list  []*Finding
	index map[string]*Finding
}

func newFindings() *findings { return &findings{index: map[string]*Finding{}} }

// add records f, merging it into an earlier finding with the same key.
func (fs *findings) add(f Finding) {
	key := f.Code + "\x00" + f.Route + "\x00" + f.Upstream + "\x00" + f.Target
	if old, ok := fs.index[key]; ok {
		if f.Severity.rank() < old.Severity.rank() {
			old.Severity = f.Severity
		}
		for _, e := range f.Evidence {
			if !slices.Contains(old.Evidence, e) {
				old.Evidence = append(old.Evidence, e)
			}
		}
		return
	}
	if f.Evidence == nil {
		f.Evidence = []string{}
	}
	fs.index[key] = &f
	fs.list = append(fs.list, &f)
}

// sorted returns the findings, problems first, in the order found within
// a severity.
func (fs *findings) sorted() []Finding {
	out := make([]Finding, len(fs.list))
	for i, f := range fs.list {
		out[i] = *f
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity.rank() < out[j].Severity.rank() })
	return out
}
