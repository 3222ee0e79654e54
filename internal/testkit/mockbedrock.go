package testkit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// MockBedrock is a local bedrock-runtime server speaking Converse and
// ConverseStream on the wire as AWS does: JSON answers, errors with the
// x-amzn-ErrorType header, and streams in the binary event-stream framing
// (encoded by the AWS SDK's own encoder, CRCs included).
//
// It authenticates every request as bedrock-runtime would: a SigV4
// signature is recomputed with the AWS SDK signer from the credential
// named in it and compared (a signing bug fails the request with 403
// InvalidSignatureException), and a bearer token must be one of the
// configured Bedrock API keys. It validates request bodies against the
// Converse rules that matter to an adapter (known fields only, one member
// per union, alternating roles starting with user, tool results answering
// the previous turn's tool uses, a toolConfig wherever tool blocks are,
// reasoningContent in assistant turns only) and, for Anthropic model ids,
// the rules of Anthropic's extended thinking (see validateModelFields),
// answering 400 ValidationException otherwise.
//
// Answers are scripted per test with Reply; the mock records every
// request. It is safe for concurrent use and closed by the test's cleanup.
type MockBedrock struct {
	// URL is the base URL to configure as the provider's base_url.
	URL string
	// Region is the region requests must be signed for.
	Region string

	creds   map[string]BedrockCredential
	apiKeys []string
	srv     *httptest.Server

	mu       sync.Mutex
	script   []BedrockReply
	reqs     []BedrockRequest
	failures []string
}

// BedrockCredential is an AWS credential the mock accepts.
type BedrockCredential struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Key returns c as a sluice bedrock pool key.
func (c BedrockCredential) Key() string {
	k := c.AccessKeyID + ":" + c.SecretAccessKey
	if c.SessionToken != "" {
		k += ":" + c.SessionToken
	}
	return k
}

// MockBedrockConfig configures StartMockBedrock.
type MockBedrockConfig struct {
	// Region defaults to us-east-1.
	Region string
	// Credentials are the AWS credentials whose signatures are accepted.
	Credentials []BedrockCredential
	// APIKeys are the Bedrock API keys accepted as bearer tokens.
	APIKeys []string
	// TLS serves https (with httptest's certificate; see Client), which
	// the AWS SDKs require for bearer tokens.
	TLS bool
}

// BedrockReply scripts one answer. A reply with a Status answers an
// error on either operation; otherwise Content, StopReason and Usage make
// the Converse answer, and the ConverseStream answer is Stream, or when
// Stream is nil the events BedrockStreamEvents derives from the reply.
type BedrockReply struct {
	Status    int
	ErrorType string // e.g. ThrottlingException
	Message   string
	// Header is added to the answer (Retry-After…), errors or not.
	Header http.Header
	// Delay holds the answer back (until the request is cancelled at most).
	Delay time.Duration

	Content    []BedrockBlock
	StopReason string // default end_turn
	Usage      BedrockUsage

	Stream []BedrockEvent
}

// BedrockBlock is one content block of an answer: text, a tool use
// whose Input is a JSON object as text, or reasoning.
type BedrockBlock struct {
	Text      string
	ToolUse   *BedrockToolUse
	Reasoning *BedrockReasoning
}

// BedrockReasoning is a reasoningContent block: reasoning Text sealed by
// Signature (a reasoningText), or, when Redacted is set, reasoning the
// provider encrypted (a redactedContent blob).
type BedrockReasoning struct {
	Text, Signature string
	Redacted        []byte
}

// wire returns r as a ReasoningContentBlock.
func (r *BedrockReasoning) wire() map[string]any {
	if r.Redacted != nil {
		return map[string]any{"redactedContent": r.Redacted} // []byte: base64, as AWS encodes a blob
	}
	rt := map[string]any{"text": r.Text}
	if r.Signature != "" {
		rt["signature"] = r.Signature
	}
	return map[string]any{"reasoningText": rt}
}

// BedrockToolUse is a toolUse content block.
type BedrockToolUse struct {
	ID, Name, Input string
}

// BedrockUsage is a TokenUsage: Input excludes the cache counts, as AWS
// reports it.
type BedrockUsage struct {
	Input, Output, CacheRead, CacheWrite int64
}

// BedrockEvent is one step of a scripted stream: after Delay, and once
// Gate (if not nil) is closed, an event
// message of type Type with payload Payload (marshalled to JSON), or an
// exception message of type Exception (e.g. throttlingException) with
// {"message": Payload}; or, when Cut, half of a message and then an
// abruptly closed connection; or Raw bytes written verbatim.
type BedrockEvent struct {
	Delay     time.Duration
	Gate      <-chan struct{}
	Type      string
	Payload   any
	Exception string
	Cut       bool
	Raw       []byte
}

