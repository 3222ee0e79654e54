package admin

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStatsParams: since and step reach Options.Stats as durations, with
// defaults; out-of-range values are 400s naming the parameter; without
// Options.Stats the endpoint is 501.
func TestStatsParams(t *testing.T) {
	var got []time.Duration
	e := newEnv(t, envOptions{stats: func(window, step time.Duration) any {
		got = []time.Duration{window, step}
		return map[string]any{"window_seconds": int64(window / time.Second)}
	}})
	for _, tc := range []struct {
		query        string
		window, step time.Duration
	}{
		{"", 15 * time.Minute, 10 * time.Second},
		{"?since=5m&step=5s", 5 * time.Minute, 5 * time.Second},
		{"?since=1h", time.Hour, 40 * time.Second},
		{"?since=30s", 30 * time.Second, time.Second},
	} {
		rep := e.must(200, req{method: "GET", path: "/api/v1/stats" + tc.query})
		if fmt.Sprint(got) != fmt.Sprint([]time.Duration{tc.window, tc.step}) {
			t.Errorf("%q: Stats(%v), want (%v %v)", tc.query, got, tc.window, tc.step)
		}
		if rep.json(t)["window_seconds"] != float64(tc.window/time.Second) {
			t.Errorf("%q: body %s", tc.query, rep.body)
		}
	}
	for _, tc := range []struct{ query, field string }{
		{"since=61m", "since"}, {"since=0s", "since"}, {"since=x", "since"},
		{"step=1500ms", "step"}, {"since=1m&step=2m", "step"}, {"since=1h&step=2s", "step"},
	} {
		rep := e.must(400, req{method: "GET", path: "/api/v1/stats?" + tc.query})
		if ps := rep.problems(t); len(ps) != 1 || ps[0].Field != tc.field {
			t.Errorf("%s: problems %+v, want one on %s", tc.query, ps, tc.field)
		}
	}
	e.must(401, req{method: "GET", path: "/api/v1/stats", noAuth: true})

	none := newEnv(t, envOptions{})
	if rep := none.must(501, req{method: "GET", path: "/api/v1/stats"}); rep.code(t) != "not_implemented" {
		t.Errorf("code %q", rep.code(t))
	}
}

// sseChat is a Playground that streams two chunks back, with the model it
// was asked for.
type sseChat struct{}

func (sseChat) ServeChat(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Sluice-Provider", "mock")
	fmt.Fprintf(w, "data: {\"echo\":%q}\n\n", body)
	w.(http.Flusher).Flush()
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// TestPlaygroundHook: POST /api/v1/playground/chat reaches the Playground
// only for an authenticated caller with the CSRF token of a session; its
// streamed answer passes through; without a Playground it is 501.
func TestPlaygroundHook(t *testing.T) {
	e := newEnv(t, envOptions{playground: sseChat{}})
	pw := e.addUser("pat")
	sess, csrf := e.login("pat", pw)
	chat := `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`

	e.must(401, req{method: "POST", path: "/api/v1/playground/chat", noAuth: true, body: chat})
	e.must(403, req{method: "POST", path: "/api/v1/playground/chat", cookies: []*http.Cookie{sess}, body: chat})
	rep := e.must(200, req{method: "POST", path: "/api/v1/playground/chat", cookies: []*http.Cookie{sess},
		header: map[string]string{csrfHeader: csrf}, body: chat})
	if rep.header.Get("Content-Type") != "text/event-stream" || rep.header.Get("Sluice-Provider") != "mock" ||
		!strings.Contains(string(rep.body), `\"model\":\"m\"`) || !strings.HasSuffix(string(rep.body), "data: [DONE]\n\n") {
		t.Errorf("answer %v %s", rep.header, rep.body)
	}
	e.must(405, req{method: "GET", path: "/api/v1/playground/chat"})

	none := newEnv(t, envOptions{})
	if rep := none.must(501, req{method: "POST", path: "/api/v1/playground/chat", body: chat}); rep.code(t) != "not_implemented" {
		t.Errorf("code %q", rep.code(t))
	}
}
