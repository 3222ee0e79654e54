package testkit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// MockGemini is a local Google Gemini API (v1beta) on a real loopback
// socket. It speaks the wire format of generateContent,
// streamGenerateContent (SSE with alt=sse, a JSON array without) and
// batchEmbedContents, validates requests the way the API does (unknown
// fields, roles, empty parts, schema keywords, base64), and answers with
// scripted replies taken in order, or a default answer when none is
// queued. It records every request. It is safe for concurrent use.
type MockGemini struct {
	// URL is the base URL, "http://127.0.0.1:PORT" (no version segment).
	URL string
	// Key, when set, is the only API key accepted (from x-goog-api-key or
	// the key query parameter); others get Gemini's 400 API_KEY_INVALID.
	Key string

	srv     *httptest.Server
	mu      sync.Mutex
	replies []GeminiReply
	reqs    []GeminiRequest
	done    chan struct{}
}

// GeminiRequest is a request as the mock received it.
type GeminiRequest struct {
	Method string
	// Path is the URL path, e.g. /v1beta/models/gemini-2.5-flash:generateContent.
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// GeminiReply scripts one answer. With Error set it is an error reply;
// otherwise Answer (default: the text "ok") is rendered as a whole
// response or as stream chunks. RawBody and RawChunks replace the
// rendering with verbatim JSON.
type GeminiReply struct {
	// Status is the HTTP status; 0 means 200, or Error.Code for errors.
	Status int
	Header map[string]string
	Answer *GeminiAnswer
	Error  *GeminiError
	// RawBody is the verbatim body of a non-streamed answer.
	RawBody string
	// RawChunks are the verbatim data payloads of a streamed answer.
	RawChunks []string
	// ChunkDelay is the pause before each stream chunk.
	ChunkDelay time.Duration
	// Cut closes the connection abruptly: a stream after CutAfter chunks
	// (all but the last when 0), a whole answer after half its body.
	Cut      bool
	CutAfter int
	// StreamError, in a stream, replaces the last chunk with this error
	// object, as Gemini does when it fails mid-answer.
	StreamError *GeminiError
	// Hang delays the answer until the client goes away.
	Hang bool
}

// GeminiAnswer is a successful answer in canonical terms.
type GeminiAnswer struct {
	ResponseID   string
	ModelVersion string
	Text         string
	// Thought is a thought summary, sent as a part with thought: true.
	Thought string
	Calls   []GeminiCall
	// FinishReason defaults to STOP.
	FinishReason string
	// BlockReason blocks the prompt: no candidates, promptFeedback only.
	BlockReason string
	Usage       GeminiUsage
	// TextChunk is the stream piece size of Text in bytes; default 8.
	TextChunk int
}

// GeminiCall is one functionCall part.
type GeminiCall struct {
	ID        string
	Name      string
	Args      map[string]any
	Signature string // thoughtSignature, base64
}

// GeminiUsage is an answer's usageMetadata.
type GeminiUsage struct {
	Prompt, Candidates, Cached, Thoughts, ToolUse int
}

// GeminiError is a google.rpc.Status error.
type GeminiError struct {
	Code    int
	Status  string
	Message string
	// RetryDelay adds a RetryInfo detail, e.g. "17s".
	RetryDelay string
	// Reason adds an ErrorInfo detail, e.g. API_KEY_INVALID.
	Reason string
}

// StartMockGemini runs a MockGemini on a fresh port, closed in t.Cleanup.
func StartMockGemini(t testing.TB) *MockGemini {
	t.Helper()
	m := &MockGemini{done: make(chan struct{})}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	m.URL = m.srv.URL
	t.Cleanup(m.Close)
	return m
}

// Close stops the server, releasing hanging answers.
func (m *MockGemini) Close() {
	m.mu.Lock()
	select {
	case <-m.done:
	default:
		close(m.done)
	}
	m.mu.Unlock()
	m.srv.CloseClientConnections()
	m.srv.Close()
}

// Enqueue adds replies to be used, in order, by the next requests.
func (m *MockGemini) Enqueue(replies ...GeminiReply) {
	m.mu.Lock()
	m.replies = append(m.replies, replies...)
	m.mu.Unlock()
}

// Requests returns the requests received so far.
func (m *MockGemini) Requests() []GeminiRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]GeminiRequest(nil), m.reqs...)
}

