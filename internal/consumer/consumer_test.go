package consumer

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/secret"
)

func testIndex(t testing.TB) *Index {
	t.Helper()
	ix, err := Build([]config.Consumer{
		{Name: "alice", Groups: []string{"gold", "beta"}, Credentials: []config.Credential{
			{Type: "key-auth", Key: "alice-1"},
			{Type: "basic-auth", Username: "alice", Password: "pw-a"},
			{Type: "key-auth", Key: "alice-2"},
			{Type: "jwt", Issuer: "alice-app", Algorithm: "HS256", Secret: "s"},
		}},
		{Name: "bob", Credentials: []config.Credential{{Type: "key-auth", Key: "bob-1"}, {Type: "basic-auth", Username: "bob", Password: "pw-b"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestIndex(t *testing.T) {
	ix := testIndex(t)
	keys := []struct{ key, consumer, id string }{
		{"alice-1", "alice", "key-auth:alice#0"},
		{"alice-2", "alice", "key-auth:alice#2"},
		{"bob-1", "bob", "key-auth:bob#0"},
		{"bob-2", "", ""},
		{"", "", ""},
		{"ALICE-1", "", ""},
	}
	for _, k := range keys {
		c, id, ok := ix.Key(k.key)
		if ok != (k.consumer != "") || (ok && (c.Name != k.consumer || id != k.id)) {
			t.Errorf("Key(%q) = %v %q %v, want %s %s", k.key, c, id, ok, k.consumer, k.id)
		}
	}
	basics := []struct{ user, pass, consumer string }{
		{"alice", "pw-a", "alice"},
		{"bob", "pw-b", "bob"},
		{"alice", "pw-b", ""},
		{"carol", "pw-a", ""},
		{"carol", "", ""},
		{"", "", ""},
	}
	for _, b := range basics {
		c, id, ok := ix.Basic(b.user, b.pass)
		if ok != (b.consumer != "") || (ok && (c.Name != b.consumer || id != "basic-auth:"+b.user)) {
			t.Errorf("Basic(%q, %q) = %v %q %v", b.user, b.pass, c, id, ok)
		}
	}
	if j, ok := ix.JWTByIssuer("alice-app"); !ok || j.Consumer.Name != "alice" || j.ID != "jwt:alice-app" {
		t.Errorf("JWTByIssuer = %+v %v", j, ok)
	}
	a, _ := ix.ByName("alice")
	b, _ := ix.ByName("bob")
	if a.GroupsHeader() != "gold, beta" || b.GroupsHeader() != "" {
		t.Errorf("GroupsHeader = %q, %q", a.GroupsHeader(), b.GroupsHeader())
	}
}

// TestDigestConcurrent checks the pooled hashers under concurrent use:
// every lookup must still find exactly its own key.
func TestDigestConcurrent(t *testing.T) {
	var cs []config.Consumer
	for i := range 50 {
		cs = append(cs, config.Consumer{Name: "c" + strconv.Itoa(i), Credentials: []config.Credential{{Type: "key-auth", Key: strings.Repeat("k", i+1)}}})
	}
	ix, err := Build(cs)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				i := (n*7 + g) % 50
				c, ok := ix.ByKey(strings.Repeat("k", i+1))
				if !ok || c.Name != "c"+strconv.Itoa(i) {
					t.Errorf("key %d found %v %v", i, c, ok)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkKey(b *testing.B) {
	ix := testIndex(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := ix.Key("alice-2"); !ok {
			b.Fatal("not found")
		}
	}
}

// TestStoredCredentials: credentials the admin API stored as keyed digests
// authenticate through the same index as file-declared ones.
func TestStoredCredentials(t *testing.T) {
	keys, err := secret.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	stored := []Stored{
		{ID: "c1", Consumer: "bob", Type: "key-auth", Lookup: keys.Digest("sk_bob")},
		{ID: "c2", Consumer: "bob", Type: "basic-auth", Lookup: keys.Digest("bob"), Secret: keys.Digest("pw"), Attrs: map[string]string{"username": "bob"}},
		{ID: "c3", Consumer: "bob", Type: "jwt", Lookup: keys.Digest("bob-app"), Secret: []byte("hs-secret"), Attrs: map[string]string{"issuer": "bob-app", "algorithm": "HS256"}},
	}
	ix, err := Build([]config.Consumer{{Name: "alice", Credentials: []config.Credential{{Type: "key-auth", Key: "sk_alice"}}}, {Name: "bob"}},
		Options{NewMAC: keys.NewDigestMAC, Stored: stored})
	if err != nil {
		t.Fatal(err)
	}
	if c, id, ok := ix.Key("sk_bob"); !ok || c.Name != "bob" || id != "key-auth:c1" {
		t.Errorf("stored key: %v %q %v", c, id, ok)
	}
	if c, _, ok := ix.Key("sk_alice"); !ok || c.Name != "alice" {
		t.Error("file key lost")
	}
	if _, _, ok := ix.Basic("bob", "pw"); !ok {
		t.Error("stored basic-auth password refused")
	}
	if _, _, ok := ix.Basic("bob", "wrong"); ok {
		t.Error("wrong password accepted")
	}
	if j, ok := ix.JWTByIssuer("bob-app"); !ok || string(j.Key.([]byte)) != "hs-secret" {
		t.Error("stored jwt credential")
	}
	_, err = Build(nil, Options{NewMAC: keys.NewDigestMAC, Stored: []Stored{{ID: "x", Consumer: "ghost", Type: "key-auth", Lookup: keys.Digest("k")}}})
	if err == nil {
		t.Error("a credential of an unknown consumer was accepted")
	}
}
