package llm

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadBody(t *testing.T) {
	answer := `{"id":"x","choices":[]}`
	resp := func(body io.Reader, length int64) *http.Response {
		return &http.Response{Body: io.NopCloser(body), ContentLength: length}
	}
	for _, tc := range []struct {
		name   string
		length int64
	}{{"sized", int64(len(answer))}, {"unsized", -1}, {"length too small", 3}, {"length too large", 1 << 20}} {
		got, err := ReadBody(resp(iotest.OneByteReader(strings.NewReader(answer)), tc.length), 1<<10)
		if err != nil || string(got) != answer {
			t.Errorf("%s: %q, %v", tc.name, got, err)
		}
	}

	// Over the limit: a bad answer, whether or not it said its length.
	for _, length := range []int64{-1, int64(len(answer))} {
		_, err := ReadBody(resp(strings.NewReader(answer), length), 10)
		var pe *ProviderError
		if !errors.As(err, &pe) || pe.Class != ClassBadResponse || !strings.Contains(err.Error(), "over 10 bytes") {
			t.Errorf("length %d over the limit: %v", length, err)
		}
	}
	if got, err := ReadBody(resp(strings.NewReader(answer), -1), int64(len(answer))); err != nil || string(got) != answer {
		t.Errorf("exactly the limit: %q, %v", got, err)
	}

	// A read that fails is returned as it is, for the adapter to classify.
	boom := errors.New("connection reset")
	if _, err := ReadBody(resp(iotest.ErrReader(boom), -1), 1<<10); err != boom {
		t.Errorf("failed read: %v", err)
	}
}
