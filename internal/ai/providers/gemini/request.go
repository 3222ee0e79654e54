package gemini

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"path"
	"strings"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// nativeIDPrefix marks a tool-call id that Gemini itself made; the rest is
// Gemini's id, sent back in functionCall.id and functionResponse.id. Other
// ids (made by the adapter, or by another provider earlier in the
// conversation) are never sent: Gemini matches those by name and position.
const nativeIDPrefix = "gemini_"

// skipSignature is the placeholder thought signature Gemini documents for
// function calls whose real signature is unknown (a conversation begun
// elsewhere, or replayed after the cache forgot it). Gemini 3 models
// reject a function-call turn without any signature.
const skipSignature = "skip_thought_signature_validator"

// Content roles on the wire.
const (
	roleUser  = "user"
	roleModel = "model"
)

// encodeRequest renders c as a generateContent request body.
func (p *Provider) encodeRequest(c *llm.Call) ([]byte, error) {
	r := c.Request
	if r == nil {
		return nil, llm.Errorf(llm.ClassCaller, "gemini: no request")
	}
	w := wireRequest{Contents: []wireContent{}}
	b := contentBuilder{p: p, model: c.Model, msgs: r.Messages}
	for i := range r.Messages {
		if err := b.add(i); err != nil {
			return nil, err
		}
	}
	w.Contents = b.contents
	if len(b.system) > 0 {
		w.SystemInstruction = &wireContent{Parts: b.system}
	}
	if len(r.Tools) > 0 {
		decls := make([]wireFunctionDecl, 0, len(r.Tools))
		for _, t := range r.Tools {
			params, err := toolParameters(t.Parameters)
			if err != nil {
				return nil, llm.Errorf(llm.ClassCaller, "gemini: tool %q: %w", t.Name, err)
			}
			decls = append(decls, wireFunctionDecl{Name: t.Name, Description: t.Description, Parameters: params})
		}
		w.Tools = []wireTool{{FunctionDeclarations: decls}}
	}
	if tc := r.ToolChoice; tc != nil {
		fc := wireFunctionCallingConfig{}
		switch tc.Mode {
		case llm.ToolNone:
			fc.Mode = "NONE"
		case llm.ToolRequired:
			fc.Mode = "ANY"
		case llm.ToolNamed:
			fc.Mode = "ANY"
			fc.AllowedFunctionNames = []string{tc.Name}
		default:
			fc.Mode = "AUTO"
		}
		if len(r.Tools) > 0 || fc.Mode == "NONE" {
			w.ToolConfig = &wireToolConfig{FunctionCallingConfig: fc}
		}
	}
	gc, err := generationConfig(r)
	if err != nil {
		return nil, err
	}
	w.GenerationConfig = gc
	return json.Marshal(&w)
}

// generationConfig maps sampling, limits and the response format; nil
// when the request sets none of them.
func generationConfig(r *llm.Request) (*wireGenerationCf, error) {
	gc := wireGenerationCf{
		StopSequences:   r.Stop,
		MaxOutputTokens: r.MaxTokens,
		Temperature:     r.Temperature,
		TopP:            r.TopP,
		TopK:            r.TopK,
	}
	if r.Seed != nil {
		// Gemini's seed is an int32; a larger seed is folded into that
		// range (the same seed always folds the same way).
		seed := int64(int32(*r.Seed))
		gc.Seed = &seed
	}
	if f := r.ResponseFormat; f != nil {
		switch f.Type {
		case llm.FormatJSONObject:
			gc.ResponseMimeType = "application/json"
		case llm.FormatJSONSchema:
			gc.ResponseMimeType = "application/json"
			s, err := responseSchema(f.Schema)
			if err != nil {
				return nil, llm.Errorf(llm.ClassCaller, "gemini: response format: %w", err)
			}
			gc.ResponseSchema = s
		}
	}
	if rs := r.Reasoning; rs != nil && rs.Mode != llm.ReasonOutputEffort {
		budget := rs.BudgetTokens()
		switch {
		case rs.Off():
			budget = 0
		case rs.Mode == llm.ReasonAdaptive:
			budget = -1
		}
		gc.ThinkingConfig = &wireThinking{ThinkingBudget: &budget}
	}
	if gc.StopSequences == nil && gc.MaxOutputTokens == 0 && gc.Temperature == nil && gc.TopP == nil &&
		gc.TopK == nil && gc.Seed == nil && gc.ResponseMimeType == "" && gc.ThinkingConfig == nil {
		return nil, nil
	}
	return &gc, nil
}

