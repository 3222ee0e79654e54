package ai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/internal/ai/llm"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/gwerr"
	"github.com/sluicegw/sluice/internal/h1client"
)

// opened is a provider stream that delivered its first event.
type opened struct {
	s      llm.Stream
	first  llm.Event
	cancel context.CancelFunc
	idle   *time.Timer // cancels the call after a silence
	idled  *atomic.Bool
	hooks  *h1client.Hooks
}

// A streamed chat is served in steps (see chat): the attempts (keys,
// retries, fallbacks) cover everything up to the provider's first event
// (open); from then on the answer is relayed event by event (startRelay,
// relay.run), and a failure becomes a terminal error event in the
// client's format.
//
// A stream is held for as long as the model writes, so what its goroutine
// keeps matters: each step is a function of its own and the frames left
// on the stack while it waits for the provider are small, so that the
// goroutine's stack, parked for most of the stream, can shrink.

// open makes the attempts until a provider's stream gives its first event.
func (rt *Route) open(r *http.Request, x *exchange.Exchange, req *llm.Request, chain []*model) (*opened, served, error) {
	g := rt.g
	var op *opened
	srv, err := rt.run(r.Context(), x, "chat", chain, func(ctx context.Context, p *provider, model, key string) error {
		ctx, cancel := context.WithCancel(ctx)
		idled := new(atomic.Bool)
		// Until the first event, the call is bounded by ai.timeout; after
		// it, by ai.stream_idle_timeout between events.
		timer := time.AfterFunc(g.cfg.Timeout.D(), func() { idled.Store(true); cancel() })
		hooks := new(h1client.Hooks)
		s, err := p.adapter.Stream(h1client.WithHooks(ctx, hooks), &llm.Call{Model: model, Key: key, Request: req})
		if err == nil {
			var first llm.Event
			if first, err = s.Next(); err == nil {
				op = &opened{s: s, first: first, cancel: cancel, idle: timer, idled: idled, hooks: hooks}
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
	return op, srv, err
}

// startRelay sends the response head and readies the relay of op.
func (rt *Route) startRelay(w http.ResponseWriter, x *exchange.Exchange, f format, req *llm.Request, srv served, op *opened) *relay {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	setServedBy(h, srv)
	exchange.SetGatewayHeaders(h, x)
	w.WriteHeader(http.StatusOK)
	x.Status = http.StatusOK
	cw := &countingWriter{w: w}
	rl := &relay{rt: rt, x: x, srv: srv, cw: cw, op: op}
	rl.flusher, _ = w.(http.Flusher)
	rl.sw = newStreamWriter(f, cw, rl.flushIfDone, x.ID, req.Model, time.Now().Unix(), req.StreamUsage)
	return rl
}

// run relays the stream to its end.
func (rl *relay) run(r *http.Request) error {
	op := rl.op
	defer op.cancel()
	defer op.s.Close()
	if !op.hooks.Bound() {
		if err := rl.handle(&op.first); err != nil {
			return rl.finish(gwerr.ClientClosed, err, true)
		}
		return rl.relayWithReader(r)
	}
	rl.bindHooks()
	defer func() {
		if rl.unflushed {
			rl.flushNow()
		}
	}()
	if err := rl.handle(&op.first); err != nil {
		return rl.finish(gwerr.ClientClosed, err, true)
	}
	return rl.pump(r)
}

// bindHooks hands the waits for the provider to the relay. The provider's
// connection is h1client's and this goroutine reads it: what was written
// is flushed when the next read has to wait (a burst from the provider
// reaches the client in one write), keepalives and the idle limit are run
// by that wait, and a client that goes away cancels the request's
// context, which interrupts it.
func (rl *relay) bindHooks() {
	op := rl.op
	cfg := &rl.rt.g.cfg
	op.idle.Stop()
	rl.deferFlush = true
	op.hooks.Flush = func() {
		if rl.unflushed {
			rl.flushNow()
		}
	}
	op.hooks.Idle = cfg.StreamIdleTimeout.D()
	if k := cfg.Keepalive.D(); k > 0 {
		op.hooks.Every = k
		op.hooks.Tick = func() error {
			if err := rl.sw.Keepalive(); err != nil {
				return &keepaliveError{err}
			}
			rl.flushNow()
			return nil
		}
	}
}

// pump relays events until the stream ends.
func (rl *relay) pump(r *http.Request) error {
	for {
		ev, err := rl.op.s.Next()
		if done, ret := rl.step(r, &ev, err); done {
			return ret
		}
	}
}

// relay is one stream being relayed to the client.
type relay struct {
	rt         *Route
	x          *exchange.Exchange
	srv        served
	op         *opened
	sw         streamWriter
	cw         *countingWriter
	flusher    http.Flusher
	events     chan streamItem // the reader goroutine's, if there is one
	deferFlush bool            // flush only when the next read waits
	unflushed  bool            // written since the last flush

	usage        llm.Usage
	finishReason llm.FinishReason
	sawFinish    bool
	accounted    bool
}

// flushIfDone is the stream writer's flush: it is put off while more
// events are at hand (they are written behind this one) — until the next
// read waits, or while events wait in the reader goroutine's channel.
func (rl *relay) flushIfDone() {
	if rl.deferFlush || len(rl.events) > 0 {
		rl.unflushed = true
		return
	}
	rl.flushNow()
}

func (rl *relay) flushNow() {
	rl.unflushed = false
	if rl.flusher != nil {
		rl.flusher.Flush()
	}
}

// keepaliveError is a keepalive the client could not be sent.
type keepaliveError struct{ err error }

func (e *keepaliveError) Error() string { return "writing a keepalive: " + e.err.Error() }
func (e *keepaliveError) Unwrap() error { return e.err }

// handle writes one event to the client.
func (rl *relay) handle(ev *llm.Event) error {
	switch ev.Type {
	case llm.EventText, llm.EventToolStart, llm.EventToolArgs:
		if rl.x.AI.FirstToken == 0 {
			rl.x.AI.FirstToken = time.Since(rl.x.Start)
		}
	case llm.EventUsage:
		rl.usage = ev.Usage
	case llm.EventFinish:
		rl.sawFinish, rl.finishReason = true, ev.Finish
	}
	return rl.sw.Event(*ev)
}

// finish records how the stream ended.
func (rl *relay) finish(code gwerr.Code, cause error, partial bool) error {
	x := rl.x
	x.BytesOut = rl.cw.n
	if code != "" {
		x.Code, x.Cause = code, cause
	}
	if !rl.accounted {
		rl.rt.account(x, rl.srv, rl.usage, partial)
	}
	endSpan(rl.srv, nil, rl.usage, rl.finishReason, x.Code)
	return nil
}

// step takes what the provider's stream gave next: an event to relay, or
// the end of the stream. done reports the end, with step's result.
func (rl *relay) step(r *http.Request, ev *llm.Event, err error) (done bool, ret error) {
	x, srv, sw := rl.x, rl.srv, rl.sw
	if err == nil {
		if err := rl.handle(ev); err != nil {
			return true, rl.finish(gwerr.ClientClosed, err, true)
		}
		return false, nil
	}
	if err == io.EOF {
		if !rl.sawFinish {
			// The provider ended the stream without a finish reason.
			pe := llm.Errorf(llm.ClassBadResponse, "the stream ended without a finish reason")
			x.AddAttempt(exchange.Attempt{Target: srv.provider.name + "/" + srv.model, Code: gwerr.ProviderBadResponse, Error: "mid-stream: " + pe.Error()})
			sw.Error(gwerr.ProviderStreamBroken.Status(), gwerr.ProviderStreamBroken, "The model provider ended the stream early; the answer is incomplete.")
			return true, rl.finish(gwerr.ProviderStreamBroken, pe, true)
		}
		// Accounted before the end, so the playground can show who
		// served and what it cost in one last event.
		rl.accounted = true
		rl.rt.account(x, srv, rl.usage, false)
		if ow, ok := sw.(openaiStream); ok && rl.rt.playground {
			ow.Raw(playgroundChunk(x))
		}
		err := sw.Done()
		x.BytesOut = rl.cw.n
		if err != nil {
			x.Code, x.Cause = gwerr.ClientClosed, err
		}
		endSpan(srv, nil, rl.usage, rl.finishReason, x.Code)
		return true, nil
	}
	var ke *keepaliveError
	if r.Context().Err() != nil || errors.As(err, &ke) {
		return true, rl.finish(gwerr.ClientClosed, err, true)
	}
	pe := asProviderError(err)
	if rl.op.idled.Load() || errors.Is(err, h1client.ErrIdle) {
		pe = &llm.ProviderError{Class: llm.ClassTimeout, Err: err}
	}
	x.AddAttempt(exchange.Attempt{Target: srv.provider.name + "/" + srv.model, Code: classCode(pe.Class), Error: "mid-stream: " + pe.Error()})
	sw.Error(gwerr.ProviderStreamBroken.Status(), gwerr.ProviderStreamBroken, "The model provider failed mid-stream ("+string(classCode(pe.Class))+"); the answer is incomplete.")
	return true, rl.finish(gwerr.ProviderStreamBroken, pe, true)
}

// relayWithReader relays a stream whose reads cannot be interrupted for
// keepalives (a provider reached through net/http): a reader goroutine
// turns the blocking Next into a channel, so quiet streams get keepalives
// and a client that goes away is noticed.
func (rl *relay) relayWithReader(r *http.Request) error {
	op := rl.op
	keepalive, idle := rl.rt.g.cfg.Keepalive.D(), rl.rt.g.cfg.StreamIdleTimeout.D()
	events := make(chan streamItem, 4) // ~150 bytes a slot, held per open stream
	rl.events = events
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
	var tick <-chan time.Time
	if keepalive > 0 {
		t := time.NewTicker(keepalive)
		defer t.Stop()
		tick = t.C
	}
	op.idle.Reset(idle)
	defer op.idle.Stop()
	clientGone := r.Context().Done()
	for {
		select {
		case it := <-events:
			if it.err == nil {
				op.idle.Reset(idle)
			}
			if done, ret := rl.step(r, &it.ev, it.err); done {
				return ret
			}
			if rl.unflushed {
				rl.flushIfDone() // the events behind it wrote nothing
			}
		case <-tick:
			if err := rl.sw.Keepalive(); err != nil {
				return rl.finish(gwerr.ClientClosed, err, true)
			}
		case <-clientGone:
			return rl.finish(gwerr.ClientClosed, r.Context().Err(), true)
		}
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
