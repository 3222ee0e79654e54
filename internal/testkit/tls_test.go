package testkit

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStartTLS(t *testing.T) {
	u := StartTLS(t, OK)
	if !strings.HasPrefix(u.URL, "https://127.0.0.1:") {
		t.Fatalf("URL = %q", u.URL)
	}
	t.Run("untrusting client fails the handshake", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{}}
		_, err := c.Get(u.URL + "/")
		var verr *tls.CertificateVerificationError
		if !errors.As(err, &verr) {
			t.Fatalf("err = %v, want a certificate verification error", err)
		}
	})
	t.Run("trusting client gets an answer", func(t *testing.T) {
		status, body, err := get(t, u.Client(), u.URL+"/secure")
		if err != nil || status != http.StatusOK || body != "GET /secure\n" {
			t.Fatalf("got %d %q, %v", status, body, err)
		}
	})
	t.Run("SNI is recorded", func(t *testing.T) {
		url := "https://localhost:" + u.Addr[strings.LastIndexByte(u.Addr, ':')+1:] + "/named"
		if _, _, err := get(t, u.Client(), url); err != nil {
			t.Fatal(err)
		}
		if got := u.LastRequest().TLSServerName; got != "localhost" {
			t.Errorf("TLSServerName = %q, want localhost", got)
		}
	})
	if u.Hits() != 2 {
		t.Errorf("Hits() = %d, want 2 (the failed handshake is no hit)", u.Hits())
	}
	if u.Conns() != 3 {
		t.Errorf("Conns() = %d, want 3", u.Conns())
	}
}

func TestStartTLSFaults(t *testing.T) {
	tests := []struct {
		name string
		b    Behavior
	}{
		{"reset before head", ResetBeforeHead},
		{"close before head", CloseBeforeHead},
		{"garbage", Garbage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := StartTLS(t, tt.b)
			resp, err := u.Client().Get(u.URL + "/")
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got %d, want a client error", resp.StatusCode)
			}
			var verr *tls.CertificateVerificationError
			if errors.As(err, &verr) {
				t.Fatalf("handshake failed (%v), want the fault after it", err)
			}
			if u.Hits() != 1 {
				t.Errorf("Hits() = %d, want 1", u.Hits())
			}
		})
	}
}

func TestPlainUpstreamHasNoCertificate(t *testing.T) {
	u := Start(t, OK)
	if u.CertPool() != nil || u.Certificate() != nil {
		t.Errorf("plain upstream reports a certificate")
	}
}

// TestStartTLSKeepAliveAfterStream checks that a TLS connection stays usable
// after a stream whose pauses were watched with read deadlines.
func TestStartTLSKeepAliveAfterStream(t *testing.T) {
	u := StartTLS(t, Drip(2, 20*time.Millisecond))
	c := u.Client()
	for i := range 2 {
		status, body, err := get(t, c, u.URL+"/")
		if err != nil || status != http.StatusOK || body != "chunk 1\nchunk 2\n" {
			t.Fatalf("request %d: got %d %q, %v", i+1, status, body, err)
		}
	}
	if u.Conns() != 1 {
		t.Errorf("Conns() = %d, want 1", u.Conns())
	}
}
