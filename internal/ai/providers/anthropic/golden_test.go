package anthropic

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/ai/llm/llmtest"
	"github.com/sluicegw/sluice/internal/ai/providers/openai"
	"github.com/sluicegw/sluice/internal/config"
)

// Golden files pin the translation both ways (-update rewrites the
// outputs, the files without a suffix are the inputs):
//
//	testdata/inbound/NAME.json             a client's Messages request
//	testdata/inbound/NAME.canonical.json   what DecodeMessages makes of it
//	testdata/inbound/NAME.out.json         what each provider flavor sends for it
//	testdata/response/NAME.json            an Anthropic answer
//	testdata/response/NAME.canonical.json  what Chat makes of it
//	testdata/response/NAME.openai.json     that answer as an OpenAI client gets it
//	testdata/response/NAME.anthropic.json  ... and as an Anthropic client gets it
//	testdata/stream/NAME.sse               an Anthropic event stream
//	testdata/stream/NAME.events.json       the canonical events and how it ended
//	testdata/stream/NAME.openai.sse        the stream an OpenAI client gets (include_usage)
//	testdata/stream/NAME.openai-nousage.sse  ... without include_usage
//	testdata/stream/NAME.anthropic.sse     the stream an Anthropic client gets
//
// Every provider answer and everything a client gets is also decoded with
// the official SDK's types (see sdk_test.go).
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// matrixModels is the provider model each flavor is called with.
var matrixModels = map[string]string{
	"openai": "gpt-4o", "azure": "gpt4o-prod", "mistral": "mistral-large-latest",
	"ollama": "llama3.1", "openai-compatible": "meta-llama/Llama-3.1-8B-Instruct", "anthropic": "claude-sonnet-4-5",
}

// matrixTargets builds every provider flavor the gateway has for the OpenAI
// and Anthropic families, all sending to rec.
func matrixTargets(t testing.TB, rec *llmtest.Recorder) map[string]llmtest.Target {
	t.Helper()
	opts := llm.Options{Client: rec.Client}
	out := map[string]llmtest.Target{}
	for _, f := range []openai.Flavor{openai.FlavorOpenAI, openai.FlavorAzure, openai.FlavorMistral, openai.FlavorOllama, openai.FlavorCompatible} {
		base := rec.URL + "/v1"
		if f == openai.FlavorAzure {
			base = rec.URL
		}
		p, err := openai.New(config.Provider{Name: string(f), Type: string(f), BaseURL: base}, opts)
		if err != nil {
			t.Fatal(err)
		}
		out[string(f)] = llmtest.Target{Provider: p, Model: matrixModels[string(f)]}
	}
	a, err := New(config.Provider{Name: "anthropic", Type: "anthropic", BaseURL: rec.URL}, opts)
	if err != nil {
		t.Fatal(err)
	}
	out["anthropic"] = llmtest.Target{Provider: a, Model: matrixModels["anthropic"]}
	return out
}

func TestGoldenInbound(t *testing.T) {
	rec := llmtest.NewMatrixRecorder(t)
	targets := matrixTargets(t, rec)
	for _, f := range llmtest.Inputs(t, "inbound", ".json", 10) {
		base := strings.TrimSuffix(f, ".json")
		t.Run(filepath.Base(base), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			req, err := DecodeMessages(body)
			if err != nil {
				t.Fatalf("DecodeMessages: %v", err)
			}
			llmtest.Golden(t, base+".canonical.json", llmtest.MarshalIndent(t, req), *update)
			llmtest.Golden(t, base+".out.json", llmtest.EncodeAll(t, rec, targets, req), *update)
		})
	}
}
