package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/auth/bearer"
)

// These tests drive the mock with the official AWS SDK client: the SDK
// signs the requests (so the mock's signature check is proven against the
// real signer's wire output, ARN paths included) and decodes the answers
// with its own types (so the mock's JSON and event-stream framing are
// proven against the real decoder).

var mockCred = BedrockCredential{AccessKeyID: "AKIDMOCKBEDROCK", SecretAccessKey: "mock/secret+key"}

// arnModel is an inference profile ARN: ':' and '/' in the path segment.
const arnModel = "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5"

func sdkClient(m *MockBedrock, cred BedrockCredential, bearerKey string) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:       m.Region,
		BaseEndpoint: aws.String(m.URL),
		Retryer:      aws.NopRetryer{},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey, SessionToken: cred.SessionToken}, nil
		}),
		BearerAuthTokenProvider: bearer.StaticTokenProvider{Token: bearer.Token{Value: bearerKey}},
		AuthSchemePreference:    authPreference(bearerKey),
		HTTPClient:              ownBodyClient{m.Client()},
	})
}

// ownBodyClient gives the transport a request body of its own. The SDK
// closes the body it built as soon as the response head arrives; on a
// loopback socket the head can arrive before the transport has read that
// body to its end, and a body closed under the transport makes it drop the
// connection, stream and all.
type ownBodyClient struct{ c *http.Client }

func (o ownBodyClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	return o.c.Do(req)
}

func authPreference(bearerKey string) []string {
	if bearerKey != "" {
		return []string{"httpBearerAuth"}
	}
	return []string{"sigv4"}
}

func converseInput() *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{
		ModelId: aws.String(arnModel),
		System:  []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "be brief"}},
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "weather in Paris and Rome?"}},
		}},
		ToolConfig: &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{
			Name:        aws.String("get_weather"),
			InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{"type": "object"})},
		}}}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(100), Temperature: aws.Float32(0.5)},
	}
}

var toolReply = BedrockReply{
	Content: []BedrockBlock{
		{Text: "Checking both."},
		{ToolUse: &BedrockToolUse{ID: "tu_1", Name: "get_weather", Input: `{"city":"Paris"}`}},
		{ToolUse: &BedrockToolUse{ID: "tu_2", Name: "get_weather", Input: `{"city":"Rome"}`}},
	},
	StopReason: "tool_use",
	Usage:      BedrockUsage{Input: 10, Output: 20, CacheRead: 100, CacheWrite: 5},
}

func TestMockBedrockConverseWithSDK(t *testing.T) {
	m := StartMockBedrock(t, MockBedrockConfig{Region: "us-west-2", Credentials: []BedrockCredential{mockCred}})
	m.Reply(toolReply)
	out, err := sdkClient(m, mockCred, "").Converse(context.Background(), converseInput())
	if err != nil {
		t.Fatalf("Converse: %v (auth failures %v)", err, m.AuthFailures())
	}
	if out.StopReason != types.StopReasonToolUse {
		t.Errorf("stop reason %q", out.StopReason)
	}
	u := out.Usage
	if *u.InputTokens != 10 || *u.OutputTokens != 20 || *u.TotalTokens != 135 || *u.CacheReadInputTokens != 100 || *u.CacheWriteInputTokens != 5 {
		t.Errorf("usage %+v", u)
	}
	msg := out.Output.(*types.ConverseOutputMemberMessage).Value
	if len(msg.Content) != 3 {
		t.Fatalf("content %d blocks", len(msg.Content))
	}
	if txt := msg.Content[0].(*types.ContentBlockMemberText).Value; txt != "Checking both." {
		t.Errorf("text %q", txt)
	}
	tu := msg.Content[2].(*types.ContentBlockMemberToolUse).Value
	var in map[string]string
	if err := tu.Input.UnmarshalSmithyDocument(&in); err != nil || *tu.ToolUseId != "tu_2" || *tu.Name != "get_weather" || in["city"] != "Rome" {
		t.Errorf("tool use %v %v %v %v", *tu.ToolUseId, *tu.Name, in, err)
	}
	reqs := m.Requests()
	if len(reqs) != 1 || reqs[0].ModelID != arnModel || reqs[0].Operation != "converse" || reqs[0].AccessKeyID != mockCred.AccessKeyID {
		t.Fatalf("recorded %+v", reqs)
	}
	if !strings.Contains(reqs[0].EscapedPath, "%3A") || !strings.Contains(reqs[0].EscapedPath, "%2F") {
		t.Errorf("the SDK escaped the ARN as %s", reqs[0].EscapedPath)
	}
}

