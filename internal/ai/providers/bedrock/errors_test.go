package bedrock

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/testkit"
)

func hiCall(key string) *llm.Call {
	return &llm.Call{Model: "anthropic.claude-3-haiku-20240307-v1:0", Key: key, Request: &llm.Request{Messages: []llm.Message{userText("hi")}}}
}

// TestErrorClasses sends each error Bedrock answers with (status, type and
// message as the service sends them) through Chat and Stream.
func TestErrorClasses(t *testing.T) {
	cases := []struct {
		status int
		typ    string
		msg    string
		class  llm.Class
	}{
		{429, "ThrottlingException", "Too many requests, please wait before trying again.", llm.ClassRateLimit},
		{400, "ServiceQuotaExceededException", "Your request exceeds the service quota for your account.", llm.ClassRateLimit},
		{403, "AccessDeniedException", "You don't have access to the model with the specified model ID.", llm.ClassAuth},
		{403, "UnrecognizedClientException", "The security token included in the request is invalid.", llm.ClassAuth},
		{403, "ExpiredTokenException", "The security token included in the request is expired", llm.ClassAuth},
		{403, "", "", llm.ClassAuth},
		{400, "ValidationException", "Input is too long for requested model.", llm.ClassContextWindow},
		{400, "ValidationException", "prompt is too long: 210000 tokens > 200000 maximum", llm.ClassContextWindow},
		{400, "ValidationException", "The model returned the following errors: input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000", llm.ClassContextWindow},
		{400, "ValidationException", "messages.1.content.0: the text field is blank", llm.ClassCaller},
		{404, "ResourceNotFoundException", "Model not found.", llm.ClassCaller},
		{429, "ModelNotReadyException", "The model is not ready to serve inference requests.", llm.ClassOverloaded},
		{500, "InternalServerException", "internal error", llm.ClassOverloaded},
		{503, "ServiceUnavailableException", "Bedrock is unable to process your request.", llm.ClassOverloaded},
		{424, "ModelErrorException", "The request failed when the model processed it.", llm.ClassOverloaded},
		{408, "ModelTimeoutException", "The request took too long to process.", llm.ClassTimeout},
		{502, "", "", llm.ClassOverloaded},
	}
	m := startMock(t)
	p := newProvider(t, m)
	for _, tc := range cases {
		for _, op := range []string{"chat", "stream"} {
			t.Run(op+"/"+tc.typ+"/"+tc.msg, func(t *testing.T) {
				m.Reply(testkit.BedrockReply{Status: tc.status, ErrorType: tc.typ, Message: tc.msg})
				var err error
				if op == "chat" {
					_, err = p.Chat(context.Background(), hiCall(testCred.Key()))
				} else {
					_, err = p.Stream(context.Background(), hiCall(testCred.Key()))
				}
				var pe *llm.ProviderError
				if !errors.As(err, &pe) {
					t.Fatalf("got %v, want *llm.ProviderError", err)
				}
				if pe.Class != tc.class || pe.Status != tc.status || pe.Type != tc.typ || pe.Message != tc.msg {
					t.Errorf("got class %v status %d type %q message %q; want %v %d %q %q", pe.Class, pe.Status, pe.Type, pe.Message, tc.class, tc.status, tc.typ, tc.msg)
				}
			})
		}
	}
}

func TestRetryAfter(t *testing.T) {
	m := startMock(t)
	m.Reply(testkit.BedrockReply{Status: 429, ErrorType: "ThrottlingException", Message: "slow down", Header: http.Header{"Retry-After": {"7"}}})
	_, err := newProvider(t, m).Chat(context.Background(), hiCall(testCred.Key()))
	var pe *llm.ProviderError
	if !errors.As(err, &pe) || pe.RetryAfter != 7*time.Second || pe.Class != llm.ClassRateLimit {
		t.Fatalf("got %v", err)
	}
}

func TestTransportErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		p, err := New(config.Provider{Name: "aws", Region: "us-east-1", BaseURL: "http://" + testkit.RefusingAddr(t), APIKeys: []string{testCred.Key()}}, llm.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Chat(context.Background(), hiCall(testCred.Key()))
		var pe *llm.ProviderError
		if !errors.As(err, &pe) || pe.Class != llm.ClassConnect {
			t.Fatalf("got %v, want ClassConnect", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		m := startMock(t)
		m.Reply(testkit.BedrockReply{Delay: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := newProvider(t, m).Chat(ctx, hiCall(testCred.Key()))
		var pe *llm.ProviderError
		if !errors.As(err, &pe) || pe.Class != llm.ClassTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want ClassTimeout", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		m := startMock(t)
		m.Reply(testkit.BedrockReply{Delay: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		start := time.Now()
		_, err := newProvider(t, m).Chat(ctx, hiCall(testCred.Key()))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("not the Converse shape", func(t *testing.T) {
		up := testkit.Start(t, testkit.Respond(200, http.Header{"Content-Type": {"application/json"}}, `{"completion":"hi"}`))
		p, err := New(config.Provider{Name: "aws", Region: "us-east-1", BaseURL: up.URL, APIKeys: []string{testCred.Key()}}, llm.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Chat(context.Background(), hiCall(testCred.Key()))
		var pe *llm.ProviderError
		if !errors.As(err, &pe) || pe.Class != llm.ClassBadResponse {
			t.Fatalf("got %v, want ClassBadResponse", err)
		}
		_, err = p.Stream(context.Background(), hiCall(testCred.Key()))
		if !errors.As(err, &pe) || pe.Class != llm.ClassBadResponse {
			t.Fatalf("stream: got %v, want ClassBadResponse (not an event stream)", err)
		}
	})
}

func TestCredentials(t *testing.T) {
	t.Run("session token", func(t *testing.T) {
		m := startMock(t)
		if _, err := newProvider(t, m).Chat(context.Background(), hiCall(sessionCred.Key())); err != nil {
			t.Fatalf("%v (%v)", err, m.AuthFailures())
		}
		r := m.Requests()[0]
		if r.AccessKeyID != sessionCred.AccessKeyID || r.SessionToken != sessionCred.SessionToken {
			t.Errorf("signed as %q with token %q", r.AccessKeyID, r.SessionToken)
		}
	})
	t.Run("bearer API key", func(t *testing.T) {
		m := testkit.StartMockBedrock(t, testkit.MockBedrockConfig{APIKeys: []string{testAPIKey}, TLS: true})
		p, err := New(config.Provider{Name: "aws", Region: m.Region, BaseURL: m.URL, APIKeys: []string{testAPIKey}}, llm.Options{Client: m.Client()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Chat(context.Background(), hiCall(testAPIKey)); err != nil {
			t.Fatalf("%v (%v)", err, m.AuthFailures())
		}
		s, err := p.Stream(context.Background(), hiCall(testAPIKey))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := drain(t, s); err.Error() != "EOF" {
			t.Fatal(err)
		}
		for _, r := range m.Requests() {
			if r.Bearer != testAPIKey || r.Header.Get("X-Amz-Date") != "" {
				t.Errorf("request authorised as %+v", r)
			}
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		m := startMock(t)
		bad := testkit.BedrockCredential{AccessKeyID: testCred.AccessKeyID, SecretAccessKey: "not-the-secret"}
		_, err := newProvider(t, m).Chat(context.Background(), hiCall(bad.Key()))
		var pe *llm.ProviderError
		if !errors.As(err, &pe) || pe.Class != llm.ClassAuth || pe.Type != "InvalidSignatureException" {
			t.Fatalf("got %v, want an auth error", err)
		}
	})
	t.Run("malformed pool key", func(t *testing.T) {
		m := startMock(t)
		_, err := newProvider(t, m).Chat(context.Background(), hiCall("a::b"))
		var pe *llm.ProviderError
		if !errors.As(err, &pe) || pe.Class != llm.ClassAuth || strings.Contains(err.Error(), "a::b") {
			t.Fatalf("got %v, want an auth error that does not echo the key", err)
		}
		if len(m.Requests()) != 0 {
			t.Error("a request was sent")
		}
	})
}

func TestSignedHeaders(t *testing.T) {
	m := startMock(t)
	p, err := New(config.Provider{Name: "aws", Region: m.Region, BaseURL: m.URL, APIKeys: []string{testCred.Key()}, Headers: map[string]string{"X-Team": "search"}}, llm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Chat(context.Background(), hiCall(testCred.Key())); err != nil {
		t.Fatalf("%v (%v)", err, m.AuthFailures())
	}
	r := m.Requests()[0]
	if r.Header.Get("X-Team") != "search" || !strings.Contains(r.Header.Get("Authorization"), "x-team") {
		t.Errorf("configured header not sent and signed: %v", r.Header)
	}
}

func TestNew(t *testing.T) {
	ok := config.Provider{Name: "aws", Type: "bedrock", Region: "eu-west-3", APIKeys: []string{testCred.Key(), sessionCred.Key(), testAPIKey}}
	p, err := New(ok, llm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.base.String(); got != "https://bedrock-runtime.eu-west-3.amazonaws.com" {
		t.Errorf("default base URL %s", got)
	}
	secret := "SECRETPART"
	bad := []struct {
		name string
		edit func(*config.Provider)
	}{
		{"no region", func(c *config.Provider) { c.Region = "" }},
		{"no keys", func(c *config.Provider) { c.APIKeys = nil }},
		{"four parts", func(c *config.Provider) { c.APIKeys = []string{"a:" + secret + ":c:d"} }},
		{"empty part", func(c *config.Provider) { c.APIKeys = []string{"AKID::" + secret} }},
		{"space", func(c *config.Provider) { c.APIKeys = []string{"AKID:" + secret + " x"} }},
		{"bearer over http", func(c *config.Provider) { c.BaseURL = "http://127.0.0.1:1"; c.APIKeys = []string{secret} }},
		{"bad base URL", func(c *config.Provider) { c.BaseURL = "ftp://x" }},
		{"authorization header", func(c *config.Provider) { c.Headers = map[string]string{"authorization": "x"} }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			_, err := New(c, llm.Options{})
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the key: %v", err)
			}
		})
	}
}
