package llmtest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/jsonscan/jsonscantest"
)

// What a client sees of the gateway's answers in golden files: the model
// name it asked for and the time of the answer.
const (
	ClientModel   = "smart-model"
	ClientCreated = 1700000000
)

// Inputs lists the input files of testdata/dir: those ending in ext whose
// name has no other dot (the golden outputs beside them have a suffix). It
// fails t when there are fewer than min.
func Inputs(t testing.TB, dir, ext string, min int) []string {
	t.Helper()
	all, _ := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	var files []string
	for _, f := range all {
		if !strings.Contains(strings.TrimSuffix(filepath.Base(f), ext), ".") {
			files = append(files, f)
		}
	}
	if len(files) < min {
		t.Fatalf("only %d input files in testdata/%s", len(files), dir)
	}
	return files
}

// Writer is one inbound API's stream writer, as Render drives it.
type Writer struct {
	Event func(llm.Event) error
	Done  func() error
	Fail  func(message string) error
}

// Writers make the stream writers of the inbound APIs (the openai and
// anthropic packages', which this package cannot import).
type Writers struct {
	OpenAI    func(w io.Writer, includeUsage bool) Writer
	Anthropic func(w io.Writer) Writer
}

// RenderAll renders a canonical stream for each inbound API (OpenAI with
// and without the usage chunk, Anthropic), pins each as base.openai.sse,
// base.openai-nousage.sse and base.anthropic.sse, and reads it back with
// the official SDK.
func (ws Writers) RenderAll(t *testing.T, base string, evs []llm.Event, end error, update bool) {
	t.Helper()
	want := WantOf(evs)
	render := func(name string, w Writer, buf *bytes.Buffer) {
		t.Helper()
		if err := Render(evs, end, w.Event, w.Done, w.Fail); err != nil {
			t.Fatal(err)
		}
		Golden(t, name, buf.Bytes(), update)
	}
	for _, usage := range []bool{true, false} {
		name := base + ".openai.sse"
		if !usage {
			name = base + ".openai-nousage.sse"
		}
		var buf bytes.Buffer
		render(name, ws.OpenAI(&buf, usage), &buf)
		CheckChunkStream(t, name, buf.Bytes(), &want)
	}
	var buf bytes.Buffer
	render(base+".anthropic.sse", ws.Anthropic(&buf), &buf)
	CheckEventStream(t, base+".anthropic.sse", buf.Bytes(), &want)
}

// CheckChunkStream reads an OpenAI stream with the SDK; when want is set
// (a stream the gateway wrote) the SDK must accumulate that answer and end
// with an error exactly when the stream carries one.
func CheckChunkStream(t *testing.T, name string, raw []byte, want *Want, allowed ...string) {
	t.Helper()
	acc, err := ReadChunks(t, name, raw, allowed...)
	if want == nil {
		return
	}
	want.CheckChat(t, name, acc)
	if hasErr := bytes.Contains(raw, []byte(`data: {"error"`)); hasErr != (err != nil) {
		t.Errorf("%s: the SDK's stream ended with %v", name, err)
	}
}

// CheckEventStream is CheckChunkStream for an Anthropic stream.
func CheckEventStream(t *testing.T, name string, raw []byte, want *Want) {
	t.Helper()
	msg, err := ReadEvents(t, name, raw)
	if want == nil {
		return
	}
	want.CheckAnthropic(t, name, msg)
	if hasErr := bytes.Contains(raw, []byte("event: error\n")); hasErr != (err != nil) {
		t.Errorf("%s: the SDK's stream ended with %v", name, err)
	}
}

// ReadFile returns the file at path, failing t when it cannot.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CheckScanner holds a jsonscan reader to encoding/json on the documents
// of testdata/dir: it must take every input (a recording of what
// providers or clients send) itself, and agree on the golden outputs
// beside them.
func CheckScanner[T any](t *testing.T, dir string, scan func([]byte, *T) bool) {
	t.Helper()
	for _, f := range Inputs(t, dir, ".json", 1) {
		jsonscantest.Takes(t, f, ReadFile(t, f), scan)
	}
	outputs, _ := filepath.Glob(filepath.Join("testdata", dir, "*.*.json"))
	for _, f := range outputs {
		jsonscantest.Agrees(t, ReadFile(t, f), scan)
	}
}

// CheckSeeds holds a jsonscan reader to encoding/json on seeds: it must
// take the first taken of them itself (the usual documents) and agree on
// all.
func CheckSeeds[T any](t *testing.T, seeds []string, taken int, scan func([]byte, *T) bool) {
	t.Helper()
	for i, s := range seeds {
		if i < taken {
			jsonscantest.Takes(t, fmt.Sprint("seed ", i), []byte(s), scan)
		} else {
			jsonscantest.Agrees(t, []byte(s), scan)
		}
	}
}

// FuzzScanner is the body of a reader's differential fuzz target: the
// seeds and the testdata files matching pattern (none when "") start the
// corpus, and whatever the reader takes, encoding/json must read the same.
func FuzzScanner[T any](f *testing.F, seeds []string, pattern string, scan func([]byte, *T) bool) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if pattern != "" {
		AddSeeds(f, pattern)
	}
	f.Fuzz(func(t *testing.T, b []byte) { jsonscantest.Agrees(t, b, scan) })
}