func TestMockBedrockConverseStreamWithSDK(t *testing.T) {
	m := StartMockBedrock(t, MockBedrockConfig{Region: "us-west-2", Credentials: []BedrockCredential{mockCred}})
	m.Reply(toolReply)
	out, err := sdkClient(m, mockCred, "").ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(arnModel), Messages: converseInput().Messages, ToolConfig: converseInput().ToolConfig,
	})
	if err != nil {
		t.Fatalf("ConverseStream: %v (auth failures %v)", err, m.AuthFailures())
	}
	es := out.GetStream()
	defer es.Close()
	var text string
	inputs := map[int32]string{}
	var order []string
	var stop types.StopReason
	var usage *types.TokenUsage
	for ev := range es.Events() {
		switch e := ev.(type) {
		case *types.ConverseStreamOutputMemberMessageStart:
			order = append(order, "start:"+string(e.Value.Role))
		case *types.ConverseStreamOutputMemberContentBlockStart:
			order = append(order, "tool:"+*e.Value.Start.(*types.ContentBlockStartMemberToolUse).Value.ToolUseId)
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			switch d := e.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				text += d.Value
			case *types.ContentBlockDeltaMemberToolUse:
				inputs[*e.Value.ContentBlockIndex] += *d.Value.Input
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			stop = e.Value.StopReason
		case *types.ConverseStreamOutputMemberMetadata:
			usage = e.Value.Usage
		}
	}
	if err := es.Err(); err != nil {
		t.Fatal(err)
	}
	if text != "Checking both." || inputs[1] != `{"city":"Paris"}` || inputs[2] != `{"city":"Rome"}` {
		t.Errorf("text %q inputs %q", text, inputs)
	}
	if strings.Join(order, " ") != "start:assistant tool:tu_1 tool:tu_2" || stop != types.StopReasonToolUse {
		t.Errorf("order %v stop %q", order, stop)
	}
	if usage == nil || *usage.CacheReadInputTokens != 100 {
		t.Errorf("usage %+v", usage)
	}
}

func TestMockBedrockStreamExceptionWithSDK(t *testing.T) {
	m := StartMockBedrock(t, MockBedrockConfig{Credentials: []BedrockCredential{mockCred}})
	events := BedrockStreamEvents(BedrockReply{Content: []BedrockBlock{{Text: "partial answer"}}}, 4)[:3]
	m.Reply(BedrockReply{Stream: append(events, BedrockEvent{Exception: "throttlingException", Payload: "slow down"})})
	in := converseInput()
	out, err := sdkClient(m, mockCred, "").ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("amazon.nova-lite-v1:0"), Messages: in.Messages})
	if err != nil {
		t.Fatal(err)
	}
	es := out.GetStream()
	n := 0
	for range es.Events() {
		n++
	}
	var te *types.ThrottlingException
	if err := es.Err(); !errors.As(err, &te) || te.ErrorMessage() != "slow down" {
		t.Fatalf("after %d events: %v, want a ThrottlingException", n, err)
	}
	if n != 3 {
		t.Errorf("%d events before the exception, want 3", n)
	}
}

func TestMockBedrockErrorsWithSDK(t *testing.T) {
	m := StartMockBedrock(t, MockBedrockConfig{Credentials: []BedrockCredential{mockCred}})
	m.Reply(BedrockReply{Status: http.StatusTooManyRequests, ErrorType: "ThrottlingException", Message: "Too many requests", Header: http.Header{"Retry-After": {"3"}}})
	_, err := sdkClient(m, mockCred, "").Converse(context.Background(), converseInput())
	var te *types.ThrottlingException
	if !errors.As(err, &te) || te.ErrorMessage() != "Too many requests" {
		t.Fatalf("got %v, want ThrottlingException", err)
	}

	m.Reply(BedrockReply{Status: http.StatusBadRequest, ErrorType: "ValidationException", Message: "Input is too long for requested model."})
	_, err = sdkClient(m, mockCred, "").Converse(context.Background(), converseInput())
	var ve *types.ValidationException
	if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "too long") {
		t.Fatalf("got %v, want ValidationException", err)
	}
}

