package ai

import (
	"testing"
	"time"
)

// TestKeyPoolCooldownAndRecovery: a key that got a 429 or a 401 leaves the
// rotation for its cooldown and comes back by itself; repeated rejections
// grow the cooldown; a success resets the streak; state survives a
// rebuilt pool (a reload) through the registry.
func TestKeyPoolCooldownAndRecovery(t *testing.T) {
	reg := NewRegistry()
	p := newPool(reg, "prov", []string{"k1", "k2"})
	now := time.Unix(1_000_000, 0)

	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		k, _, _, ok := p.pick(now, 0)
		if !ok {
			t.Fatal("no key")
		}
		seen[k]++
	}
	if seen["k1"] != 2 || seen["k2"] != 2 {
		t.Fatalf("rotation = %v, want both keys in turn", seen)
	}

	// k1 is rate limited for 30 s: only k2 is used meanwhile.
	p.cool(0, now, 30*time.Second)
	for i := 0; i < 3; i++ {
		if k, _, _, _ := p.pick(now.Add(10*time.Second), 0); k != "k2" {
			t.Fatalf("a cooling key was picked: %s", k)
		}
	}
	// Both cooling: no key, and the wait until the first recovers.
	p.cool(1, now, 50*time.Second)
	if _, _, wait, ok := p.pick(now.Add(10*time.Second), 0); ok || wait != 20*time.Second {
		t.Fatalf("all cooling: ok=%v wait=%v, want false and 20s", ok, wait)
	}
	// k1 recovers by itself.
	if k, _, _, ok := p.pick(now.Add(31*time.Second), 0); !ok || k != "k1" {
		t.Fatalf("after the cooldown: %q %v", k, ok)
	}

	// Rejected credentials: 1 min, then 2 min on the next rejection.
	later := now.Add(time.Hour)
	p.authFailed(0, later, time.Minute)
	if _, _, wait, ok := p.pick(later, keySet(1<<1)); ok || wait != time.Minute {
		t.Fatalf("first rejection: ok=%v wait=%v", ok, wait)
	}
	later = later.Add(2 * time.Minute)
	p.authFailed(0, later, time.Minute)
	if _, _, wait, _ := p.pick(later, keySet(1<<1)); wait != 2*time.Minute {
		t.Fatalf("second rejection cools for %v, want 2m", wait)
	}
	p.succeeded(0)
	later = later.Add(3 * time.Minute)
	p.authFailed(0, later, time.Minute)
	if _, _, wait, _ := p.pick(later, keySet(1<<1)); wait != time.Minute {
		t.Fatalf("after a success the streak restarts: %v", wait)
	}

	// A reload builds a new pool: the cooldown is kept for the same key.
	p2 := newPool(reg, "prov", []string{"k2", "k1"})
	if k, _, _, _ := p2.pick(later, 0); k != "k2" {
		t.Fatalf("the rebuilt pool picked the cooling key %s", k)
	}
	if k, _, _, _ := p2.pick(later, 0); k != "k2" {
		t.Fatalf("the rebuilt pool picked the cooling key %s", k)
	}
}

// TestWeightedOrder: targets come first in proportion to their weights,
// and every target appears once.
func TestWeightedOrder(t *testing.T) {
	m := &model{targets: []target{{model: "a", weight: 3}, {model: "b", weight: 1}}}
	first := map[string]int{}
	for i := 0; i < 4000; i++ {
		o := m.order()
		if len(o) != 2 || o[0].model == o[1].model {
			t.Fatalf("order = %v", o)
		}
		first[o[0].model]++
	}
	if first["a"] < 2700 || first["a"] > 3300 {
		t.Fatalf("a first %d of 4000 times, want about 3000", first["a"])
	}
}
