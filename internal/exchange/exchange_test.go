package exchange

import (
	"net/http"
	"regexp"
	"testing"
	"time"
)

func TestSetGatewayHeaders(t *testing.T) {
	x := &Exchange{ID: "req-1", Start: time.Now().Add(-1234500 * time.Microsecond)}
	h := http.Header{}
	SetGatewayHeaders(h, x)
	if h.Get("X-Request-Id") != "req-1" || !regexp.MustCompile(`^gateway;dur=123[45]\.\d$`).MatchString(h.Get("Server-Timing")) {
		t.Fatalf("headers = %v", h)
	}
	x.UpstreamTime = 2500 * time.Microsecond
	SetGatewayHeaders(h, x)
	if !regexp.MustCompile(`^gateway;dur=\d+\.\d, upstream;dur=2\.5$`).MatchString(h.Get("Server-Timing")) {
		t.Fatalf("Server-Timing = %q", h.Get("Server-Timing"))
	}
}