func TestMockBedrockAuth(t *testing.T) {
	session := BedrockCredential{AccessKeyID: "ASIAMOCK", SecretAccessKey: "s3cr3t", SessionToken: "FwoGZXIvYXdzEJr//token=="}
	m := StartMockBedrock(t, MockBedrockConfig{Credentials: []BedrockCredential{mockCred, session}, APIKeys: []string{"bedrock-api-key-bW9jaw=="}, TLS: true})
	ctx := context.Background()

	if _, err := sdkClient(m, session, "").Converse(ctx, converseInput()); err != nil {
		t.Fatalf("session credential: %v (%v)", err, m.AuthFailures())
	}
	if got := m.Requests()[0].SessionToken; got != session.SessionToken {
		t.Errorf("session token %q", got)
	}
	if _, err := sdkClient(m, BedrockCredential{}, "bedrock-api-key-bW9jaw==").Converse(ctx, converseInput()); err != nil {
		t.Fatalf("bearer: %v (%v)", err, m.AuthFailures())
	}
	if got := m.Requests()[1].Bearer; got != "bedrock-api-key-bW9jaw==" {
		t.Errorf("bearer %q", got)
	}

	bad := []struct {
		name   string
		cred   BedrockCredential
		bearer string
		want   string
	}{
		{"wrong secret", BedrockCredential{AccessKeyID: mockCred.AccessKeyID, SecretAccessKey: "wrong"}, "", "signature"},
		{"unknown key id", BedrockCredential{AccessKeyID: "AKIDOTHER", SecretAccessKey: "x"}, "", "unknown access key"},
		{"missing session token", BedrockCredential{AccessKeyID: session.AccessKeyID, SecretAccessKey: session.SecretAccessKey}, "", "security token"},
		{"unknown bearer", BedrockCredential{}, "bedrock-api-key-other", "bearer"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before := len(m.AuthFailures())
			_, err := sdkClient(m, tc.cred, tc.bearer).Converse(ctx, converseInput())
			if err == nil {
				t.Fatal("accepted")
			}
			f := m.AuthFailures()
			if len(f) != before+1 || !strings.Contains(f[before], tc.want) {
				t.Fatalf("failures %v, want one about %q", f[before:], tc.want)
			}
		})
	}
}

func TestMockBedrockValidates(t *testing.T) {
	m := StartMockBedrock(t, MockBedrockConfig{Credentials: []BedrockCredential{mockCred}})
	in := converseInput()
	in.Messages = append(in.Messages, types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "again"}}})
	_, err := sdkClient(m, mockCred, "").Converse(context.Background(), in)
	var ve *types.ValidationException
	if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "alternate") {
		t.Fatalf("two user turns: got %v, want a ValidationException", err)
	}
}

func TestMockBedrockStreamDelay(t *testing.T) {
	m := StartMockBedrock(t, MockBedrockConfig{Credentials: []BedrockCredential{mockCred}})
	events := BedrockStreamEvents(BedrockReply{Content: []BedrockBlock{{Text: "abcdefgh"}}}, 4)
	events[2].Delay = 50 * time.Millisecond
	m.Reply(BedrockReply{Stream: events})
	start := time.Now()
	out, err := sdkClient(m, mockCred, "").ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("m"), Messages: converseInput().Messages})
	if err != nil {
		t.Fatal(err)
	}
	es := out.GetStream()
	defer es.Close()
	n := 0
	for range es.Events() {
		n++
	}
	if es.Err() != nil || n != len(events) {
		t.Fatalf("%d events, err %v; want %d", n, es.Err(), len(events))
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Error("the delay was not applied")
	}
}

// reasoningReply thinks (signed, then redacted), answers and calls a tool.
var reasoningReply = BedrockReply{
	Content: []BedrockBlock{
		{Reasoning: &BedrockReasoning{Text: "Paris first, then the tool.", Signature: "EqQBCkYIBxgCKkBzaWc="}},
		{Reasoning: &BedrockReasoning{Redacted: []byte("\x00encrypted\xff")}},
		{Text: "Checking."},
		{ToolUse: &BedrockToolUse{ID: "tu_1", Name: "get_weather", Input: `{"city":"Paris"}`}},
	},
	StopReason: "tool_use",
}

