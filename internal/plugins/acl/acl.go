// Package acl is the acl plugin: it lets a request through only when the
// consumer that authenticated it is (allow) or is not (deny) in one of the
// listed groups.
//
// Config (exactly one of allow and deny, non-empty):
//
//	acl:
//	  allow: [gold, silver]       # consumer must be in at least one
//	  deny:  [banned]             # consumer must be in none
//	  hide_groups_header: false   # true: do not send X-Consumer-Groups
//
// The plugin runs after authentication, so it needs an auth plugin on the
// route (or globally). A request without an identified consumer is
// refused with 401 unauthorized — nobody has said who the client is, so
// there is nothing to authorise (Kong answers the same). A consumer that
// is identified but not allowed gets 403 forbidden. The private reason
// (consumer name, which rule) goes to the access log only.
//
// A client-sent X-Consumer-Groups is always removed. On success the
// consumer's groups are sent upstream as X-Consumer-Groups ("a, b"),
// unless hide_groups_header is true or the consumer has no groups.
//
// Like every plugin after auth, acl may also be configured per consumer,
// replacing the route's config for that consumer's requests.
package acl

import (
	"errors"
	"fmt"

	"github.com/sluicegw/sluice/internal/plugin"
)

// Name is the plugin's stable name.
const Name = "acl"

// groupsHeader is the upstream header carrying the consumer's groups.
const groupsHeader = "X-Consumer-Groups"

func init() {
	plugin.Register(plugin.Spec{Name: Name, Phase: plugin.PhaseACL, New: New})
}

// Config is the plugin's configuration.
type Config struct {
	Allow            []string `json:"allow"`
	Deny             []string `json:"deny"`
	HideGroupsHeader bool     `json:"hide_groups_header"`
}

// ACL is an acl instance. It is immutable and safe for concurrent use.
type ACL struct {
	groups map[string]bool
	allow  bool // groups is an allow list; else a deny list
	hide   bool
}

var _ plugin.Access = (*ACL)(nil)

// New builds an acl instance from its raw config.
func New(raw map[string]any, _ plugin.Env) (any, error) {
	var cfg Config
	if err := plugin.Decode(raw, &cfg); err != nil {
		return nil, err
	}
	list, field := cfg.Allow, "allow"
	switch {
	case len(cfg.Allow) > 0 && len(cfg.Deny) > 0:
		return nil, errors.New("give allow or deny, not both")
	case len(cfg.Deny) > 0:
		list, field = cfg.Deny, "deny"
	case len(cfg.Allow) == 0:
		return nil, errors.New("allow or deny needs at least one group")
	}
	a := &ACL{groups: make(map[string]bool, len(list)), allow: field == "allow", hide: cfg.HideGroupsHeader}
	for i, g := range list {
		if !validGroup(g) {
			return nil, fmt.Errorf("%s[%d]: group %q may only contain letters, digits, \".\", \"_\" and \"-\"", field, i, g)
		}
		a.groups[g] = true
	}
	return a, nil
}

// Private reasons, for the access log.
var (
	errNoConsumer = plugin.Unauthorized("acl: no authenticated consumer (is an auth plugin configured on the route?)")
)

// Private reason prefixes of a 403; the consumer's name follows.
const (
	reasonNotAllowed = "acl: consumer is in none of the allowed groups: "
	reasonDenied     = "acl: consumer is in a denied group: "
)

// Access implements plugin.Access.
func (a *ACL) Access(c *plugin.Ctx) error {
	h := c.R.Header
	delete(h, groupsHeader)
	cons := c.Consumer
	if cons == nil {
		return errNoConsumer
	}
	member := false
	for _, g := range cons.Groups {
		if a.groups[g] {
			member = true
			break
		}
	}
	switch {
	case a.allow && !member:
		return plugin.Forbidden(reasonNotAllowed + cons.Name)
	case !a.allow && member:
		return plugin.Forbidden(reasonDenied + cons.Name)
	}
	if !a.hide {
		if v := cons.GroupsHeader(); v != "" {
			h[groupsHeader] = []string{v}
		}
	}
	return nil
}

// validGroup reports whether g is a group name as consumers declare them.
func validGroup(g string) bool {
	if g == "" {
		return false
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
