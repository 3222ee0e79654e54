package telemetry

import (
	"context"
	"github.com/sluicegw/sluice/internal/jsonenc"
	"log/slog"
	"strconv"
	"time"

	"github.com/sluicegw/sluice/internal/exchange"
)

// AccessLog writes one JSON line per request with everything needed to
// explain it: route, upstream, status, error code and cause, and every
// attempt with its target, failure class and duration.
type AccessLog struct {
	log *slog.Logger
}

// NewAccessLog returns an access log writing through h; a nil h disables it.
func NewAccessLog(h slog.Handler) *AccessLog {
	if h == nil {
		return &AccessLog{}
	}
	return &AccessLog{log: slog.New(h)}
}

// Enabled reports whether lines are written at all.
func (a *AccessLog) Enabled() bool { return a != nil && a.log != nil }

// Log writes x's line.
func (a *AccessLog) Log(x *exchange.Exchange) {
	if !a.Enabled() {
		return
	}
	attrs := make([]slog.Attr, 0, 20)
	attrs = append(attrs,
		slog.String("request_id", x.ID),
		slog.String("client_ip", x.ClientIP.String()),
		slog.String("method", x.Method),
		slog.String("host", x.Host),
		slog.String("path", x.Path),
		slog.Int("status", x.Status),
	)
	if x.Route != "" {
		attrs = append(attrs, slog.String("route", x.Route))
	}
	if x.Upstream != "" {
		attrs = append(attrs, slog.String("upstream", x.Upstream))
	}
	if x.Consumer != "" {
		attrs = append(attrs, slog.String("consumer", x.Consumer))
	}
	if x.Code != "" {
		attrs = append(attrs, slog.String("code", string(x.Code)))
	}
	if x.Cause != nil {
		attrs = append(attrs, slog.String("error", x.Cause.Error()))
	}
	if len(x.Attempts) > 0 {
		attrs = append(attrs, slog.Any("attempts", attemptsJSON(x.Attempts)))
	}
	attrs = append(attrs,
		slog.Int64("bytes_in", x.BytesIn),
		slog.Int64("bytes_out", x.BytesOut),
		slog.Float64("duration_ms", ms(time.Since(x.Start))),
	)
	if x.UpstreamTime > 0 {
		attrs = append(attrs, slog.Float64("upstream_ms", ms(x.UpstreamTime)))
	}
	a.log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}

func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// attemptsJSON encodes attempts without reflection.
type attemptsJSON []exchange.Attempt

func (as attemptsJSON) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 128*len(as))
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
		if a.Code != "" {
			b = append(b, `,"code":`...)
			b = jsonenc.AppendString(b, string(a.Code))
		}
		if a.Error != "" {
			b = append(b, `,"error":`...)
			b = jsonenc.AppendString(b, a.Error)
		}
		b = append(b, `,"duration_ms":`...)
		b = strconv.AppendFloat(b, ms(a.Duration), 'f', -1, 64)
		if a.Reused {
			b = append(b, `,"reused":true`...)
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}
