package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/testkit"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and returns the
// cert and key file paths and a pool that trusts it.
func writeCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestHTTP2OverTLS: clients that negotiate h2 are served over HTTP/2, to an
// HTTP/1.1 upstream, with errors and streaming intact.
func TestHTTP2OverTLS(t *testing.T) {
	certFile, keyFile, pool := writeCert(t)
	u := testkit.Start(t, testkit.Echo)
	h := startGateway(t, fmt.Sprintf(`server:
  listen: "127.0.0.1:0"
  admin_listen: "127.0.0.1:0"
  tls: { cert_file: %q, key_file: %q }
`, certFile, keyFile)+oneTarget("", u.URL))
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get("https://" + h.app.ProxyAddr() + "/over/h2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("proto %s status %d", resp.Proto, resp.StatusCode)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id over h2")
	}
	got := u.LastRequest()
	if got.Path() != "/over/h2" || got.Get("X-Forwarded-Proto") != "https" || got.Proto != "HTTP/1.1" {
		t.Errorf("upstream saw %s %s proto %q", got.Method, got.Path(), got.Get("X-Forwarded-Proto"))
	}
	// A gateway error over h2 is still problem+json.
	u.Set(testkit.ResetBeforeHead)
	resp, err = client.Get("https://" + h.app.ProxyAddr() + "/fail")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 || resp.Header.Get("Sluice-Error") != "upstream_reset" {
		t.Errorf("h2 error: %d %q", resp.StatusCode, resp.Header.Get("Sluice-Error"))
	}
}

// TestH2COffByDefault: cleartext HTTP/2 is only served when enabled.
func TestH2COffByDefault(t *testing.T) {
	u := testkit.Start(t, testkit.OK)
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true) // prior knowledge, no HTTP/1.1
	h2c := &http.Client{Transport: &http.Transport{Protocols: &protos}}
	off := startGateway(t, oneTarget("", u.URL))
	if _, err := h2c.Get(off.url + "/x"); err == nil {
		t.Error("h2c was served with h2c off")
	}
	on := startGateway(t, `server:
  listen: "127.0.0.1:0"
  admin_listen: "127.0.0.1:0"
  h2c: true
`+oneTarget("", u.URL))
	resp, err := h2c.Get(on.url + "/x")
	if err != nil {
		t.Fatalf("h2c on: %v", err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Errorf("proto %s status %d", resp.Proto, resp.StatusCode)
	}
}
