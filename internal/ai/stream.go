package ai

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
)

// opened is a provider stream that delivered its first event.
type opened struct {
	s      llm.Stream
	first  llm.Event
	cancel context.CancelFunc
	idle   *time.Timer // cancels the call after a silence
	idled  *atomic.Bool
}

// stream serves a streamed chat. The attempts (keys, retries, fallbacks)
// cover everything up to the provider's first event; from then on the
// answer is relayed event by event, and a failure becomes a terminal
// error event in the client's format.
func (rt *Route) stream(w http.ResponseWriter, r *http.Request, x *exchange.Exchange, f format, req *llm.Request, chain []*model) error {
	g := rt.g
	var op opened
	srv, err := rt.run(r.Context(), x, "chat", chain, func(ctx context.Context, p *provider, model, key string) error {
		ctx, cancel := context.WithCancel(ctx)
		idled := new(atomic.Bool)
		// Until the first event, the call is bounded by ai.timeout; after
		// it, by ai.stream_idle_timeout between events.
		timer := time.AfterFunc(g.cfg.Timeout.D(), func() { idled.Store(true); cancel() })
		s, err := p.adapter.Stream(ctx, &llm.Call{Model: model, Key: key, Request: req})
		if err == nil {
			var first llm.Event
			if first, err = s.Next(); err == nil {
				op = opened{s: s, first: first, cancel: cancel, idle: timer, idled: idled}
				return nil
			}
			s.Close()
		}
		timer.Stop()
		cancel()
		if idled.Load() && r.Context().Err() == nil {
			return &llm.ProviderError{Class: llm.ClassTimeout, Err: err}
		}
		if err == io.EOF {
			err = llm.Errorf(llm.ClassBadResponse, "the stream ended before its first event")
		}
		return err
	})
	if err != nil {
		return err
	}
	defer op.cancel()
	defer op.s.Close()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	setServedBy(h, srv)
	exchange.SetGatewayHeaders(h, x)
	w.WriteHeader(http.StatusOK)
	x.Status = http.StatusOK
	// Events already waiting in the channel are written behind the one
	// in hand without a flush of their own: a burst from the provider
	// reaches the client in one write, and no event waits for a flush
	// while the provider is quiet (the loop flushes once the channel is
	// empty).
	flusher, _ := w.(http.Flusher)
	events := make(chan streamItem, 4) // ~150 bytes a slot, held per open stream
	unflushed := false
	flush := func() {
		if len(events) > 0 {
			unflushed = true
			return
		}
		unflushed = false
		if flusher != nil {
			flusher.Flush()
		}
	}
	cw := &countingWriter{w: w}
	sw := newStreamWriter(f, cw, flush, x.ID, req.Model, time.Now().Unix(), req.StreamUsage)

	var usage llm.Usage
	var finishReason llm.FinishReason
	sawFinish := false
	handle := func(ev llm.Event) error {
		switch ev.Type {
		case llm.EventText, llm.EventToolStart, llm.EventToolArgs:
			if x.AI.FirstToken == 0 {
				x.AI.FirstToken = time.Since(x.Start)
			}
		case llm.EventUsage:
			usage = ev.Usage
		case llm.EventFinish:
			sawFinish, finishReason = true, ev.Finish
		}
		return sw.Event(ev)
	}
	accounted := false
	finish := func(code gwerr.Code, cause error, partial bool) error {
		x.BytesOut = cw.n
		if code != "" {
			x.Code, x.Cause = code, cause
		}
		if !accounted {
			rt.account(x, srv, usage, partial)
		}
		endSpan(srv, nil, usage, finishReason, x.Code)
		return nil
	}
	if err := handle(op.first); err != nil {
		return finish(gwerr.ClientClosed, err, true)
	}

	// A reader goroutine turns the blocking Next into a channel, so quiet
	// streams get keepalives and a client that goes away is noticed.
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			ev, err := op.s.Next()
			select {
			case events <- streamItem{ev, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var keepalive <-chan time.Time
	if k := g.cfg.Keepalive.D(); k > 0 {
		t := time.NewTicker(k)
		defer t.Stop()
		keepalive = t.C
	}
	idle := g.cfg.StreamIdleTimeout.D()
	op.idle.Reset(idle)
	defer op.idle.Stop()
	clientGone := r.Context().Done()
	for {
		select {
		case it := <-events:
			if it.err == nil {
				op.idle.Reset(idle)
				if err := handle(it.ev); err != nil {
					return finish(gwerr.ClientClosed, err, true)
				}
				if unflushed {
					flush() // the events behind it wrote nothing
				}
				continue
			}
			if it.err == io.EOF {
				if !sawFinish {
					break // a stream must say why it ended
				}
				// Accounted before the end, so the playground can show
				// who served and what it cost in one last event.
				accounted = true
				rt.account(x, srv, usage, false)
				if ow, ok := sw.(openaiStream); ok && rt.playground {
					ow.Raw(playgroundChunk(x))
				}
				err := sw.Done()
				x.BytesOut = cw.n
				if err != nil {
					x.Code, x.Cause = gwerr.ClientClosed, err
				}
				endSpan(srv, nil, usage, finishReason, x.Code)
				return nil
			}
			if r.Context().Err() != nil {
				return finish(gwerr.ClientClosed, it.err, true)
			}
			pe := asProviderError(it.err)
			if op.idled.Load() {
				pe = &llm.ProviderError{Class: llm.ClassTimeout, Err: it.err}
			}
			x.AddAttempt(exchange.Attempt{Target: srv.provider.name + "/" + srv.model, Code: classCode(pe.Class), Error: "mid-stream: " + pe.Error()})
			sw.Error(gwerr.ProviderStreamBroken.Status(), gwerr.ProviderStreamBroken, "The model provider failed mid-stream ("+string(classCode(pe.Class))+"); the answer is incomplete.")
			return finish(gwerr.ProviderStreamBroken, pe, true)
		case <-keepalive:
			if err := sw.Keepalive(); err != nil {
				return finish(gwerr.ClientClosed, err, true)
			}
			continue
		case <-clientGone:
			return finish(gwerr.ClientClosed, r.Context().Err(), true)
		}
		// The provider ended the stream without a finish reason.
		pe := llm.Errorf(llm.ClassBadResponse, "the stream ended without a finish reason")
		x.AddAttempt(exchange.Attempt{Target: srv.provider.name + "/" + srv.model, Code: gwerr.ProviderBadResponse, Error: "mid-stream: " + pe.Error()})
		sw.Error(gwerr.ProviderStreamBroken.Status(), gwerr.ProviderStreamBroken, "The model provider ended the stream early; the answer is incomplete.")
		return finish(gwerr.ProviderStreamBroken, pe, true)
	}
}

type streamItem struct {
	ev  llm.Event
	err error
}

// countingWriter counts the bytes written to the client.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// playgroundChunk is the console playground's last event: the provider
// that served, its model and the cost.
func playgroundChunk(x *exchange.Exchange) []byte {
	b, _ := json.Marshal(map[string]any{"sluice": map[string]any{
		"provider": x.AI.Provider, "provider_model": x.AI.ProviderModel, "cost_usd": x.AI.CostUSD}})
	return b
}
