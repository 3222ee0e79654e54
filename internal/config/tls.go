package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// ClientConfig builds the client TLS configuration t describes (nil: the
// defaults, system roots). The CA file is read now.
func (t *UpstreamTLS) ClientConfig() (*tls.Config, error) {
	c := &tls.Config{ClientSessionCache: tls.NewLRUClientSessionCache(256)}
	if t == nil {
		return c, nil
	}
	c.ServerName = t.ServerName
	c.InsecureSkipVerify = t.InsecureSkipVerify //nolint:gosec // an explicit, documented opt-in
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificates found", t.CAFile)
		}
		c.RootCAs = pool
	}
	return c, nil
}
