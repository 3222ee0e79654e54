package ai_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sluicegw/sluice/internal/testkit"
)

// TestNodeSDKs runs the official Node SDKs (npm openai and
// @anthropic-ai/sdk, testdata/node) against the gateway: chat, streams,
// tool calls and typed errors, for an OpenAI and an Anthropic provider.
// It needs node and `npm ci` in testdata/node (.ci/run does both); it
// skips without them locally and fails under CI.
func TestNodeSDKs(t *testing.T) {
	dir := filepath.Join("testdata", "node")
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "openai"))
	if err != nil || modErr != nil {
		msg := "SKIPPED: node or testdata/node/node_modules missing (run `npm ci` in internal/ai/testdata/node)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	e := startAI(t, "", "", "")
	for _, m := range []*testkit.MockLLM{e.oa, e.an} {
		m.Default = testkit.LLMReply{Text: "Hello from the mock.", Usage: testkit.LLMUsage{Input: 9, Output: 4}}
	}
	// Per model the script asks: a chat, a streamed tool call, then
	// messages answered by the default.
	hello := testkit.LLMReply{Text: "Hello from the mock.", Usage: testkit.LLMUsage{Input: 9, Output: 4}}
	for _, m := range []*testkit.MockLLM{e.oa, e.an} {
		m.Push(hello, testkit.LLMReply{ToolCalls: []testkit.LLMToolCall{{ID: "call_n", Name: "get_weather", Args: `{"city":"Nice"}`, ArgChunk: 4}}})
	}
	cmd := exec.Command(node, "sdk.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SLUICE_URL="+e.g.URL, "SLUICE_KEY="+aiKey)
	out, err := cmd.CombinedOutput()
	t.Logf("node sdk.test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the Node SDK checks failed: %v", err)
	}
}
