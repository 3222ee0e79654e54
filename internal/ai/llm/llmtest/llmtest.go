// Package llmtest holds what the wire-format packages' tests share: golden
// files, a recorder that stands in for a provider on a real socket, a
// capturing round tripper for fuzz targets, the canonical events as JSON,
// and a check that an official SDK's response type takes a JSON document
// whole. It is imported by tests only.
package llmtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// Golden compares got with the file at path; with update it rewrites the
// file instead.
func Golden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// Indent returns the JSON document b indented by two spaces, with a final
// newline; it fails the test when b is not JSON.
func Indent(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// MarshalIndent renders v as indented JSON with a final newline.
func MarshalIndent(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

var eventNames = map[llm.EventType]string{
	llm.EventStart: "start", llm.EventText: "text", llm.EventToolStart: "tool_start",
	llm.EventToolArgs: "tool_args", llm.EventFinish: "finish", llm.EventUsage: "usage",
}

// EventJSON is ev as a JSON object holding only the fields its type uses.
func EventJSON(ev llm.Event) map[string]any {
	m := map[string]any{"type": eventNames[ev.Type]}
	if ev.Type == llm.EventToolStart || ev.Type == llm.EventToolArgs {
		m["index"] = ev.Index
	}
	for k, v := range map[string]string{"text": ev.Text, "id": ev.ID, "name": ev.Name, "model": ev.Model, "finish": string(ev.Finish)} {
		if v != "" {
			m[k] = v
		}
	}
	if ev.Type == llm.EventUsage {
		m["usage"] = ev.Usage
	}
	return m
}

// Drain reads s until it ends or max events were read, and returns the
// events and the error that ended it (nil when max was reached).
func Drain(s llm.Stream, max int) ([]llm.Event, error) {
	var evs []llm.Event
	for len(evs) < max {
		ev, err := s.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// Recorded is one request a Recorder received.
type Recorded struct {
	// Path is the request path with its query.
	Path   string
	Header http.Header
	Body   []byte
}

// Recorder is a provider stand-in on a real socket: it records each
// request and answers with the body its Answer function picks.
type Recorder struct {
	URL    string
	Client *http.Client
	// Answer gives the content type and body of the answer to a request
	// for path with body.
	Answer func(path string, body []byte) (contentType string, answer []byte)

	mu   sync.Mutex
	reqs []Recorded
}

// NewRecorder starts a Recorder; it is closed when the test ends.
func NewRecorder(t testing.TB, answer func(path string, body []byte) (string, []byte)) *Recorder {
	rec := &Recorder{Answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, Recorded{Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
		answer := rec.Answer
		rec.mu.Unlock()
		ct, b := answer(r.URL.Path, body)
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	rec.URL, rec.Client = srv.URL, srv.Client()
	return rec
}

// Last returns the last request received; it fails the test when none was.
func (r *Recorder) Last(t testing.TB) Recorded {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("the recorder received no request")
	}
	return r.reqs[len(r.reqs)-1]
}

// Capture is an http.RoundTripper that keeps the last request body and
// answers every request with Status and Body, without a socket (for fuzz
// targets, where a listener per input would be too slow).
type Capture struct {
	Status      int
	ContentType string
	Body        []byte
	// Got is the last request body.
	Got []byte
}

// RoundTrip implements http.RoundTripper.
func (c *Capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.Got = nil
	if r.Body != nil {
		c.Got, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	h := http.Header{"Content-Type": {c.ContentType}}
	return &http.Response{StatusCode: c.Status, Header: h, Body: io.NopCloser(bytes.NewReader(c.Body)), Request: r}, nil
}

// CaptureClient returns an HTTP client sending through c.
func CaptureClient(c *Capture) *http.Client { return &http.Client{Transport: c} }

// SSEData returns the data of each event of an SSE transcript with its
// event name ("" when it has none), for checks with the SDKs' types.
// It assumes LF or CRLF line ends and one data line per event.
func SSEData(transcript []byte) (names []string, datas [][]byte) {
	s := strings.ReplaceAll(string(transcript), "\r\n", "\n")
	for _, ev := range strings.Split(s, "\n\n") {
		var name, data string
		has := false
		for _, line := range strings.Split(ev, "\n") {
			switch {
			case strings.HasPrefix(line, "event:"):
				name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data, has = strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "), true
			}
		}
		if has {
			names, datas = append(names, name), append(datas, []byte(data))
		}
	}
	return names, datas
}

// Render replays a provider stream's events and end through an inbound
// stream writer the way the gateway does: every event, then done when the
// stream ended cleanly (io.EOF after a Finish), else fail with the message
// the gateway sends for a broken stream.
func Render(evs []llm.Event, end error, event func(llm.Event) error, done func() error, fail func(message string) error) error {
	finished := false
	for _, ev := range evs {
		finished = finished || ev.Type == llm.EventFinish
		if err := event(ev); err != nil {
			return err
		}
	}
	if errors.Is(end, io.EOF) && finished {
		return done()
	}
	return fail("The model provider failed mid-stream; the answer is incomplete.")
}

// StreamJSON is a stream's canonical events and how it ended, as the
// indented JSON of the .events.json golden files.
func StreamJSON(t testing.TB, evs []llm.Event, end error) []byte {
	t.Helper()
	out := struct {
		Events []map[string]any `json:"events"`
		End    string           `json:"end"`
	}{Events: []map[string]any{}, End: "<nil>"}
	if end != nil {
		out.End = end.Error()
	}
	for _, ev := range evs {
		out.Events = append(out.Events, EventJSON(ev))
	}
	return MarshalIndent(t, out)
}

// Want is what a stream's events say the answer is, for comparison with
// what an SDK accumulates from the rendered stream.
type Want struct {
	Text  string
	Tools []llm.ToolCall
}

// WantOf folds canonical events into the answer they carry.
func WantOf(evs []llm.Event) Want {
	var w Want
	for _, ev := range evs {
		switch ev.Type {
		case llm.EventText:
			w.Text += ev.Text
		case llm.EventToolStart:
			for len(w.Tools) <= ev.Index {
				w.Tools = append(w.Tools, llm.ToolCall{})
			}
			w.Tools[ev.Index].ID, w.Tools[ev.Index].Name = ev.ID, ev.Name
		case llm.EventToolArgs:
			if ev.Index < len(w.Tools) {
				w.Tools[ev.Index].Arguments += ev.Text
			}
		}
	}
	return w
}
