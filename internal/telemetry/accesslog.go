package telemetry

import (
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/jsonenc"
)

// AccessLog writes one JSON line per request with everything needed to
// explain it: route, upstream, status, error code and cause, and every
// attempt with its target, failure class and duration.
//
// Lines have the shape of log/slog's JSON handler (time, level, msg, then
// the fields), so one parser reads both logs, but they are encoded by hand
// into pooled buffers: at tens of thousands of requests a second, slog's
// generic path (and encoding/json for the attempts) cost a fifth of the
// gateway's throughput.
type AccessLog struct {
	w io.Writer
}

// NewAccessLog returns an access log writing lines to w; a nil w disables
// it. w must be safe for concurrent use and should buffer (see
// BufferedWriter): each line is one Write.
func NewAccessLog(w io.Writer) *AccessLog {
	return &AccessLog{w: w}
}

// Enabled reports whether lines are written at all.
func (a *AccessLog) Enabled() bool { return a != nil && a.w != nil }

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Log writes x's line.
func (a *AccessLog) Log(x *exchange.Exchange) {
	if !a.Enabled() {
		return
	}
	bp := linePool.Get().(*[]byte)
	b := AppendLine((*bp)[:0], x, time.Now())
	a.w.Write(b)
	*bp = b
	linePool.Put(bp)
}

// AppendLine appends x's access log line (with a final newline) to b.
func AppendLine(b []byte, x *exchange.Exchange, now time.Time) []byte {
	b = append(b, `{"time":"`...)
	b = now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","request_id":`...)
	b = jsonenc.AppendString(b, x.ID)
	b = append(b, `,"client_ip":"`...)
	b = x.ClientIP.AppendTo(b)
	b = append(b, `","method":`...)
	b = jsonenc.AppendString(b, x.Method)
	b = append(b, `,"host":`...)
	b = jsonenc.AppendString(b, x.Host)
	b = append(b, `,"path":`...)
	b = jsonenc.AppendString(b, x.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(x.Status), 10)
	b = appendField(b, "route", x.Route)
	b = appendField(b, "upstream", x.Upstream)
	b = appendField(b, "consumer", x.Consumer)
	b = appendField(b, "code", string(x.Code))
	if x.Cause != nil {
		b = appendField(b, "error", x.Cause.Error())
	}
	if len(x.Attempts) > 0 {
		b = append(b, `,"attempts":`...)
		b = appendAttempts(b, x.Attempts)
	}
	b = append(b, `,"bytes_in":`...)
	b = strconv.AppendInt(b, x.BytesIn, 10)
	b = append(b, `,"bytes_out":`...)
	b = strconv.AppendInt(b, x.BytesOut, 10)
	b = append(b, `,"duration_ms":`...)
	b = appendMS(b, now.Sub(x.Start))
	if x.UpstreamTime > 0 {
		b = append(b, `,"upstream_ms":`...)
		b = appendMS(b, x.UpstreamTime)
	}
	if x.AI.Model != "" {
		b = appendAI(b, &x.AI)
	}
	return append(b, "}\n"...)
}

// appendAI appends the AI record as ,"ai":{...}.
func appendAI(b []byte, a *exchange.AI) []byte {
	b = append(b, `,"ai":{"model":`...)
	b = jsonenc.AppendString(b, a.Model)
	b = appendField(b, "provider", a.Provider)
	b = appendField(b, "provider_model", a.ProviderModel)
	b = append(b, `,"stream":`...)
	b = strconv.AppendBool(b, a.Stream)
	b = append(b, `,"input_tokens":`...)
	b = strconv.AppendInt(b, a.InputTokens, 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, a.OutputTokens, 10)
	b = append(b, `,"cached_tokens":`...)
	b = strconv.AppendInt(b, a.CachedTokens, 10)
	b = append(b, `,"reasoning_tokens":`...)
	b = strconv.AppendInt(b, a.ReasoningTokens, 10)
	b = append(b, `,"cost_usd":`...)
	b = strconv.AppendFloat(b, a.CostUSD, 'f', -1, 64)
	if a.FirstToken > 0 {
		b = append(b, `,"first_token_ms":`...)
		b = appendMS(b, a.FirstToken)
	}
	if a.Partial {
		b = append(b, `,"partial":true`...)
	}
	return append(b, '}')
}

// appendField appends ,"key":"value" when value is not empty.
func appendField(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return jsonenc.AppendString(b, value)
}

// appendMS appends d in milliseconds with microsecond precision.
func appendMS(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d.Microseconds())/1000, 'f', -1, 64)
}

// appendAttempts appends the attempts as a JSON array.
func appendAttempts(b []byte, as []exchange.Attempt) []byte {
	b = append(b, '[')
	for i, a := range as {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"target":`...)
		b = jsonenc.AppendString(b, a.Target)
		if a.Status != 0 {
			b = append(b, `,"status":`...)
			b = strconv.AppendInt(b, int64(a.Status), 10)
		}
		b = appendField(b, "code", string(a.Code))
		b = appendField(b, "error", a.Error)
		b = append(b, `,"duration_ms":`...)
		b = appendMS(b, a.Duration)
		if a.Reused {
			b = append(b, `,"reused":true`...)
		}
		b = appendField(b, "health", a.Health)
		b = append(b, '}')
	}
	return append(b, ']')
}
