package testkit

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// get performs a GET with c and returns the status and the whole body.
func get(t *testing.T, c *http.Client, url string) (int, string, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func TestOKKeepAliveCountsHitsAndConns(t *testing.T) {
	u := Start(t, OK)
	c := u.Client()
	for i := range 3 {
		status, body, err := get(t, c, fmt.Sprintf("%s/items/%d?x=1", u.URL, i))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if want := fmt.Sprintf("GET /items/%d?x=1\n", i); status != http.StatusOK || body != want {
			t.Fatalf("request %d: got %d %q, want 200 %q", i, status, body, want)
		}
	}
	if got := u.Hits(); got != 3 {
		t.Errorf("Hits() = %d, want 3", got)
	}
	if got := u.Conns(); got != 1 {
		t.Errorf("Conns() = %d, want 1 (keep-alive)", got)
	}
	for i, r := range u.Requests() {
		if r.Conn != 1 {
			t.Errorf("request %d came on connection %d, want 1", i, r.Conn)
		}
	}
}

func TestConnectionCloseIsHonoured(t *testing.T) {
	u := Start(t, OK)
	c := u.Client()
	req, err := http.NewRequest(http.MethodGet, u.URL+"/bye", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !resp.Close {
		t.Errorf("response to Connection: close did not announce a close")
	}
	if _, _, err := get(t, c, u.URL+"/again"); err != nil {
		t.Fatal(err)
	}
	if got := u.Conns(); got != 2 {
		t.Errorf("Conns() = %d, want 2 (the first connection was closed)", got)
	}
}

func TestRespondAndStatus(t *testing.T) {
	tests := []struct {
		name       string
		b          Behavior
		method     string
		wantStatus int
		wantHeader map[string]string
		wantBody   string
	}{
		{
			name:       "respond with headers",
			b:          Respond(http.StatusCreated, http.Header{"X-Thing": {"1"}, "Content-Type": {"application/json"}}, `{"ok":true}`),
			method:     http.MethodGet,
			wantStatus: http.StatusCreated,
			wantHeader: map[string]string{"X-Thing": "1", "Content-Type": "application/json", "Content-Length": "11"},
			wantBody:   `{"ok":true}`,
		},
		{
			name:       "respond to HEAD keeps length, sends no body",
			b:          Respond(http.StatusOK, nil, "hello"),
			method:     http.MethodHead,
			wantStatus: http.StatusOK,
			wantHeader: map[string]string{"Content-Length": "5"},
			wantBody:   "",
		},
		{
			name:       "no content",
			b:          Respond(http.StatusNoContent, nil, ""),
			method:     http.MethodDelete,
			wantStatus: http.StatusNoContent,
			wantBody:   "",
		},
		{
			name:       "status 503",
			b:          Status(http.StatusServiceUnavailable),
			method:     http.MethodGet,
			wantStatus: http.StatusServiceUnavailable,
			wantHeader: map[string]string{"Content-Type": "text/plain; charset=utf-8"},
			wantBody:   "503 Service Unavailable\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := Start(t, tt.b)
			req, err := http.NewRequest(tt.method, u.URL+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := u.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestRespondSendsDeliberatelyWrongLength(t *testing.T) {
	// Connection: close in the scripted header ends the connection after the
	// short body, so the client sees it truncated instead of waiting.
	u := Start(t, Respond(http.StatusOK, http.Header{"Content-Length": {"10"}, "Connection": {"close"}}, "short"))
	_, body, err := get(t, u.Client(), u.URL+"/")
	if err == nil {
		t.Fatalf("got body %q and no error, want a truncated body", body)
	}
	if body != "short" {
		t.Errorf("body = %q, want %q", body, "short")
	}
}

func TestLastRequestRecordsTheWire(t *testing.T) {
	u := Start(t, OK)
	c, err := net.Dial("tcp", u.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw := "POST /a%2Fb?q=1&q=2 HTTP/1.1\r\n" +
		"Host: example.test\r\n" +
		"x-lower: one\r\n" +
		"X-Dup: first\r\n" +
		"X-Dup:  second \r\n" +
		"Content-Length: 5\r\n\r\nhello"
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	r := u.LastRequest()
	want := []HeaderField{
		{"Host", "example.test"},
		{"x-lower", "one"},
		{"X-Dup", "first"},
		{"X-Dup", "second"},
		{"Content-Length", "5"},
	}
	if r.Method != "POST" || r.Target != "/a%2Fb?q=1&q=2" || r.Proto != "HTTP/1.1" {
		t.Errorf("request line = %q %q %q", r.Method, r.Target, r.Proto)
	}
	if r.Path() != "/a%2Fb" || r.RawQuery() != "q=1&q=2" {
		t.Errorf("Path() = %q, RawQuery() = %q", r.Path(), r.RawQuery())
	}
	if fmt.Sprint(r.Headers) != fmt.Sprint(want) {
		t.Errorf("Headers = %v, want %v", r.Headers, want)
	}
	if got := r.Values("x-dup"); len(got) != 2 || got[1] != "second" {
		t.Errorf("Values(x-dup) = %q", got)
	}
	if string(r.Body) != "hello" || r.Chunked {
		t.Errorf("Body = %q (chunked %v), want %q", r.Body, r.Chunked, "hello")
	}
	if r.RemoteAddr != c.LocalAddr().String() {
		t.Errorf("RemoteAddr = %q, want %q", r.RemoteAddr, c.LocalAddr())
	}
	if r.Conn != 1 {
		t.Errorf("Conn = %d, want 1", r.Conn)
	}
	// The caller owns what it gets back.
	r.Body[0] = 'J'
	if got := u.LastRequest().Body; string(got) != "hello" {
		t.Errorf("recorded body changed through a returned copy: %q", got)
	}
}

func TestEchoReportsRequest(t *testing.T) {
	u := Start(t, Echo)
	// An unknown length makes the client send a chunked body.
	req, err := http.NewRequest(http.MethodPut, u.URL+"/echo/x?a=b", io.MultiReader(strings.NewReader("pay"), strings.NewReader("load")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Add("X-Forwarded-For", "10.0.0.1")
	req.Header.Add("X-Forwarded-For", "10.0.0.2")
	resp, err := u.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	e, err := DecodeEcho(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if e.Method != "PUT" || e.Path != "/echo/x" || e.RawQuery != "a=b" || e.Target != "/echo/x?a=b" || e.Proto != "HTTP/1.1" {
		t.Errorf("echo = %+v", e)
	}
	if string(e.Body) != "payload" {
		t.Errorf("echoed body = %q, want %q", e.Body, "payload")
	}
	if got := e.Header().Values("X-Forwarded-For"); len(got) != 2 || got[0] != "10.0.0.1" || got[1] != "10.0.0.2" {
		t.Errorf("X-Forwarded-For = %q", got)
	}
	if e.Get("transfer-encoding") != "chunked" || !u.LastRequest().Chunked {
		t.Errorf("chunked request body not recorded as such")
	}
}

func TestSequenceIsPerRequestAndRepeatsLast(t *testing.T) {
	u := Start(t, Sequence(Status(http.StatusServiceUnavailable), Sequence(ResetBeforeHead, Status(http.StatusAccepted))))
	// A fresh client per request: net/http silently retries an idempotent
	// request that fails on a reused connection, which would skip a step.
	want := []int{503, 0, 202, 202}
	for i, w := range want {
		status, _, err := get(t, u.Client(), u.URL+"/")
		if w == 0 {
			if err == nil {
				t.Fatalf("request %d: got %d, want a transport error", i+1, status)
			}
			continue
		}
		if err != nil || status != w {
			t.Fatalf("request %d: got %d, %v; want %d", i+1, status, err, w)
		}
	}
	if got := u.Hits(); got != int64(len(want)) {
		t.Errorf("Hits() = %d, want %d", got, len(want))
	}
	// Installing the sequence again starts it over.
	u.Set(Sequence(Status(http.StatusTeapot), OK))
	for i, w := range []int{http.StatusTeapot, http.StatusOK} {
		if status, _, err := get(t, u.Client(), u.URL+"/"); err != nil || status != w {
			t.Fatalf("after Set, request %d: got %d, %v; want %d", i+1, status, err, w)
		}
	}
}

func TestSetWhileServing(t *testing.T) {
	u := Start(t, OK)
	c := u.Client()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 4 {
		wg.Go(func() {
			for range 10 {
				status, _, err := get(t, c, u.URL+"/")
				if err != nil {
					errs <- err
					return
				}
				if status != http.StatusOK && status != http.StatusAccepted {
					errs <- fmt.Errorf("status %d", status)
				}
			}
		})
	}
	for i := range 20 {
		if i%2 == 0 {
			u.Set(Status(http.StatusAccepted))
		} else {
			u.Set(OK)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := u.Hits(); got != 40 {
		t.Errorf("Hits() = %d, want 40", got)
	}
}

func TestHealthProbes(t *testing.T) {
	u := Start(t, Hang, WithHealth("/healthz"))
	c := u.Client()
	tests := []struct {
		name    string
		healthy bool
		want    int
	}{
		{"healthy", true, http.StatusOK},
		{"unhealthy", false, http.StatusServiceUnavailable},
		{"recovered", true, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u.SetHealthy(tt.healthy)
			status, _, err := get(t, c, u.URL+"/healthz?probe=1")
			if err != nil || status != tt.want {
				t.Fatalf("probe: got %d, %v; want %d", status, err, tt.want)
			}
		})
	}
	if u.Hits() != 0 || len(u.Requests()) != 0 {
		t.Errorf("probes counted as traffic: Hits() = %d, %d recorded", u.Hits(), len(u.Requests()))
	}
	if got := u.Probes(); got != 3 {
		t.Errorf("Probes() = %d, want 3", got)
	}
	if got := u.Conns(); got != 1 {
		t.Errorf("Conns() = %d, want 1 (probes keep the connection alive)", got)
	}
}

func TestExpectContinue(t *testing.T) {
	u := Start(t, Echo)
	c, err := net.Dial("tcp", u.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	head := "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q, %v; want 100 Continue before the body is sent", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "data"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	e, err := DecodeEcho(resp.Body)
	if err != nil || string(e.Body) != "data" {
		t.Fatalf("echoed body %q, %v", e.Body, err)
	}
}

func TestPipelinedRequests(t *testing.T) {
	u := Start(t, OK)
	c, err := net.Dial("tcp", u.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for _, want := range []string{"GET /one\n", "GET /two\n"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != want {
			t.Fatalf("body %q, %v; want %q", body, err, want)
		}
	}
	if u.Hits() != 2 || u.Conns() != 1 {
		t.Errorf("Hits() = %d, Conns() = %d; want 2 and 1", u.Hits(), u.Conns())
	}
}

func TestCloseEndsHangAndRefusesNewConnections(t *testing.T) {
	u := Start(t, Hang)
	c, err := net.Dial("tcp", u.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Wait until the head has been read, so Close interrupts the Hang itself.
	for u.Hits() == 0 {
		time.Sleep(time.Millisecond)
	}
	u.Close()
	u.Close() // idempotent
	n, err := c.Read(make([]byte, 1))
	if err == nil {
		t.Fatalf("read %d bytes from a closed upstream", n)
	}
	if _, err := net.DialTimeout("tcp", u.Addr, time.Second); err == nil {
		t.Errorf("dial after Close succeeded")
	}
}
