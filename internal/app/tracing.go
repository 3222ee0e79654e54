package app

import (
	"context"
	"maps"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/telemetry"
)

// tracerFlushTimeout bounds exporting the spans still buffered when a
// tracer is retired (on reload or shutdown).
const tracerFlushTimeout = 5 * time.Second

// newTracer builds the tracer for c; nil when tracing is off.
func (a *App) newTracer(c *config.Tracing) (*telemetry.Tracer, error) {
	if !c.Enabled {
		return nil, nil
	}
	t, err := telemetry.NewTracer(telemetry.TracerOptions{
		URL:            c.TracesURL(),
		Headers:        c.Headers,
		SampleRatio:    c.SampleRatio,
		ServiceName:    c.ServiceName,
		ServiceVersion: a.opts.Version,
	})
	if err != nil {
		return nil, err
	}
	log := a.log
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: exporting spans failed", "error", err.Error())
	}))
	return t, nil
}

// prepareTracing builds the tracer for next when its tracing settings
// differ from prev's. It returns the function that puts the new tracer in
// service and retires the old one, or nil when nothing changed.
func (a *App) prepareTracing(prev, next *config.Config) (func(), error) {
	if sameTracing(&prev.Telemetry.Tracing, &next.Telemetry.Tracing) {
		return nil, nil
	}
	t, err := a.newTracer(&next.Telemetry.Tracing)
	if err != nil {
		return nil, err
	}
	return func() {
		old := a.gw.SetTracer(t)
		a.log.Info("tracing settings changed", "enabled", t != nil)
		if old != nil {
			// Requests still running on the old tracer may end spans
			// after this: those are dropped.
			go retireTracer(old)
		}
	}, nil
}

// retireTracer flushes and stops a tracer that no request takes anymore.
func retireTracer(t *telemetry.Tracer) {
	ctx, cancel := context.WithTimeout(context.Background(), tracerFlushTimeout)
	defer cancel()
	t.Shutdown(ctx)
}

// sameTracing reports whether two tracing settings build the same tracer.
func sameTracing(a, b *config.Tracing) bool {
	return a.Enabled == b.Enabled && (!a.Enabled ||
		a.Endpoint == b.Endpoint && a.SampleRatio == b.SampleRatio && a.ServiceName == b.ServiceName && maps.Equal(a.Headers, b.Headers))
}

// shutdownTracing flushes the spans of finished requests and stops the
// tracer; the caller has drained the requests.
func (a *App) shutdownTracing(ctx context.Context) {
	t := a.gw.SetTracer(nil)
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tracerFlushTimeout)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		a.log.Warn("tracing: flushing spans at shutdown failed", "error", err.Error())
	}
}
