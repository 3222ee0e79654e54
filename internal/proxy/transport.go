package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/sluicegw/sluice/internal/upstream"
)

// dialer is shared: it holds no per-target state.
var dialer = net.Dialer{KeepAlive: 30 * time.Second}

// connect returns a connection to t: a kept-alive one from its pool when
// there is one, else a new one dialled (and TLS-handshaken) within timeout.
func connect(ctx context.Context, t *upstream.Target, tlsConf *tls.Config, timeout time.Duration) (*upstream.Conn, *attemptError) {
	if c := t.Pool.Get(); c != nil {
		return c, nil
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, err := dialer.DialContext(dctx, "tcp", t.Addr)
	if err != nil {
		return nil, classify(phaseDial, err)
	}
	if t.TLS {
		tc := tls.Client(nc, tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			nc.Close()
			return nil, classify(phaseTLS, err)
		}
		nc = tc
	}
	return upstream.NewConn(nc, nil), nil
}

// upstreamTLSConfig returns the client TLS configuration for an upstream's
// https targets. serverName overrides SNI and verification name.
func upstreamTLSConfig(base *tls.Config, serverName string) *tls.Config {
	var c *tls.Config
	if base != nil {
		c = base.Clone()
	} else {
		c = &tls.Config{}
	}
	if serverName != "" {
		c.ServerName = serverName
	}
	c.NextProtos = []string{"http/1.1"}
	if c.ClientSessionCache == nil {
		c.ClientSessionCache = tls.NewLRUClientSessionCache(256)
	}
	return c
}