// LastRequest returns the latest request; the zero value when none came.
func (m *MockGemini) LastRequest() GeminiRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.reqs) == 0 {
		return GeminiRequest{}
	}
	return m.reqs[len(m.reqs)-1]
}

func (m *MockGemini) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	m.reqs = append(m.reqs, GeminiRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	var reply *GeminiReply
	if len(m.replies) > 0 {
		reply = &m.replies[0]
		m.replies = m.replies[1:]
	}
	m.mu.Unlock()

	model, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1beta/models/"), ":")
	if !ok || !strings.HasPrefix(r.URL.Path, "/v1beta/models/") || model == "" || strings.Contains(model, "/") {
		writeGeminiError(w, nil, &GeminiError{Code: 404, Status: "NOT_FOUND", Message: "Requested entity was not found."})
		return
	}
	if r.Method != http.MethodPost {
		writeGeminiError(w, nil, &GeminiError{Code: 405, Status: "INVALID_ARGUMENT", Message: "method not allowed"})
		return
	}
	key := r.Header.Get("X-Goog-Api-Key")
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	if m.Key != "" && key != m.Key {
		writeGeminiError(w, nil, &GeminiError{Code: 400, Status: "INVALID_ARGUMENT", Message: "API key not valid. Please pass a valid API key.", Reason: "API_KEY_INVALID"})
		return
	}
	if reply != nil && reply.Hang {
		select {
		case <-r.Context().Done():
		case <-m.done:
		}
		return
	}
	if reply != nil && reply.Error != nil {
		writeGeminiError(w, reply, reply.Error)
		return
	}
	switch method {
	case "generateContent", "streamGenerateContent":
		if msg := validateGenerateRequest(body); msg != "" {
			writeGeminiError(w, nil, &GeminiError{Code: 400, Status: "INVALID_ARGUMENT", Message: msg})
			return
		}
		if reply == nil {
			reply = &GeminiReply{}
		}
		if method == "generateContent" {
			m.answerWhole(w, reply, model)
		} else {
			m.answerStream(w, r, reply, model)
		}
	case "batchEmbedContents":
		m.answerEmbeddings(w, reply, model, body)
	default:
		writeGeminiError(w, nil, &GeminiError{Code: 404, Status: "NOT_FOUND", Message: "Requested entity was not found."})
	}
}

func setHeaders(w http.ResponseWriter, reply *GeminiReply) {
	if reply == nil {
		return
	}
	for k, v := range reply.Header {
		w.Header().Set(k, v)
	}
}