// BedrockRequest is a request as the mock received it.
type BedrockRequest struct {
	// Operation is "converse" or "converse-stream".
	Operation string
	// ModelID is the model id, unescaped from the path.
	ModelID string
	// EscapedPath is the path as sent.
	EscapedPath string
	Header      http.Header
	Body        []byte
	// AccessKeyID and SessionToken are the SigV4 credential used; Bearer
	// the API key used instead.
	AccessKeyID, SessionToken, Bearer string
}

// StartMockBedrock runs a MockBedrock on a fresh 127.0.0.1 port.
func StartMockBedrock(t testing.TB, cfg MockBedrockConfig) *MockBedrock {
	t.Helper()
	m := &MockBedrock{Region: cfg.Region, creds: map[string]BedrockCredential{}, apiKeys: cfg.APIKeys}
	if m.Region == "" {
		m.Region = "us-east-1"
	}
	for _, c := range cfg.Credentials {
		m.creds[c.AccessKeyID] = c
	}
	m.srv = httptest.NewUnstartedServer(http.HandlerFunc(m.serve))
	if cfg.TLS {
		m.srv.StartTLS()
	} else {
		m.srv.Start()
	}
	m.URL = m.srv.URL
	t.Cleanup(m.srv.Close)
	return m
}

// Client returns an HTTP client that trusts the mock's certificate.
func (m *MockBedrock) Client() *http.Client { return m.srv.Client() }

// Close stops the server and closes its connections.
func (m *MockBedrock) Close() { m.srv.Close() }

// Reply appends answers to the script; each request takes the next one.
// With the script empty the mock answers the text "ok".
func (m *MockBedrock) Reply(r ...BedrockReply) {
	m.mu.Lock()
	m.script = append(m.script, r...)
	m.mu.Unlock()
}

// Requests returns the requests received so far, in order (those refused
// for their authentication included).
func (m *MockBedrock) Requests() []BedrockRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]BedrockRequest(nil), m.reqs...)
}

// AuthFailures returns why each refused request failed authentication.
func (m *MockBedrock) AuthFailures() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.failures...)
}