func TestMockBedrockReasoningWithSDK(t *testing.T) {
	m := StartMockBedrock(t, MockBedrockConfig{Region: "us-west-2", Credentials: []BedrockCredential{mockCred}})
	m.Reply(reasoningReply)
	out, err := sdkClient(m, mockCred, "").Converse(context.Background(), converseInput())
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	msg := out.Output.(*types.ConverseOutputMemberMessage).Value
	if len(msg.Content) != 4 {
		t.Fatalf("content %d blocks", len(msg.Content))
	}
	rc, ok := msg.Content[0].(*types.ContentBlockMemberReasoningContent)
	if !ok {
		t.Fatalf("block 0 is %T", msg.Content[0])
	}
	rt, ok := rc.Value.(*types.ReasoningContentBlockMemberReasoningText)
	if !ok || *rt.Value.Text != "Paris first, then the tool." || *rt.Value.Signature != "EqQBCkYIBxgCKkBzaWc=" {
		t.Errorf("reasoning text %#v", rc.Value)
	}
	rd, ok := msg.Content[1].(*types.ContentBlockMemberReasoningContent).Value.(*types.ReasoningContentBlockMemberRedactedContent)
	if !ok || string(rd.Value) != "\x00encrypted\xff" {
		t.Errorf("redacted %#v", msg.Content[1])
	}
	if txt, ok := msg.Content[2].(*types.ContentBlockMemberText); !ok || txt.Value != "Checking." {
		t.Errorf("text %#v", msg.Content[2])
	}
	if _, ok := msg.Content[3].(*types.ContentBlockMemberToolUse); !ok {
		t.Errorf("tool use %#v", msg.Content[3])
	}
}

func TestMockBedrockReasoningStreamWithSDK(t *testing.T) {
	m := StartMockBedrock(t, MockBedrockConfig{Region: "us-west-2", Credentials: []BedrockCredential{mockCred}})
	m.Reply(reasoningReply)
	in := converseInput()
	out, err := sdkClient(m, mockCred, "").ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: in.ModelId, Messages: in.Messages, ToolConfig: in.ToolConfig,
	})
	if err != nil {
		t.Fatalf("ConverseStream: %v", err)
	}
	es := out.GetStream()
	defer es.Close()
	thinking, signatures, text := map[int32]string{}, map[int32]string{}, ""
	redacted := map[int32][]byte{}
	var order []string
	for ev := range es.Events() {
		switch e := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockStart:
			order = append(order, fmt.Sprint("start:", *e.Value.ContentBlockIndex))
		case *types.ConverseStreamOutputMemberContentBlockStop:
			order = append(order, fmt.Sprint("stop:", *e.Value.ContentBlockIndex))
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			i := *e.Value.ContentBlockIndex
			switch d := e.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberReasoningContent:
				switch r := d.Value.(type) {
				case *types.ReasoningContentBlockDeltaMemberText:
					thinking[i] += r.Value
				case *types.ReasoningContentBlockDeltaMemberSignature:
					signatures[i] += r.Value
				case *types.ReasoningContentBlockDeltaMemberRedactedContent:
					redacted[i] = append(redacted[i], r.Value...)
				default:
					t.Errorf("reasoning delta %T", r)
				}
			case *types.ContentBlockDeltaMemberText:
				text += d.Value
			}
		}
	}
	if err := es.Err(); err != nil {
		t.Fatal(err)
	}
	if thinking[0] != "Paris first, then the tool." || signatures[0] != "EqQBCkYIBxgCKkBzaWc=" || string(redacted[1]) != "\x00encrypted\xff" || text != "Checking." {
		t.Errorf("thinking %q signatures %q redacted %q text %q", thinking, signatures, redacted, text)
	}
	// Reasoning blocks have no contentBlockStart; the tool use does.
	if got := strings.Join(order, " "); got != "stop:0 stop:1 stop:2 start:3 stop:3" {
		t.Errorf("block events %s", got)
	}
}