// writeGeminiError writes e as the API does: the google.rpc.Status under
// "error", with RetryInfo and ErrorInfo details when set.
func writeGeminiError(w http.ResponseWriter, reply *GeminiReply, e *GeminiError) {
	setHeaders(w, reply)
	status := e.Code
	if reply != nil && reply.Status != 0 {
		status = reply.Status
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(geminiErrorJSON(e))
}

func geminiErrorJSON(e *GeminiError) []byte {
	st := map[string]any{"code": e.Code, "message": e.Message, "status": e.Status}
	var details []any
	if e.Reason != "" {
		details = append(details, map[string]any{
			"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": e.Reason, "domain": "googleapis.com",
			"metadata": map[string]string{"service": "generativelanguage.googleapis.com"},
		})
	}
	if e.RetryDelay != "" {
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": e.RetryDelay})
	}
	if details != nil {
		st["details"] = details
	}
	b, _ := json.MarshalIndent(map[string]any{"error": st}, "", "  ")
	return b
}

func (a *GeminiAnswer) orDefault(model string) *GeminiAnswer {
	c := GeminiAnswer{Text: "ok", Usage: GeminiUsage{Prompt: 3, Candidates: 1}}
	if a != nil {
		c = *a
	}
	if c.ResponseID == "" {
		c.ResponseID = "mockresp" + fmt.Sprint(fnvHash(model+c.Text)%100000)
	}
	if c.ModelVersion == "" {
		c.ModelVersion = model
	}
	if c.FinishReason == "" {
		c.FinishReason = "STOP"
	}
	if c.TextChunk <= 0 {
		c.TextChunk = 8
	}
	return &c
}

// usageJSON renders usageMetadata; candidates may be partial (streams).
func (u GeminiUsage) json(candidates int) map[string]any {
	out := map[string]any{
		"promptTokenCount":    u.Prompt,
		"totalTokenCount":     u.Prompt + candidates + u.Thoughts + u.ToolUse,
		"promptTokensDetails": []any{map[string]any{"modality": "TEXT", "tokenCount": u.Prompt}},
	}
	if candidates > 0 {
		out["candidatesTokenCount"] = candidates
	}
	if u.Cached > 0 {
		out["cachedContentTokenCount"] = u.Cached
		out["cacheTokensDetails"] = []any{map[string]any{"modality": "TEXT", "tokenCount": u.Cached}}
	}
	if u.Thoughts > 0 {
		out["thoughtsTokenCount"] = u.Thoughts
	}
	if u.ToolUse > 0 {
		out["toolUsePromptTokenCount"] = u.ToolUse
	}
	return out
}

func callParts(calls []GeminiCall) []any {
	parts := make([]any, 0, len(calls))
	for _, c := range calls {
		fc := map[string]any{"name": c.Name, "args": c.Args}
		if c.Args == nil {
			fc["args"] = map[string]any{}
		}
		if c.ID != "" {
			fc["id"] = c.ID
		}
		p := map[string]any{"functionCall": fc}
		if c.Signature != "" {
			p["thoughtSignature"] = c.Signature
		}
		parts = append(parts, p)
	}
	return parts
}

// chunkJSON renders one GenerateContentResponse.
func (a *GeminiAnswer) chunkJSON(parts []any, finish bool, usage map[string]any) []byte {
	resp := map[string]any{"modelVersion": a.ModelVersion, "responseId": a.ResponseID, "usageMetadata": usage}
	if a.BlockReason != "" {
		resp["promptFeedback"] = map[string]any{"blockReason": a.BlockReason, "safetyRatings": []any{
			map[string]any{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"},
		}}
	} else {
		cand := map[string]any{"index": 0}
		if len(parts) > 0 {
			cand["content"] = map[string]any{"role": "model", "parts": parts}
		}
		if finish {
			cand["finishReason"] = a.FinishReason
		}
		resp["candidates"] = []any{cand}
	}
	b, _ := json.Marshal(resp)
	return b
}

func (m *MockGemini) answerWhole(w http.ResponseWriter, reply *GeminiReply, model string) {
	setHeaders(w, reply)
	body := []byte(reply.RawBody)
	if reply.RawBody == "" {
		a := reply.Answer.orDefault(model)
		var parts []any
		if a.Thought != "" {
			parts = append(parts, map[string]any{"text": a.Thought, "thought": true})
		}
		if a.Text != "" {
			parts = append(parts, map[string]any{"text": a.Text})
		}
		parts = append(parts, callParts(a.Calls)...)
		body = a.chunkJSON(parts, true, a.Usage.json(a.Usage.Candidates))
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	if reply.Cut {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// streamChunks renders an answer as Gemini streams it: the thought, the
// text in pieces, the function calls together in one chunk, the finish
// reason on the last chunk; every chunk carries the usage so far.
func (a *GeminiAnswer) streamChunks() [][]byte {
	type piece struct{ parts []any }
	var pieces []piece
	if a.Thought != "" {
		pieces = append(pieces, piece{parts: []any{map[string]any{"text": a.Thought, "thought": true}}})
	}
	text := a.Text
	for len(text) > 0 {
		n := min(a.TextChunk, len(text))
		pieces = append(pieces, piece{parts: []any{map[string]any{"text": text[:n]}}})
		text = text[n:]
	}
	if len(a.Calls) > 0 {
		pieces = append(pieces, piece{parts: callParts(a.Calls)})
	}
	if len(pieces) == 0 || a.BlockReason != "" {
		pieces = append(pieces[:0], piece{})
	}
	chunks := make([][]byte, len(pieces))
	for i, p := range pieces {
		cand := a.Usage.Candidates * (i + 1) / len(pieces)
		u := a.Usage
		if i < len(pieces)-1 {
			u.Thoughts, u.ToolUse = 0, 0
		}
		chunks[i] = a.chunkJSON(p.parts, i == len(pieces)-1, u.json(cand))
	}
	return chunks
}

func (m *MockGemini) answerStream(w http.ResponseWriter, r *http.Request, reply *GeminiReply, model string) {
	setHeaders(w, reply)
	var chunks [][]byte
	if reply.RawChunks != nil {
		for _, c := range reply.RawChunks {
			chunks = append(chunks, []byte(c))
		}
	} else {
		chunks = reply.Answer.orDefault(model).streamChunks()
	}
	if reply.StreamError != nil && len(chunks) > 0 {
		var compact bytes.Buffer // an SSE data line holds one-line JSON
		_ = json.Compact(&compact, geminiErrorJSON(reply.StreamError))
		chunks[len(chunks)-1] = compact.Bytes()
	}
	limit := len(chunks)
	if reply.Cut {
		limit = len(chunks) - 1
		if reply.CutAfter > 0 && reply.CutAfter < limit {
			limit = reply.CutAfter
		}
	}
	sse := r.URL.Query().Get("alt") == "sse"
	if sse {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	}
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	fl := w.(http.Flusher)
	fl.Flush()
	for i, c := range chunks[:limit] {
		if reply.ChunkDelay > 0 {
			select {
			case <-time.After(reply.ChunkDelay):
			case <-r.Context().Done():
				return
			case <-m.done:
				return
			}
		}
		var err error
		switch {
		case sse: // Gemini ends each event with CRLF CRLF
			_, err = fmt.Fprintf(w, "data: %s\r\n\r\n", c)
		case i == 0:
			_, err = fmt.Fprintf(w, "[%s", c)
		default:
			_, err = fmt.Fprintf(w, ",\r\n%s", c)
		}
		if err != nil {
			return
		}
		fl.Flush()
	}
	if reply.Cut {
		panic(http.ErrAbortHandler)
	}
	if !sse {
		_, _ = io.WriteString(w, "]")
	}
}

// answerEmbeddings answers batchEmbedContents with a vector per request
// derived from its text (outputDimensionality values, default 8), or with
// the scripted RawBody.
func (m *MockGemini) answerEmbeddings(w http.ResponseWriter, reply *GeminiReply, model string, body []byte) {
	setHeaders(w, reply)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if reply != nil && reply.RawBody != "" {
		_, _ = io.WriteString(w, reply.RawBody)
		return
	}
	var req struct {
		Requests []struct {
			Model   string `json:"model"`
			Content struct {
				Role  string `json:"role"`
				Parts []struct {
					Text string `json:"text"`
				} `json:"parts"`
			} `json:"content"`
			OutputDimensionality int    `json:"outputDimensionality"`
			TaskType             string `json:"taskType"`
			Title                string `json:"title"`
		} `json:"requests"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || len(req.Requests) == 0 {
		writeGeminiError(w, nil, &GeminiError{Code: 400, Status: "INVALID_ARGUMENT", Message: fmt.Sprintf("Invalid JSON payload received: %v", err)})
		return
	}
	var embs []any
	for i, r := range req.Requests {
		if r.Model != "models/"+model {
			writeGeminiError(w, nil, &GeminiError{Code: 400, Status: "INVALID_ARGUMENT",
				Message: fmt.Sprintf("Model names should be the same in batch requests: requests[%d].model", i)})
			return
		}
		dims := r.OutputDimensionality
		if dims <= 0 {
			dims = 8
		}
		text := ""
		for _, p := range r.Content.Parts {
			text += p.Text
		}
		h := fnvHash(text)
		vals := make([]float64, dims)
		for d := range vals {
			vals[d] = float64((h>>(d%32))&0xff)/256 - 0.5
		}
		embs = append(embs, map[string]any{"values": vals})
	}
	b, _ := json.Marshal(map[string]any{"embeddings": embs})
	_, _ = w.Write(b)
}

func fnvHash(s string) uint64 {
	h := fnv.New64a()
	_, _ = io.WriteString(h, s)
	return h.Sum64()
}

// The request schema the mock accepts: the fields of the v1beta
// GenerateContentRequest the gateway may send. Unknown fields are
// rejected, as the API rejects them.
type geminiReq struct {
	Contents          []geminiReqContent `json:"contents"`
	SystemInstruction *geminiReqContent  `json:"systemInstruction"`
	Tools             []struct {
		FunctionDeclarations []struct {
			Name                 string          `json:"name"`
			Description          string          `json:"description"`
			Parameters           json.RawMessage `json:"parameters"`
			ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
	ToolConfig *struct {
		FunctionCallingConfig struct {
			Mode                 string   `json:"mode"`
			AllowedFunctionNames []string `json:"allowedFunctionNames"`
		} `json:"functionCallingConfig"`
	} `json:"toolConfig"`
	GenerationConfig *struct {
		StopSequences      []string        `json:"stopSequences"`
		CandidateCount     *int            `json:"candidateCount"`
		MaxOutputTokens    *int            `json:"maxOutputTokens"`
		Temperature        *float64        `json:"temperature"`
		TopP               *float64        `json:"topP"`
		TopK               *int            `json:"topK"`
		Seed               *int32          `json:"seed"`
		PresencePenalty    *float64        `json:"presencePenalty"`
		FrequencyPenalty   *float64        `json:"frequencyPenalty"`
		ResponseMimeType   string          `json:"responseMimeType"`
		ResponseSchema     json.RawMessage `json:"responseSchema"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
		ThinkingConfig     *struct {
			ThinkingBudget  *int   `json:"thinkingBudget"`
			IncludeThoughts *bool  `json:"includeThoughts"`
			ThinkingLevel   string `json:"thinkingLevel"`
		} `json:"thinkingConfig"`
	} `json:"generationConfig"`
	SafetySettings []struct {
		Category  string `json:"category"`
		Threshold string `json:"threshold"`
	} `json:"safetySettings"`
	CachedContent string `json:"cachedContent"`
}

type geminiReqContent struct {
	Role  string `json:"role"`
	Parts []struct {
		Text             *string `json:"text"`
		Thought          bool    `json:"thought"`
		ThoughtSignature string  `json:"thoughtSignature"`
		InlineData       *struct {
			MimeType string `json:"mimeType"`
			Data     string `json:"data"`
		} `json:"inlineData"`
		FileData *struct {
			MimeType string `json:"mimeType"`
			FileURI  string `json:"fileUri"`
		} `json:"fileData"`
		FunctionCall *struct {
			ID   string          `json:"id"`
			Name string          `json:"name"`
			Args json.RawMessage `json:"args"`
		} `json:"functionCall"`
		FunctionResponse *struct {
			ID       string          `json:"id"`
			Name     string          `json:"name"`
			Response json.RawMessage `json:"response"`
		} `json:"functionResponse"`
	} `json:"parts"`
}

// validateGenerateRequest checks body as the API would; "" when valid,
// else the 400 message.
func validateGenerateRequest(body []byte) string {
	var req geminiReq
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "Invalid JSON payload received. " + err.Error()
	}
	if len(req.Contents) == 0 {
		return "* GenerateContentRequest.contents: contents is not specified"
	}
	check := func(where string, c *geminiReqContent, system bool) string {
		if !system && c.Role != "user" && c.Role != "model" {
			return fmt.Sprintf("%s.role: Please use a valid role: user, model.", where)
		}
		if len(c.Parts) == 0 {
			return fmt.Sprintf("* GenerateContentRequest.%s.parts: contents.parts must not be empty.", where)
		}
		for j, p := range c.Parts {
			set := 0
			for _, b := range []bool{p.Text != nil, p.InlineData != nil, p.FileData != nil, p.FunctionCall != nil, p.FunctionResponse != nil} {
				if b {
					set++
				}
			}
			if set != 1 {
				return fmt.Sprintf("%s.parts[%d]: exactly one data field must be set", where, j)
			}
			if p.ThoughtSignature != "" && !isBase64(p.ThoughtSignature) {
				return fmt.Sprintf("Invalid value at '%s.parts[%d].thought_signature' (TYPE_BYTES), Base64 decoding failed", where, j)
			}
			if p.InlineData != nil && (p.InlineData.MimeType == "" || !isBase64(p.InlineData.Data)) {
				return fmt.Sprintf("%s.parts[%d].inline_data: mime type and base64 data are required", where, j)
			}
			if p.FileData != nil && p.FileData.FileURI == "" {
				return fmt.Sprintf("%s.parts[%d].file_data.file_uri: required", where, j)
			}
			if p.FunctionCall != nil && (p.FunctionCall.Name == "" || (len(p.FunctionCall.Args) > 0 && p.FunctionCall.Args[0] != '{')) {
				return fmt.Sprintf("%s.parts[%d].function_call: name and object args required", where, j)
			}
			if p.FunctionResponse != nil && (p.FunctionResponse.Name == "" || len(p.FunctionResponse.Response) == 0 || p.FunctionResponse.Response[0] != '{') {
				return fmt.Sprintf("%s.parts[%d].function_response: name and object response required", where, j)
			}
		}
		return ""
	}
	for i := range req.Contents {
		if msg := check(fmt.Sprintf("contents[%d]", i), &req.Contents[i], false); msg != "" {
			return msg
		}
	}
	if req.SystemInstruction != nil {
		if msg := check("system_instruction", req.SystemInstruction, true); msg != "" {
			return msg
		}
	}
	for i, t := range req.Tools {
		for j, d := range t.FunctionDeclarations {
			if d.Name == "" {
				return fmt.Sprintf("tools[%d].function_declarations[%d].name: required", i, j)
			}
			if len(d.Parameters) > 0 {
				if msg := validateGeminiSchema(d.Parameters, fmt.Sprintf("tools[%d].function_declarations[%d].parameters", i, j)); msg != "" {
					return msg
				}
			}
		}
	}
	if tc := req.ToolConfig; tc != nil {
		switch tc.FunctionCallingConfig.Mode {
		case "AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED":
		default:
			return "Invalid value at 'tool_config.function_calling_config.mode'"
		}
	}
	if gc := req.GenerationConfig; gc != nil && len(gc.ResponseSchema) > 0 {
		if msg := validateGeminiSchema(gc.ResponseSchema, "generation_config.response_schema"); msg != "" {
			return msg
		}
	}
	return ""
}

// geminiSchemaFields are the fields of the API's Schema message.
var geminiSchemaFields = map[string]bool{
	"type": true, "format": true, "title": true, "description": true, "nullable": true, "enum": true,
	"maxItems": true, "minItems": true, "properties": true, "required": true, "minProperties": true,
	"maxProperties": true, "minLength": true, "maxLength": true, "pattern": true, "example": true,
	"anyOf": true, "propertyOrdering": true, "default": true, "items": true, "minimum": true, "maximum": true,
}

// validateGeminiSchema checks an OpenAPI-subset Schema: known fields only,
// the Type enum, non-empty properties for a parameters OBJECT.
func validateGeminiSchema(raw json.RawMessage, where string) string {
	var s map[string]json.RawMessage
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Sprintf("Invalid value at '%s': not an object", where)
	}
	for k := range s {
		if !geminiSchemaFields[k] {
			return fmt.Sprintf("Invalid JSON payload received. Unknown name %q at '%s': Cannot find field.", k, where)
		}
	}
	if t, ok := s["type"]; ok {
		var typ string
		_ = json.Unmarshal(t, &typ)
		switch typ {
		case "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL", "TYPE_UNSPECIFIED":
		default:
			return fmt.Sprintf("Invalid value at '%s.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), %s", where, t)
		}
	}
	if p, ok := s["properties"]; ok {
		var props map[string]json.RawMessage
		if err := json.Unmarshal(p, &props); err != nil {
			return fmt.Sprintf("Invalid value at '%s.properties'", where)
		}
		if len(props) == 0 {
			return fmt.Sprintf("* GenerateContentRequest.%s.properties: should be non-empty for OBJECT type", where)
		}
		for name, ps := range props {
			if msg := validateGeminiSchema(ps, where+".properties["+name+"]"); msg != "" {
				return msg
			}
		}
	}
	if it, ok := s["items"]; ok {
		if msg := validateGeminiSchema(it, where+".items"); msg != "" {
			return msg
		}
	}
	if a, ok := s["anyOf"]; ok {
		var branches []json.RawMessage
		if err := json.Unmarshal(a, &branches); err != nil {
			return fmt.Sprintf("Invalid value at '%s.any_of'", where)
		}
		for i, b := range branches {
			if msg := validateGeminiSchema(b, fmt.Sprintf("%s.any_of[%d]", where, i)); msg != "" {
				return msg
			}
		}
	}
	if e, ok := s["enum"]; ok {
		var strs []string
		if err := json.Unmarshal(e, &strs); err != nil {
			return fmt.Sprintf("Invalid value at '%s.enum': enum values must be strings", where)
		}
	}
	return ""
}

func isBase64(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(s); err == nil {
			return true
		}
	}
	return false
}