func (m *MockBedrock) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := BedrockRequest{EscapedPath: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body}
	rest, _ := strings.CutPrefix(r.URL.Path, "/model/")
	if i := strings.LastIndexByte(rest, '/'); i > 0 {
		rec.ModelID, rec.Operation = rest[:i], rest[i+1:]
	}
	authErr := m.authenticate(r, body, &rec)
	m.mu.Lock()
	m.reqs = append(m.reqs, rec)
	if authErr != "" {
		m.failures = append(m.failures, authErr)
	}
	var reply BedrockReply
	if authErr == "" && len(m.script) > 0 {
		reply, m.script = m.script[0], m.script[1:]
	} else if authErr == "" {
		reply = BedrockReply{Content: []BedrockBlock{{Text: "ok"}}}
	}
	m.mu.Unlock()

	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("req-%d", len(m.Requests())))
	switch {
	case authErr != "":
		writeBedrockError(w, http.StatusForbidden, authErrType(authErr), authErr)
		return
	case r.Method != http.MethodPost || rec.ModelID == "" || (rec.Operation != "converse" && rec.Operation != "converse-stream"):
		writeBedrockError(w, http.StatusNotFound, "UnknownOperationException", "")
		return
	}
	if msg := validateConverse(body, rec.ModelID); msg != "" {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", msg)
		return
	}
	if reply.Delay > 0 {
		select {
		case <-time.After(reply.Delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range reply.Header {
		w.Header()[k] = v
	}
	if reply.Status != 0 {
		writeBedrockError(w, reply.Status, reply.ErrorType, reply.Message)
		return
	}
	if rec.Operation == "converse" {
		writeConverse(w, &reply)
		return
	}
	events := reply.Stream
	if events == nil {
		events = BedrockStreamEvents(reply, 4)
	}
	streamConverse(w, r.Context(), events)
}

func authErrType(msg string) string {
	if strings.HasPrefix(msg, "signature") {
		return "InvalidSignatureException"
	}
	return "UnrecognizedClientException"
}

// authenticate checks r's bearer token or SigV4 signature and fills the
// credential fields of rec; it returns why it failed, or "".
func (m *MockBedrock) authenticate(r *http.Request, body []byte, rec *BedrockRequest) string {
	authz := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(authz, "Bearer "); ok {
		rec.Bearer = tok
		for _, k := range m.apiKeys {
			if subtle.ConstantTimeCompare([]byte(k), []byte(tok)) == 1 {
				return ""
			}
		}
		return "bearer token is not a known Bedrock API key"
	}
	rest, ok := strings.CutPrefix(authz, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "missing authentication token"
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 {
		return "signature: malformed Credential"
	}
	rec.AccessKeyID = scope[0]
	rec.SessionToken = r.Header.Get("X-Amz-Security-Token")
	cred, known := m.creds[scope[0]]
	if !known {
		return "unknown access key id"
	}
	date := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", date)
	switch {
	case err != nil:
		return "signature: missing or malformed X-Amz-Date"
	case time.Since(t).Abs() > 5*time.Minute:
		return "signature: X-Amz-Date is more than 5 minutes off"
	case scope[1] != date[:8] || scope[2] != m.Region || scope[3] != "bedrock" || scope[4] != "aws4_request":
		return "signature: credential scope " + strings.Join(scope[1:], "/") + " is not for bedrock in " + m.Region
	case subtle.ConstantTimeCompare([]byte(rec.SessionToken), []byte(cred.SessionToken)) != 1:
		return "security token missing or invalid"
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	// Recompute the signature over what arrived, with only the headers
	// the client signed; the signer lists host and content-length itself.
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	check := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}, ContentLength: r.ContentLength}
	for _, h := range signed {
		if h == "host" || h == "content-length" {
			continue
		}
		if v, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
			check.Header[http.CanonicalHeaderKey(h)] = v
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey, SessionToken: cred.SessionToken}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, check, hex.EncodeToString(sum[:]), "bedrock", m.Region, t); err != nil {
		return "signature: " + err.Error()
	}
	if subtle.ConstantTimeCompare([]byte(check.Header.Get("Authorization")), []byte(authz)) != 1 {
		return "signature: the request signature we calculated does not match the signature you provided"
	}
	if !containsAll(signed, "host", "x-amz-date", "content-type") {
		return "signature: host, x-amz-date and content-type must be signed"
	}
	return ""
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, l := range list {
			found = found || l == w
		}
		if !found {
			return false
		}
	}
	return true
}

func writeBedrockError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if typ != "" {
		w.Header().Set("X-Amzn-Errortype", typ+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	}
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Write(b)
}

func (u BedrockUsage) wire() map[string]int64 {
	m := map[string]int64{
		"inputTokens":  u.Input,
		"outputTokens": u.Output,
		"totalTokens":  u.Input + u.Output + u.CacheRead + u.CacheWrite,
	}
	if u.CacheRead != 0 || u.CacheWrite != 0 {
		m["cacheReadInputTokens"] = u.CacheRead
		m["cacheWriteInputTokens"] = u.CacheWrite
	}
	return m
}

func stopReason(r *BedrockReply) string {
	if r.StopReason != "" {
		return r.StopReason
	}
	return "end_turn"
}

