package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/sluicegw/sluice/internal/ai/llm"
)

// Embed sends the inputs as one batchEmbedContents request, one
// EmbedContentRequest per input, and returns the vectors in input order.
// Dimensions maps to outputDimensionality. The Gemini API reports no token
// usage for embeddings: Usage is zero. EncodingFormat is left to the
// inbound encoder (Gemini always answers floats).
func (p *Provider) Embed(ctx context.Context, c *llm.EmbedCall) (*llm.EmbeddingsResponse, error) {
	if c.Request == nil || len(c.Request.Input) == 0 {
		return nil, llm.Errorf(llm.ClassCaller, "gemini: no embeddings input")
	}
	mp, err := modelPath(c.Model)
	if err != nil {
		return nil, err
	}
	w := wireEmbedRequest{Requests: make([]wireEmbedContentRequest, len(c.Request.Input))}
	for i, in := range c.Request.Input {
		w.Requests[i] = wireEmbedContentRequest{
			Model:                mp,
			Content:              wireContent{Parts: []wirePart{{Text: in}}},
			OutputDimensionality: c.Request.Dimensions,
		}
	}
	body, err := json.Marshal(&w)
	if err != nil {
		return nil, llm.Errorf(llm.ClassCaller, "gemini: encode embeddings request: %w", err)
	}
	resp, err := p.post(ctx, c.Model, c.Key, "batchEmbedContents", "", body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, transportError(ctx, err, true)
	}
	if len(data) > maxBody {
		return nil, llm.Errorf(llm.ClassBadResponse, "gemini: embeddings response over %d bytes", maxBody)
	}
	var wr wireEmbedResponse
	if err := json.Unmarshal(data, &wr); err != nil {
		return nil, &llm.ProviderError{Class: llm.ClassBadResponse, Status: resp.StatusCode, Err: fmt.Errorf("gemini: decode embeddings: %w", err)}
	}
	if len(wr.Embeddings) != len(c.Request.Input) {
		return nil, llm.Errorf(llm.ClassBadResponse, "gemini: %d embeddings for %d inputs", len(wr.Embeddings), len(c.Request.Input))
	}
	out := &llm.EmbeddingsResponse{Model: c.Model, Vectors: make([][]float64, len(wr.Embeddings))}
	for i, e := range wr.Embeddings {
		out.Vectors[i] = e.Values
	}
	return out, nil
}
