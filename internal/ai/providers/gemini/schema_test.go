package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/testkit"
)

func TestToolParameters(t *testing.T) {
	deep := `{"type":"string"}`
	for i := 0; i < maxSchemaDepth+2; i++ {
		deep = `{"type":"object","properties":{"n":` + deep + `}}`
	}
	for _, tc := range []struct {
		name, in, want string
	}{
		{"absent", ``, `null`},
		{"null", `null`, `null`},
		{"empty", `{}`, `null`},
		{"no properties", `{"type":"object","properties":{},"additionalProperties":false}`, `null`},
		{"untyped object", `{"properties":{"a":{"type":"boolean"}}}`,
			`{"type":"OBJECT","properties":{"a":{"type":"BOOLEAN"}}}`},
		{"optional via anyOf", `{"type":"object","properties":{"a":{"anyOf":[{"type":"string","maxLength":5},{"type":"null"}],"description":"A"}}}`,
			`{"type":"OBJECT","properties":{"a":{"type":"STRING","maxLength":5,"nullable":true,"description":"A"}}}`},
		{"union via anyOf", `{"type":"object","properties":{"a":{"anyOf":[{"type":"string"},{"type":"integer"}]}}}`,
			`{"type":"OBJECT","properties":{"a":{"anyOf":[{"type":"STRING"},{"type":"INTEGER"}]}}}`},
		{"union via oneOf and null", `{"type":"object","properties":{"a":{"oneOf":[{"type":"string"},{"type":"number"},{"type":"null"}]}}}`,
			`{"type":"OBJECT","properties":{"a":{"nullable":true,"anyOf":[{"type":"STRING"},{"type":"NUMBER"}]}}}`},
		{"type union", `{"type":"object","properties":{"a":{"type":["string","integer","null"],"description":"d"}}}`,
			`{"type":"OBJECT","properties":{"a":{"nullable":true,"description":"d","anyOf":[{"type":"STRING"},{"type":"INTEGER"}]}}}`},
		{"allOf merged", `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"b":{"type":"integer"}},"required":["b"]}]}`,
			`{"type":"OBJECT","properties":{"a":{"type":"STRING"},"b":{"type":"INTEGER"}},"required":["a","b"]}`},
		{"refs inlined", `{"type":"object","properties":{"p":{"$ref":"#/definitions/P","description":"the point"}},"definitions":{"P":{"type":"object","description":"a point","properties":{"x":{"type":"number"}}}}}`,
			`{"type":"OBJECT","properties":{"p":{"type":"OBJECT","description":"the point","properties":{"x":{"type":"NUMBER"}}}}}`},
		{"recursive ref dropped", `{"type":"object","properties":{"name":{"type":"string"},"tree":{"$ref":"#/$defs/T"}},"$defs":{"T":{"type":"object","properties":{"v":{"type":"string"},"kids":{"type":"array","items":{"$ref":"#/$defs/T"}}}}}}`,
			`{"type":"OBJECT","properties":{"name":{"type":"STRING"},"tree":{"type":"OBJECT","properties":{"v":{"type":"STRING"},"kids":{"type":"ARRAY"}}}}}`},
		{"unknown ref dropped", `{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"},"b":{"type":"string"}},"required":["a","b"]}`,
			`{"type":"OBJECT","properties":{"b":{"type":"STRING"}},"required":["b"]}`},
		{"enums", `{"type":"object","properties":{"s":{"enum":["x","y"]},"n":{"type":"integer","enum":[1,2]},"c":{"const":"only"},"k":{"const":3},"m":{"enum":["a",null]}}}`,
			`{"type":"OBJECT","properties":{"s":{"type":"STRING","enum":["x","y"]},"n":{"type":"INTEGER"},"c":{"type":"STRING","enum":["only"]},"k":{},"m":{"type":"STRING","enum":["a"],"nullable":true}}}`},
		{"formats", `{"type":"object","properties":{"u":{"type":"string","format":"uri"},"t":{"type":"string","format":"date-time"},"i":{"type":"integer","format":"int64"},"f":{"type":"number","format":"int32"}}}`,
			`{"type":"OBJECT","properties":{"u":{"type":"STRING"},"t":{"type":"STRING","format":"date-time"},"i":{"type":"INTEGER","format":"int64"},"f":{"type":"NUMBER"}}}`},
		{"arrays", `{"type":"object","properties":{"l":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":3,"uniqueItems":true},"t":{"type":"array","items":[{"type":"integer"},{"type":"string"}]}}}`,
			`{"type":"OBJECT","properties":{"l":{"type":"ARRAY","items":{"type":"STRING"},"minItems":1,"maxItems":3},"t":{"type":"ARRAY","items":{"type":"INTEGER"}}}}`},
		{"dropped keywords", `{"type":"object","$id":"x","title":"T","properties":{"a":{"type":"string","default":"d","examples":["e"],"pattern":"^a","not":{"type":"integer"},"readOnly":true}},"patternProperties":{"^x":{}},"if":{},"then":{}}`,
			`{"type":"OBJECT","title":"T","properties":{"a":{"type":"STRING","pattern":"^a"}}}`},
		{"boolean schemas", `{"type":"object","properties":{"any":true,"none":false}}`,
			`{"type":"OBJECT","properties":{"any":{}}}`},
		{"root coerced to object", `{"type":["object","null"],"properties":{"a":{"type":"string"}}}`,
			`{"type":"OBJECT","nullable":true,"properties":{"a":{"type":"STRING"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := convertToolParameters(json.RawMessage(tc.in))
			cached, _ := toolParameters(json.RawMessage(tc.in))
			again, _ := toolParameters(json.RawMessage(tc.in))
			if string(cached) != string(got) || string(again) != string(got) {
				t.Errorf("cached %s, %s; converted %s", cached, again, got)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEq(t, got, tc.want) && !(got == nil && tc.want == "null") {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	// Nesting past maxSchemaDepth is cut off, not followed.
	got, err := convertToolParameters(json.RawMessage(deep))
	if n := strings.Count(string(got), `"n":`); err != nil || n == 0 || n > maxSchemaDepth {
		t.Errorf("deep schema kept %d levels: %v", n, err)
	}
	// $refs fanning out 2^30 ways stay within the node budget.
	laughs := `{"type":"object","properties":{"a":{"$ref":"#/$defs/d0"}},"$defs":{`
	for i := 0; i < 30; i++ {
		laughs += fmt.Sprintf(`"d%d":{"type":"object","properties":{"x":{"$ref":"#/$defs/d%d"},"y":{"$ref":"#/$defs/d%d"}}},`, i, i+1, i+1)
	}
	laughs += `"d30":{"type":"string"}}}`
	got, err = convertToolParameters(json.RawMessage(laughs))
	if err != nil || len(got) > 1<<20 {
		t.Errorf("fan-out schema: %d bytes, %v", len(got), err)
	}
	for _, bad := range []string{`{`, `[]`, `"s"`, `{"a":1}x`} {
		if _, err := toolParameters(json.RawMessage(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// Every rewritten schema must be one the API takes: the mock validates
// tools against the Schema message (known fields, Type enum names,
// string enums, non-empty properties).
func TestToolParametersAcceptedByMock(t *testing.T) {
	m := testkit.StartMockGemini(t)
	p := newTestProvider(t, m, nil)
	schemas := []string{
		weatherSchema,
		`{"type":"object","properties":{"q":{"type":["string","null"]},"opts":{"type":"object","properties":{"deep":{"anyOf":[{"type":"string"},{"type":"array","items":{"$ref":"#/$defs/x"}}]}}}},"$defs":{"x":{"type":"integer","format":"uint8"}}}`,
		`{"type":"object","properties":{"e":{"type":"integer","enum":[1,2,3]},"c":{"const":true}}}`,
		`{"type":"object","properties":{}}`,
	}
	for i, s := range schemas {
		req := &llm.Request{Messages: []llm.Message{userText("x")}, Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(s)}},
			ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Schema: json.RawMessage(s)}}
		if _, err := p.Chat(context.Background(), call(req)); err != nil {
			t.Errorf("schema %d rejected: %v\n%s", i, err, m.LastRequest().Body)
		}
	}
	// A schema that is not JSON is the caller's fault, found before sending.
	_, err := p.Chat(context.Background(), call(&llm.Request{Messages: []llm.Message{userText("x")},
		Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":`)}}}))
	if pe := providerError(t, err, llm.ClassCaller); !strings.Contains(pe.Error(), `tool "f"`) {
		t.Errorf("error %v", pe)
	}
}
