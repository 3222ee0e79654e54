package ai_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/sluicegw/sluice/internal/testkit"
)

// TestAIProviderFromAdminAPI creates a provider (its key sealed in the
// store) and a model through the admin API, then calls the model: the
// real path from the console to a provider, through the database.
func TestAIProviderFromAdminAPI(t *testing.T) {
	t.Setenv("SLUICE_ADMIN_TOKEN", "admin-token-for-provider-test")
	e := startAI(t, "", "", "")
	e.g.WaitAdminAPI()
	mock := testkit.StartMockLLM(t, "openai")
	admin := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, e.g.AdminURL+"/api/v1"+path, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer admin-token-for-provider-test")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := admin("POST", "/ai/providers", fmt.Sprintf(`{"name":"stored","type":"openai-compatible","base_url":%q,"api_keys":["sk-stored-secret-1"]}`, mock.URL+"/v1")); code != 201 {
		t.Fatalf("create provider: %d %s", code, body)
	}
	if code, body := admin("POST", "/ai/models", `{"name":"stored-model","targets":[{"provider":"stored","model":"tiny"}]}`); code != 201 {
		t.Fatalf("create model: %d %s", code, body)
	}
	if _, body := admin("GET", "/ai/providers/stored", ""); strings.Contains(body, "sk-stored-secret-1") {
		t.Fatalf("the admin API shows the provider key: %s", body)
	}
	mock.Default = testkit.LLMReply{Text: "from the stored provider"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := e.openai.Chat.Completions.New(ctx(t), openai.ChatCompletionNewParams{Model: "stored-model",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		if err == nil {
			if out.Choices[0].Message.Content != "from the stored provider" {
				t.Fatalf("answer = %q", out.Choices[0].Message.Content)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stored model never served: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := mock.Last().Header.Get("Authorization"); got != "Bearer sk-stored-secret-1" {
		t.Fatalf("the provider got %q", got)
	}
}
