package llmtest

import (
	"errors"
	"io"
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
