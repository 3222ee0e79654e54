package llmtest

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// CheckEvents checks a stream's events and end against the canonical
// contract (llm.Stream): Start first and only first; tool calls numbered
// from 0 in the order they start, arguments only for started calls; at
// most one Finish, then nothing but Usage; io.EOF only after a Finish,
// with every tool call then holding some arguments; any other end a
// *llm.ProviderError.
func CheckEvents(t testing.TB, evs []llm.Event, end error) {
	t.Helper()
	finished := false
	var args []string
	for i, ev := range evs {
		switch {
		case (i == 0) != (ev.Type == llm.EventStart):
			t.Fatalf("event %d is %v", i, ev.Type)
		case finished && ev.Type != llm.EventUsage:
			t.Fatalf("event %d (%v) after the Finish", i, ev.Type)
		}
		switch ev.Type {
		case llm.EventFinish:
			finished = true
		case llm.EventToolStart:
			if ev.Index != len(args) {
				t.Fatalf("tool start %+v, want index %d", ev, len(args))
			}
			args = append(args, "")
		case llm.EventToolArgs:
			if ev.Index < 0 || ev.Index >= len(args) || ev.Text == "" {
				t.Fatalf("tool args %+v with %d calls started", ev, len(args))
			}
			args[ev.Index] += ev.Text
		}
	}
	if errors.Is(end, io.EOF) {
		if !finished {
			t.Fatal("a clean end without a Finish")
		}
		for i, a := range args {
			if a == "" {
				t.Fatalf("tool call %d ended without arguments", i)
			}
		}
		return
	}
	var pe *llm.ProviderError
	if !errors.As(end, &pe) {
		t.Fatalf("end %v (%T) is not a *llm.ProviderError", end, end)
	}
}

// CheckStreamEnds drains s (a fuzzed body): it must end (an error, io.EOF
// included, within max events), give the same error again after the end,
// and keep the canonical contract (CheckEvents).
func CheckStreamEnds(t testing.TB, s llm.Stream, max int) {
	t.Helper()
	evs, err := Drain(s, max)
	if err == nil {
		t.Fatal("the stream did not end")
	}
	if _, again := s.Next(); again != err {
		t.Fatalf("Next after the end gave %v, then %v", err, again)
	}
	CheckEvents(t, evs, err)
}

// AddSeeds adds the files of testdata matching pattern to f's corpus.
func AddSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
}
