package iprestrict

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// verdict is what a rule says about the addresses it covers.
type verdict uint8

const (
	allow verdict = iota + 1
	deny
)

func (v verdict) String() string {
	if v == deny {
		return "deny"
	}
	return "allow"
}

// family is the rules of one address family: one hash table of masked
// prefixes, and the distinct prefix lengths in use, longest first. A lookup
// masks the address to each length in turn and probes the table, so it
// costs one hash probe per distinct length (at most 33 for IPv4, 129 for
// IPv6) however many rules there are, and the first hit is the longest
// matching prefix.
type family struct {
	lens  []int
	rules map[netip.Prefix]verdict
}

// lookup returns the verdict and prefix of the longest rule covering a.
func (f *family) lookup(a netip.Addr) (verdict, netip.Prefix, bool) {
	for _, l := range f.lens {
		p, err := a.Prefix(l)
		if err != nil {
			continue
		}
		if v, ok := f.rules[p]; ok {
			return v, p, true
		}
	}
	return 0, netip.Prefix{}, false
}

// table is a parsed set of allow and deny rules. It is immutable after
// build and safe for concurrent use.
type table struct {
	v4, v6   family
	hasAllow bool
}

// add parses one rule: an address (a /32 or /128 rule) or a CIDR prefix
// whose host bits are zero. IPv4-mapped IPv6 rules are stored as IPv4,
// since the gateway unmaps client addresses.
func (t *table) add(s string, v verdict) error {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return fmt.Errorf("%q is not an IP address or CIDR prefix", s)
		}
		if p.Masked() != p {
			return fmt.Errorf("%q has host bits set; write %s", s, p.Masked())
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("%q is not an IP address or CIDR prefix", s)
		}
		if a.Zone() != "" {
			return fmt.Errorf("%q has a zone; rules match addresses without zones", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	// A masked prefix is IPv4-mapped only when it is at least /96 long.
	if a := p.Addr(); a.Is4In6() {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	f := &t.v6
	if p.Addr().Is4() {
		f = &t.v4
	}
	if f.rules == nil {
		f.rules = map[netip.Prefix]verdict{}
	}
	if old, ok := f.rules[p]; ok && old != v {
		return fmt.Errorf("%s is both allowed and denied", p)
	}
	f.rules[p] = v
	if !slices.Contains(f.lens, p.Bits()) {
		f.lens = append(f.lens, p.Bits())
		slices.Sort(f.lens)
		slices.Reverse(f.lens)
	}
	if v == allow {
		t.hasAllow = true
	}
	return nil
}

// decide returns whether a may pass and, when it may not, a private reason
// naming the rule that refused it.
func (t *table) decide(a netip.Addr) (bool, string) {
	if !a.IsValid() {
		return false, "client address unknown"
	}
	a = a.Unmap().WithZone("")
	f := &t.v6
	if a.Is4() {
		f = &t.v4
	}
	v, p, ok := f.lookup(a)
	switch {
	case ok && v == deny:
		return false, "client " + a.String() + " matches deny rule " + p.String()
	case ok:
		return true, ""
	case t.hasAllow:
		return false, "client " + a.String() + " matches no allow rule"
	}
	return true, ""
}