// contentBuilder turns canonical messages into Gemini contents: system
// messages into the system instruction, assistant turns into model
// contents, tool results into user contents of functionResponse parts.
// Consecutive turns of one kind are merged into one content (Gemini wants
// all the answers to one function-call turn in one content).
type contentBuilder struct {
	p        *Provider
	model    string
	msgs     []llm.Message
	system   []wirePart
	contents []wireContent
	// lastKind is the kind of the last content: roleUser, roleModel or
	// kindResults for a user content of function responses.
	lastKind string
}

const kindResults = "results"

func (b *contentBuilder) add(i int) error {
	m := &b.msgs[i]
	switch m.Role {
	case llm.RoleSystem:
		for _, part := range m.Content {
			if part.Type == llm.PartText && part.Text != "" {
				b.system = append(b.system, wirePart{Text: part.Text})
			}
		}
		return nil
	case llm.RoleUser:
		parts, err := contentParts(m.Content)
		if err != nil {
			return err
		}
		b.append(roleUser, roleUser, parts)
	case llm.RoleAssistant:
		parts, err := contentParts(m.Content)
		if err != nil {
			return err
		}
		for j, tc := range m.ToolCalls {
			fc := &wireFunctionCall{Name: tc.Name, Args: callArgs(tc.Arguments)}
			if id, ok := strings.CutPrefix(tc.ID, nativeIDPrefix); ok {
				fc.ID = id
			}
			part := wirePart{FunctionCall: fc, ThoughtSignature: b.p.sigs.get(b.model, tc.ID)}
			if j == 0 && part.ThoughtSignature == "" {
				part.ThoughtSignature = skipSignature
			}
			parts = append(parts, part)
		}
		b.append(roleModel, roleModel, parts)
	case llm.RoleTool:
		call := b.findCall(i, m.ToolCallID)
		if call == nil {
			return llm.Errorf(llm.ClassCaller, "gemini: tool result for unknown tool call id %q", m.ToolCallID)
		}
		fr := &wireFunctionResponse{Name: call.Name, Response: toolResponse(m)}
		if id, ok := strings.CutPrefix(call.ID, nativeIDPrefix); ok {
			fr.ID = id
		}
		parts := []wirePart{{FunctionResponse: fr}}
		for _, part := range m.Content { // images a tool returned ride along
			if part.Type == llm.PartImage && part.Image != nil {
				ip, err := imagePart(part.Image)
				if err != nil {
					return err
				}
				parts = append(parts, ip)
			}
		}
		b.append(roleUser, kindResults, parts)
	default:
		return llm.Errorf(llm.ClassCaller, "gemini: unknown message role %q", m.Role)
	}
	return nil
}

// append adds parts as a content of role, merged into the last content
// when that is of the same kind. Empty turns are skipped (Gemini rejects
// contents without parts).
func (b *contentBuilder) append(role, kind string, parts []wirePart) {
	if len(parts) == 0 {
		return
	}
	if n := len(b.contents); n > 0 && b.lastKind == kind {
		b.contents[n-1].Parts = append(b.contents[n-1].Parts, parts...)
		return
	}
	b.contents = append(b.contents, wireContent{Role: role, Parts: parts})
	b.lastKind = kind
}

// findCall returns the tool call that message i answers: the call with
// that id in the nearest earlier assistant message.
func (b *contentBuilder) findCall(i int, id string) *llm.ToolCall {
	for j := i - 1; j >= 0; j-- {
		m := &b.msgs[j]
		if m.Role != llm.RoleAssistant {
			continue
		}
		for k := range m.ToolCalls {
			if m.ToolCalls[k].ID == id {
				return &m.ToolCalls[k]
			}
		}
	}
	return nil
}

