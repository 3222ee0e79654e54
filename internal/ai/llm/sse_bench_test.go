package llm

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// BenchmarkSSEReader reads a recorded-style OpenAI stream of 200 chunks,
// with LF and with CRLF line ends.
func BenchmarkSSEReader(b *testing.B) {
	chunk := `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"hello there"},"finish_reason":null}]}` + "\n\n"
	lf := []byte(strings.Repeat(chunk, 200))
	for name, body := range map[string][]byte{"lf": lf, "crlf": bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			r := bytes.NewReader(body)
			for b.Loop() {
				r.Reset(body)
				s := NewSSEReader(r)
				n := 0
				for {
					if _, err := s.Next(); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
					n++
				}
				if n != 200 {
					b.Fatalf("%d events", n)
				}
			}
		})
	}
}
