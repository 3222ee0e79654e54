package gwerr

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	cause := errors.New("dial tcp 10.0.0.5:9001: connect: connection refused")
	Write(rec, "req-1", New(UpstreamConnectFailed, cause))
	if rec.Code != 502 || rec.Header().Get("Sluice-Error") != "upstream_connect_failed" ||
		rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %v", rec.Code, rec.Header())
	}
	var p map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "about:blank", "title": "Bad Gateway", "status": 502.0,
		"code": "upstream_connect_failed", "detail": "The upstream refused the connection.", "request_id": "req-1"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %v, want %v", k, p[k], v)
		}
	}
	if len(p) != len(want) {
		t.Errorf("extra fields: %v", p)
	}
}

func TestEveryCodeHasStatusAndDetail(t *testing.T) {
	for c, i := range codes {
		if i.status < 400 || i.detail == "" {
			t.Errorf("%s: %+v", c, i)
		}
		if c.Status() != i.status {
			t.Errorf("%s.Status() = %d", c, c.Status())
		}
	}
	if Code("nope").Status() != 500 {
		t.Error("unknown code must be 500")
	}
}

func TestAsAndUnwrap(t *testing.T) {
	base := errors.New("root cause")
	e := New(UpstreamReset, base)
	wrapped := errors.Join(errors.New("ctx"), e)
	if got := As(wrapped); got != e {
		t.Fatalf("As = %v", got)
	}
	if !errors.Is(e, base) {
		t.Fatal("cause not unwrapped")
	}
	if got := As(base); got.Code != Internal || got.Status != 500 {
		t.Fatalf("plain error became %+v", got)
	}
}
