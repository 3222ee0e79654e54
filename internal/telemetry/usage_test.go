package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/store"
)

// recordingSink keeps what it is given; it fails while failing is set.
// (The store itself is exercised by the AI end-to-end tests; this pins
// the writer's batching, retries and shedding.)
type recordingSink struct {
	mu      sync.Mutex
	batches [][]store.UsageEntry
	failing bool
}

func (s *recordingSink) InsertUsage(_ context.Context, es []store.UsageEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing {
		return errors.New("store down")
	}
	s.batches = append(s.batches, append([]store.UsageEntry(nil), es...))
	return nil
}

func (s *recordingSink) ids() (ids []string, biggest int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.batches {
		biggest = max(biggest, len(b))
		for _, e := range b {
			ids = append(ids, e.RequestID)
		}
	}
	return ids, biggest
}

func newTestWriter(sink UsageSink, every time.Duration) *UsageWriter {
	w := &UsageWriter{sink: sink, log: slog.New(slog.DiscardHandler), kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop(every)
	return w
}

func TestUsageWriterBatches(t *testing.T) {
	sink := &recordingSink{}
	w := newTestWriter(sink, time.Hour) // no tick: only full batches and Close write
	for i := range 600 {
		w.RecordUsage(store.UsageEntry{RequestID: string(rune('a' + i%26))})
	}
	// A full batch is written without a tick.
	deadline := time.Now().Add(5 * time.Second)
	for ids, _ := sink.ids(); len(ids) < usageBatch; ids, _ = sink.ids() {
		if time.Now().After(deadline) {
			t.Fatalf("%d written; full batches should be written at once", len(ids))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids, biggest := sink.ids()
	if len(ids) != 600 || biggest > usageBatch {
		t.Fatalf("%d entries written, biggest insert %d; want 600 in inserts of at most %d", len(ids), biggest, usageBatch)
	}
	if written, dropped := w.Stats(); written != 600 || dropped != 0 {
		t.Fatalf("stats written %d dropped %d", written, dropped)
	}
	w.RecordUsage(store.UsageEntry{})
	if _, dropped := w.Stats(); dropped != 1 {
		t.Fatal("an entry recorded after Close must be dropped and counted")
	}
}

func TestUsageWriterRetriesThenSheds(t *testing.T) {
	sink := &recordingSink{failing: true}
	w := newTestWriter(sink, 10*time.Millisecond)
	for range 10 {
		w.RecordUsage(store.UsageEntry{RequestID: "kept"})
	}
	time.Sleep(100 * time.Millisecond) // several failed ticks
	// While the store fails, the batch is capped: the excess is shed.
	for range 5 * usageBatch {
		w.RecordUsage(store.UsageEntry{RequestID: "burst"})
	}
	time.Sleep(100 * time.Millisecond)
	sink.mu.Lock()
	sink.failing = false
	sink.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		written, dropped := w.Stats()
		if written+dropped == 10+5*usageBatch {
			if written != 4*usageBatch || dropped != usageBatch+10 {
				t.Fatalf("written %d dropped %d; want the capped batch (%d) written, the rest shed", written, dropped, 4*usageBatch)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("written %d dropped %d after the store came back", written, dropped)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ids, _ := sink.ids()
	if ids[0] != "kept" {
		t.Fatalf("the entries of the failed batch were not written first: %q", ids[0])
	}
	w.Close(context.Background())
}