// contentParts converts text and image parts; empty text is dropped.
func contentParts(in []llm.Part) ([]wirePart, error) {
	parts := make([]wirePart, 0, len(in))
	for _, part := range in {
		switch part.Type {
		case llm.PartText:
			if part.Text != "" {
				parts = append(parts, wirePart{Text: part.Text})
			}
		case llm.PartImage:
			if part.Image == nil {
				continue
			}
			ip, err := imagePart(part.Image)
			if err != nil {
				return nil, err
			}
			parts = append(parts, ip)
		}
	}
	return parts, nil
}

// imagePart converts an image. Inline data (and data: URLs) become
// inlineData. An http(s) URL becomes fileData with the URL as fileUri and a
// MIME type guessed from the URL's extension (image/jpeg when unknown):
// Gemini itself fetches what it accepts (Files API URIs, public URLs on
// models that take them) and rejects the rest with a 400. The gateway
// never fetches a URL from a request: that would let callers reach
// internal addresses (SSRF).
func imagePart(im *llm.Image) (wirePart, error) {
	if im.Data != "" {
		return wirePart{InlineData: &wireBlob{MimeType: inlineMime(im.MediaType, im.Data), Data: im.Data}}, nil
	}
	u := im.URL
	if rest, ok := cutPrefixFold(u, "data:"); ok {
		meta, data, found := strings.Cut(rest, ",")
		mt, isB64 := strings.CutSuffix(meta, ";base64")
		if !found || !isB64 || data == "" {
			return wirePart{}, llm.Errorf(llm.ClassCaller, "gemini: image data URL must be base64")
		}
		return wirePart{InlineData: &wireBlob{MimeType: inlineMime(mt, data), Data: data}}, nil
	}
	if _, ok := cutPrefixFold(u, "https://"); !ok {
		if _, ok := cutPrefixFold(u, "http://"); !ok {
			return wirePart{}, llm.Errorf(llm.ClassCaller, "gemini: image URL must be http(s) or a data URL")
		}
	}
	return wirePart{FileData: &wireFileData{MimeType: urlMime(u), FileURI: u}}, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// inlineMime returns mt, or the type sniffed from the data's first bytes.
func inlineMime(mt, data string) string {
	if mt != "" {
		return mt
	}
	head := data
	if len(head) > 64 {
		head = head[:64]
	}
	raw, _ := base64.StdEncoding.DecodeString(head[:len(head)/4*4])
	if sniffed := http.DetectContentType(raw); strings.HasPrefix(sniffed, "image/") {
		return sniffed
	}
	return "image/jpeg"
}

var imageExts = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
	".gif": "image/gif", ".heic": "image/heic", ".heif": "image/heif",
}

func urlMime(u string) string {
	p := u
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if mt, ok := imageExts[strings.ToLower(path.Ext(p))]; ok {
		return mt
	}
	return "image/jpeg"
}

// callArgs returns the arguments object of a replayed call; empty or
// non-object arguments become {} (Gemini wants an object).
func callArgs(args string) json.RawMessage {
	a := bytes.TrimSpace([]byte(args))
	if len(a) > 0 && a[0] == '{' && json.Valid(a) {
		return a
	}
	return json.RawMessage(`{}`)
}

// toolResponse renders a tool result as the object Gemini wants: a JSON
// object result as it is, anything else as {"result": value} — value being
// the parsed JSON, or the text when it is not JSON. A failed tool's
// result is {"error": value}.
func toolResponse(m *llm.Message) json.RawMessage {
	if m.IsError {
		return llm.ErrorResult(m.Text())
	}
	text := strings.TrimSpace(m.Text())
	var value json.RawMessage
	if text != "" && json.Valid([]byte(text)) {
		value = json.RawMessage(text)
		if text[0] == '{' {
			return value
		}
	} else {
		value, _ = json.Marshal(m.Text())
	}
	out := make([]byte, 0, len(`{"result":}`)+len(value))
	out = append(append(append(out, `{"result":`...), value...), '}')
	return out
}