func writeConverse(w http.ResponseWriter, r *BedrockReply) {
	content := make([]any, 0, len(r.Content))
	for _, b := range r.Content {
		switch {
		case b.ToolUse != nil:
			content = append(content, map[string]any{"toolUse": map[string]any{
				"toolUseId": b.ToolUse.ID, "name": b.ToolUse.Name, "input": json.RawMessage(b.ToolUse.Input),
			}})
		case b.Reasoning != nil:
			content = append(content, map[string]any{"reasoningContent": b.Reasoning.wire()})
		default:
			content = append(content, map[string]any{"text": b.Text})
		}
	}
	body, err := json.Marshal(map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
		"stopReason": stopReason(r),
		"usage":      r.Usage.wire(),
		"metrics":    map[string]any{"latencyMs": 42},
	})
	if err != nil {
		writeBedrockError(w, http.StatusInternalServerError, "InternalServerException", "mock: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// BedrockStreamEvents derives the ConverseStream events of a reply as
// Bedrock sends them: messageStart; per content block, a
// contentBlockStart for tool uses, deltas of at most chunk bytes of text,
// tool input or reasoning text (then one with the reasoning's signature;
// redacted reasoning in one delta), contentBlockStop; messageStop;
// metadata with usage. Payloads carry Bedrock's "p" padding field.
func BedrockStreamEvents(r BedrockReply, chunk int) []BedrockEvent {
	if chunk <= 0 {
		chunk = 4
	}
	const pad = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"
	ev := []BedrockEvent{{Type: "messageStart", Payload: map[string]any{"role": "assistant", "p": pad[:8]}}}
	for i, b := range r.Content {
		if b.Reasoning != nil {
			ev = append(ev, reasoningEvents(i, b.Reasoning, chunk)...)
			ev = append(ev, BedrockEvent{Type: "contentBlockStop", Payload: map[string]any{"contentBlockIndex": i, "p": pad[:12]}})
			continue
		}
		text, key := b.Text, "text"
		if b.ToolUse != nil {
			text, key = b.ToolUse.Input, "toolUse"
			ev = append(ev, BedrockEvent{Type: "contentBlockStart", Payload: map[string]any{
				"contentBlockIndex": i, "p": pad[:5],
				"start": map[string]any{"toolUse": map[string]any{"toolUseId": b.ToolUse.ID, "name": b.ToolUse.Name}},
			}})
		}
		for _, piece := range chunks(text, chunk) {
			var delta any = map[string]any{"text": piece}
			if key == "toolUse" {
				delta = map[string]any{"toolUse": map[string]any{"input": piece}}
			}
			ev = append(ev, BedrockEvent{Type: "contentBlockDelta", Payload: map[string]any{"contentBlockIndex": i, "delta": delta, "p": pad[:3]}})
		}
		ev = append(ev, BedrockEvent{Type: "contentBlockStop", Payload: map[string]any{"contentBlockIndex": i, "p": pad[:12]}})
	}
	return append(ev,
		BedrockEvent{Type: "messageStop", Payload: map[string]any{"stopReason": stopReason(&r), "p": pad[:20]}},
		BedrockEvent{Type: "metadata", Payload: map[string]any{"usage": r.Usage.wire(), "metrics": map[string]any{"latencyMs": 42}, "p": pad}},
	)
}

// reasoningEvents are the contentBlockDelta events of reasoning block i.
// Reasoning blocks have no contentBlockStart: ContentBlockStart has no
// reasoning member.
func reasoningEvents(i int, r *BedrockReasoning, chunk int) []BedrockEvent {
	delta := func(d map[string]any) BedrockEvent {
		return BedrockEvent{Type: "contentBlockDelta", Payload: map[string]any{"contentBlockIndex": i, "delta": map[string]any{"reasoningContent": d}, "p": "abc"}}
	}
	if r.Redacted != nil {
		return []BedrockEvent{delta(map[string]any{"redactedContent": r.Redacted})}
	}
	var ev []BedrockEvent
	for _, piece := range chunks(r.Text, chunk) {
		ev = append(ev, delta(map[string]any{"text": piece}))
	}
	if r.Signature != "" {
		ev = append(ev, delta(map[string]any{"signature": r.Signature}))
	}
	return ev
}

// chunks splits s in pieces of about n bytes, never inside a UTF-8
// sequence (each piece travels as a JSON string).
func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		cut := n
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// EncodeBedrockEvent returns the event-stream message of e (not for Cut
// or Raw events).
func EncodeBedrockEvent(e BedrockEvent) []byte {
	var msg eventstream.Message
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	if e.Exception != "" {
		msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
		msg.Headers.Set(":exception-type", eventstream.StringValue(e.Exception))
		msg.Payload, _ = json.Marshal(map[string]any{"message": e.Payload})
	} else {
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		msg.Headers.Set(":event-type", eventstream.StringValue(e.Type))
		msg.Payload, _ = json.Marshal(e.Payload)
	}
	var b bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&b, msg); err != nil {
		panic(err) // only oversized headers fail, and these are small
	}
	return b.Bytes()
}

func streamConverse(w http.ResponseWriter, ctx context.Context, events []BedrockEvent) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	fl.Flush()
	for _, e := range events {
		if e.Delay > 0 {
			select {
			case <-time.After(e.Delay):
			case <-ctx.Done():
				return
			}
		}
		if e.Gate != nil {
			select {
			case <-e.Gate:
			case <-ctx.Done():
				return
			}
		}
		switch {
		case e.Raw != nil:
			w.Write(e.Raw)
		case e.Cut:
			frame := EncodeBedrockEvent(BedrockEvent{Type: "contentBlockDelta", Payload: map[string]any{"contentBlockIndex": 0, "delta": map[string]any{"text": "lost"}}})
			w.Write(frame[:len(frame)/2])
			fl.Flush()
			panic(http.ErrAbortHandler) // drop the connection, no end of body
		default:
			w.Write(EncodeBedrockEvent(e))
		}
		fl.Flush()
	}
}
