package gemini

import (
	"context"
	"encoding/json"
	"errors"

	"net/http"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/testkit"
)

const testModel = "gemini-2.5-flash"

// newTestProvider returns an adapter talking to m over real sockets.
func newTestProvider(t *testing.T, m *testkit.MockGemini, headers map[string]string) *Provider {
	t.Helper()
	p, err := New(config.Provider{Name: "g", Type: "gemini", BaseURL: m.URL, APIKeys: []string{"k1"}, Headers: headers},
		llm.Options{Client: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func call(r *llm.Request) *llm.Call { return &llm.Call{Model: testModel, Key: "k1", Request: r} }

func userText(s string) llm.Message {
	return llm.Message{Role: llm.RoleUser, Content: []llm.Part{{Type: llm.PartText, Text: s}}}
}

func textMsg(role llm.Role, s string) llm.Message {
	return llm.Message{Role: role, Content: []llm.Part{{Type: llm.PartText, Text: s}}}
}

func ptr[T any](v T) *T { return &v }

// body decodes a recorded request body into generic JSON.
func body(t *testing.T, r testkit.GeminiRequest) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("request body %s: %v", r.Body, err)
	}
	return m
}

// jsonEq reports whether a and b encode to the same JSON.
func jsonEq(t *testing.T, got any, want string) bool {
	t.Helper()
	g, _ := json.Marshal(got)
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want JSON %s: %v", want, err)
	}
	wb, _ := json.Marshal(w)
	var gn any
	_ = json.Unmarshal(g, &gn)
	gb, _ := json.Marshal(gn)
	return string(gb) == string(wb)
}

// collect reads a stream to its end, with a generous bound on time.
func collect(t *testing.T, s llm.Stream) ([]llm.Event, error) {
	t.Helper()
	type result struct {
		evs []llm.Event
		err error
	}
	done := make(chan result, 1)
	go func() {
		var evs []llm.Event
		for {
			ev, err := s.Next()
			if err != nil {
				done <- result{evs, err}
				return
			}
			evs = append(evs, ev)
		}
	}()
	select {
	case r := <-done:
		return r.evs, r.err
	case <-time.After(20 * time.Second):
		t.Fatal("stream did not end")
		return nil, nil
	}
}

// providerError asserts err is a *llm.ProviderError of class c.
func providerError(t *testing.T, err error, c llm.Class) *llm.ProviderError {
	t.Helper()
	var pe *llm.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *llm.ProviderError", err, err)
	}
	if pe.Class != c {
		t.Fatalf("class %v, want %v (%v)", pe.Class, c, err)
	}
	return pe
}

// streamAll opens a stream and collects it; it fails on open errors.
func streamAll(t *testing.T, p *Provider, c *llm.Call) ([]llm.Event, error) {
	t.Helper()
	s, err := p.Stream(context.Background(), c)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	defer s.Close()
	return collect(t, s)
}

func configFor(base string) config.Provider {
	return config.Provider{Name: "g", Type: "gemini", BaseURL: base}
}
