// Package iprestrict is the ip-restriction plugin: it admits or refuses a
// request by the client's IP address, before authentication.
//
// Config:
//
//	ip-restriction:
//	  allow: ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]
//	  deny:  ["10.66.0.0/16"]
//
// Each entry is an IPv4 or IPv6 address or a CIDR prefix whose host bits
// are zero ("10.0.0.1/8" is an error naming "10.0.0.0/8"). At least one
// entry is required, and a prefix may not be both allowed and denied.
//
// The most specific rule decides: the longest prefix of either list that
// contains the client address says allow or deny, so "deny 10.0.0.0/8,
// allow 10.1.2.3" admits 10.1.2.3 alone of that network and "allow
// 10.0.0.0/8, deny 10.66.0.0/16" carves a hole out of an allowed one. An
// address no rule covers is refused when the allow list is non-empty and
// admitted otherwise. A request whose client address is unknown is refused.
// A refused request is answered 403 forbidden; the log names the rule.
//
// The client address is the one the gateway resolved (exchange ClientIP):
// the TCP peer, or the right-most X-Forwarded-For entry that is not a
// trusted proxy when the peer is one of server.trusted_proxies. A client
// that is not a trusted proxy cannot choose its address by sending
// X-Forwarded-For. IPv4-mapped IPv6 addresses are treated as IPv4.
//
// Rules are parsed once into a table keyed by masked prefix; a lookup costs
// one hash probe per distinct prefix length in use and allocates nothing
// for an admitted request.
package iprestrict

import (
	"errors"
	"fmt"

	"github.com/sluicegw/sluice/internal/plugin"
)

// Name is the plugin's registered name.
const Name = "ip-restriction"

func init() {
	plugin.Register(plugin.Spec{Name: Name, Phase: plugin.PhaseIPRules, New: New})
}

// Config is the plugin's configuration.
type Config struct {
	Allow []string `json:"allow"`
	Deny  []string `json:"deny"`
}

// Restriction is one configured instance. It is immutable and safe for
// concurrent use.
type Restriction struct {
	t table
}

var _ plugin.Access = (*Restriction)(nil)

// New builds an instance from its raw config.
func New(raw map[string]any, _ plugin.Env) (any, error) {
	var cfg Config
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	if len(cfg.Allow) == 0 && len(cfg.Deny) == 0 {
		return nil, errors.New("allow or deny must list at least one address or prefix")
	}
	r := &Restriction{}
	for i, s := range cfg.Allow {
		if err := r.t.add(s, allow); err != nil {
			return nil, fmt.Errorf("allow[%d]: %w", i, err)
		}
	}
	for i, s := range cfg.Deny {
		if err := r.t.add(s, deny); err != nil {
			return nil, fmt.Errorf("deny[%d]: %w", i, err)
		}
	}
	return r, nil
}

// Access refuses the request with 403 forbidden unless its client address
// is admitted.
func (r *Restriction) Access(c *plugin.Ctx) error {
	if ok, reason := r.t.decide(c.X.ClientIP); !ok {
		return plugin.Forbidden(reason)
	}
	return nil
}
