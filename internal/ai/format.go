package ai

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/ai/providers/anthropic"
	"github.com/sluicegw/sluice/internal/ai/providers/openai"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
)

// format is an inbound API: the client's wire format, for requests,
// answers and errors alike.
type format uint8

const (
	formatOpenAI format = iota
	formatAnthropic
)

// formatOf tells the inbound API by the endpoint path: the Anthropic
// Messages endpoints, else OpenAI.
func formatOf(path string) format {
	if strings.HasSuffix(path, "/messages") || strings.Contains(path, "/messages/") {
		return formatAnthropic
	}
	return formatOpenAI
}

// WriteError renders a gateway error in the client's API format (so the
// official SDKs raise their typed errors), with the code in Sluice-Error
// and, for OpenAI clients, in error.code. It returns the body size.
func (rt *Route) WriteError(w http.ResponseWriter, x *exchange.Exchange, e *gwerr.Error) int {
	status := e.Status
	if status == 0 {
		status = e.Code.Status()
	}
	var body []byte
	if formatOf(x.Path) == formatAnthropic {
		body = anthropic.EncodeError(status, e.Detail)
	} else {
		body = openai.EncodeError(status, string(e.Code), e.Detail, "")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Sluice-Error", string(e.Code))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	n, _ := w.Write(body)
	return n
}

// streamWriter renders canonical stream events in the client's format.
type streamWriter interface {
	Event(ev llm.Event) error
	Done() error
	Error(status int, code gwerr.Code, message string) error
	Keepalive() error
}

type openaiStream struct{ *openai.StreamWriter }

func (s openaiStream) Error(status int, code gwerr.Code, message string) error {
	return s.StreamWriter.Error(status, string(code), message)
}

type anthropicStream struct{ *anthropic.StreamWriter }

func (s anthropicStream) Error(status int, _ gwerr.Code, message string) error {
	return s.StreamWriter.Error(status, message)
}

func newStreamWriter(f format, w io.Writer, flush func(), id, model string, created int64, includeUsage bool) streamWriter {
	if f == formatAnthropic {
		return anthropicStream{anthropic.NewStreamWriter(w, flush, "msg_"+id, model)}
	}
	return openaiStream{openai.NewStreamWriter(w, flush, "chatcmpl-"+id, model, created, includeUsage)}
}

// encodeAnswer renders a complete answer in the client's format.
func encodeAnswer(f format, resp *llm.Response, id, model string, created int64) []byte {
	if f == formatAnthropic {
		return anthropic.EncodeMessage(resp, "msg_"+id, model)
	}
	return openai.EncodeChat(resp, "chatcmpl-"+id, model, created)
}

// decodeRequest decodes a chat request in the client's format; failures
// are bad_request errors whose detail is safe to show.
func decodeRequest(f format, body []byte) (*llm.Request, error) {
	var (
		r   *llm.Request
		err error
	)
	if f == formatAnthropic {
		r, err = anthropic.DecodeMessages(body)
	} else {
		r, err = openai.DecodeChat(body)
	}
	if err != nil {
		return nil, gwerr.Newf(gwerr.BadRequest, err, "%s", err.Error())
	}
	return r, nil
}

// classCode is the error code of a provider failure class.
func classCode(c llm.Class) gwerr.Code {
	switch c {
	case llm.ClassCaller:
		return gwerr.ProviderError
	case llm.ClassAuth:
		return gwerr.ProviderAuthFailed
	case llm.ClassRateLimit:
		return gwerr.ProviderRateLimited
	case llm.ClassTimeout:
		return gwerr.ProviderTimeout
	case llm.ClassConnect:
		return gwerr.ProviderConnectFailed
	case llm.ClassContextWindow:
		return gwerr.ProviderContextWindow
	case llm.ClassBadResponse:
		return gwerr.ProviderBadResponse
	}
	return gwerr.ProviderOverloaded
}
