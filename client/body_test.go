package client_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/client"
	"github.com/sluicegw/sluice/internal/testkit"
)

// onlyReader hides every method but Read, so http.NewRequest cannot set
// GetBody or ContentLength and the client has to buffer.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// closeCounter records that the client closed the caller's body.
type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// TestBodyReplayed checks that every attempt sends the same body, whether
// it comes from GetBody or from the client's buffer.
func TestBodyReplayed(t *testing.T) {
	payload := strings.Repeat(`{"line":"0123456789"}`, 5000) // ~100 KiB
	cases := []struct {
		name string
		body func() io.Reader
	}{
		{name: "strings.Reader (GetBody)", body: func() io.Reader { return strings.NewReader(payload) }},
		{name: "bytes.Buffer (GetBody)", body: func() io.Reader { return bytes.NewBufferString(payload) }},
		{name: "plain reader (buffered)", body: func() io.Reader { return onlyReader{strings.NewReader(payload)} }},
		{name: "empty plain reader", body: func() io.Reader { return onlyReader{strings.NewReader("")} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := testkit.Start(t, testkit.Sequence(testkit.Status(503), testkit.ResetBeforeHead, testkit.Echo))
			c := client.New(fast)
			want := readAll(t, tc.body())
			resp, err := c.Do(newRequest(t, "PUT", u.URL, tc.body()))
			if err != nil {
				t.Fatal(err)
			}
			echo, err := testkit.DecodeEcho(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(echo.Body, want) {
				t.Errorf("last attempt's body differs (%d bytes, want %d)", len(echo.Body), len(want))
			}
			reqs := u.Requests()
			if len(reqs) != 3 {
				t.Fatalf("%d requests recorded, want 3", len(reqs))
			}
			for i, r := range reqs {
				if !bytes.Equal(r.Body, want) {
					t.Errorf("attempt %d sent %d bytes, want the %d of the original", i+1, len(r.Body), len(want))
				}
				if cl := r.Get("Content-Length"); len(want) > 0 && cl != strconv.Itoa(len(want)) {
					t.Errorf("attempt %d: Content-Length %q (chunked %v), want %d", i+1, cl, r.Chunked, len(want))
				}
			}
		})
	}
}

// TestBodyTooLargeToBuffer checks that a body over the buffer limit and
// without GetBody is sent once, intact, and disables retries.
func TestBodyTooLargeToBuffer(t *testing.T) {
	u := testkit.Start(t, testkit.Status(503))
	payload := strings.Repeat("z", 5000)
	body := &closeCounter{Reader: strings.NewReader(payload)}
	c := client.New(fast, client.WithMaxBufferedBody(1000))
	_, err := c.Do(newRequest(t, "PUT", u.URL, body))
	e := asError(t, err)
	if e.Attempts != 1 || u.Hits() != 1 || e.StatusCode != 503 {
		t.Errorf("%d attempts, %d hits, status %d; want one attempt", e.Attempts, u.Hits(), e.StatusCode)
	}
	if got := u.LastRequest().Body; string(got) != payload {
		t.Errorf("sent %d bytes, want %d", len(got), len(payload))
	}
	if body.closed == 0 {
		t.Error("the caller's body was not closed")
	}

	// The same body with a GetBody is retried whatever its size.
	u.Set(testkit.Status(503))
	req := newRequest(t, "PUT", u.URL, onlyReader{strings.NewReader(payload)})
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(payload)), nil }
	_, err = c.Do(req)
	if e := asError(t, err); e.Attempts != 3 {
		t.Errorf("with GetBody: %d attempts, want 3", e.Attempts)
	}
}

// TestBufferedBodyClosed checks that a buffered body of the caller is
// closed even though the client sends its own copies.
func TestBufferedBodyClosed(t *testing.T) {
	u := testkit.Start(t, testkit.OK)
	body := &closeCounter{Reader: strings.NewReader("small")}
	resp, err := client.New().Do(newRequest(t, "POST", u.URL, body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if body.closed == 0 || string(u.LastRequest().Body) != "small" {
		t.Errorf("closed %d times, upstream got %q", body.closed, u.LastRequest().Body)
	}
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRoundTripper checks the http.RoundTripper form: the same retries,
// the last response returned as it came, and transport failures as *Error
// through http.Client.
func TestRoundTripper(t *testing.T) {
	u := testkit.Start(t, testkit.Sequence(testkit.Status(503), testkit.OK))
	hc := &http.Client{Transport: client.New(fast)}
	resp, err := hc.Get(u.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || u.Hits() != 2 {
		t.Errorf("status %d after %d hits, want 200 after 2", resp.StatusCode, u.Hits())
	}

	u.Set(testkit.Respond(502, http.Header{"Sluice-Error": {"upstream_reset"}}, "{}"))
	resp, err = hc.Get(u.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 502 || u.Hits() != 5 {
		t.Errorf("status %d after %d hits, want the last 502 after 2+3", resp.StatusCode, u.Hits())
	}
	if e := asError(t, client.CheckResponse(resp)); e.Code != "upstream_reset" || e.Attempts != 3 {
		t.Errorf("CheckResponse = %+v, want upstream_reset after 3 attempts", e)
	}

	_, err = hc.Get("http://" + testkit.RefusingAddr(t))
	if e := asError(t, err); e.Attempts != 3 {
		t.Errorf("refused: %d attempts, want 3", e.Attempts)
	}
}