// TestMockBedrockValidatesReasoning sends reasoning requests with the SDK,
// so the shapes the mock accepts are the ones the SDK serializes.
func TestMockBedrockValidatesReasoning(t *testing.T) {
	m := StartMockBedrock(t, MockBedrockConfig{Credentials: []BedrockCredential{mockCred}})
	signed := func(sig string) types.ContentBlock {
		return &types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{
			Value: types.ReasoningTextBlock{Text: aws.String("Call the tool."), Signature: aws.String(sig)}}}
	}
	redacted := &types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberRedactedContent{Value: []byte{1, 2, 3}}}
	toolUse := &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{ToolUseId: aws.String("tu_1"), Name: aws.String("get_weather"),
		Input: document.NewLazyDocument(map[string]any{"city": "Paris"})}}
	toolLoop := func(assistant ...types.ContentBlock) []types.Message {
		return []types.Message{
			{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Weather in Paris?"}}},
			{Role: types.ConversationRoleAssistant, Content: assistant},
			{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
				ToolUseId: aws.String("tu_1"), Content: []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: "sunny"}}}}}},
		}
	}
	thinking := func(budget int) document.Interface {
		return document.NewLazyDocument(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": budget}})
	}
	cases := []struct {
		name     string
		model    string
		messages []types.Message
		fields   document.Interface
		ic       *types.InferenceConfiguration
		want     string // "" when accepted
	}{
		{"signed and redacted thinking first", arnModel, toolLoop(signed("sig"), redacted, toolUse), thinking(2048),
			&types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}, ""},
		{"adaptive with effort", arnModel, toolLoop(toolUse),
			document.NewLazyDocument(map[string]any{"thinking": map[string]any{"type": "adaptive"}, "output_config": map[string]any{"effort": "high"}}), nil, ""},
		{"tool loop without thinking", arnModel, toolLoop(toolUse), thinking(2048), &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}, "must start with a thinking block"},
		{"thinking after the tool use", arnModel, toolLoop(toolUse, signed("sig")), thinking(2048), &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}, "must start with a thinking block"},
		{"no signature", arnModel, toolLoop(signed(""), toolUse), thinking(2048), &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}, "signature"},
		{"budget not below maxTokens", arnModel, toolLoop(signed("sig"), toolUse), thinking(2048), &types.InferenceConfiguration{MaxTokens: aws.Int32(2048)}, "max_tokens"},
		{"budget too small", arnModel, toolLoop(signed("sig"), toolUse), thinking(512), &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}, "1024"},
		{"temperature with thinking", arnModel, toolLoop(signed("sig"), toolUse), thinking(2048),
			&types.InferenceConfiguration{MaxTokens: aws.Int32(4096), Temperature: aws.Float32(0.5)}, "temperature"},
		{"low topP with thinking", arnModel, toolLoop(signed("sig"), toolUse), thinking(2048),
			&types.InferenceConfiguration{MaxTokens: aws.Int32(4096), TopP: aws.Float32(0.5)}, "top_p"},
		{"unknown field", arnModel, toolLoop(toolUse), document.NewLazyDocument(map[string]any{"reasoning": true}), nil, "unknown field"},
		{"thinking for another family", "amazon.nova-lite-v1:0", toolLoop(toolUse), thinking(2048), &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}, "thinking"},
		{"reasoning in a user turn", arnModel, []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{signed("sig")}}}, nil, nil, "assistant turns only"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := converseInput()
			in.ModelId, in.Messages, in.AdditionalModelRequestFields, in.InferenceConfig = aws.String(tc.model), tc.messages, tc.fields, tc.ic
			_, err := sdkClient(m, mockCred, "").Converse(context.Background(), in)
			var ve *types.ValidationException
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (!errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), tc.want)):
				t.Fatalf("got %v, want a ValidationException about %q", err, tc.want)
			}
		})
	}
	// Forcing a tool call and thinking do not go together.
	in := converseInput()
	in.ModelId, in.AdditionalModelRequestFields = aws.String(arnModel), thinking(2048)
	in.InferenceConfig = &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}
	in.ToolConfig.ToolChoice = &types.ToolChoiceMemberAny{}
	_, err := sdkClient(m, mockCred, "").Converse(context.Background(), in)
	if ve := (*types.ValidationException)(nil); !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "forces tool use") {
		t.Fatalf("forced tool use with thinking: got %v", err)
	}
}
