package app

import (
	"context"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/store"
	"github.com/sluicegw/sluice/internal/testkit"
)

// openedStore waits for the node's store to open.
func openedStore(t *testing.T, h *harness) store.Store {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.app.store.get() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the store did not open")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return h.app.store.get()
}

// TestStoreEntitiesServeWithinASecond: routes, upstreams, consumers and
// credentials written to the store (as the admin API does) join the file's
// config and serve within a second; file entities win on a name clash;
// deleting a consumer revokes its key.
func TestStoreEntitiesServeWithinASecond(t *testing.T) {
	fileUp := testkit.Start(t, testkit.Respond(200, nil, "file"))
	apiUp := testkit.Start(t, testkit.Echo)
	h := startGateway(t, `upstreams:
  - name: fileup
    targets: [{ url: "`+fileUp.URL+`" }]
routes:
  - name: fileroute
    match: { paths: ["/file"] }
    upstream: fileup
`)
	s := openedStore(t, h)
	ctx := context.Background()
	up, ps := config.DecodeEntity(config.KindUpstream, []byte(`{"name": "apiup", "targets": [{"url": "`+apiUp.URL+`"}]}`))
	if ps != nil {
		t.Fatal(ps)
	}
	rt, _ := config.DecodeEntity(config.KindRoute, []byte(`{"name": "apiroute", "match": {"paths": ["/api"]}, "upstream": "apiup", "plugins": {"key-auth": {}}}`))
	shadow, _ := config.DecodeEntity(config.KindRoute, []byte(`{"name": "fileroute", "match": {"paths": ["/shadow"]}, "upstream": "apiup"}`))
	cons, _ := config.DecodeEntity(config.KindConsumer, []byte(`{"name": "carol"}`))
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Upstreams().Create(ctx, up.(config.Upstream)))
	must(s.Routes().Create(ctx, rt.(config.Route)))
	must(s.Routes().Create(ctx, shadow.(config.Route)))
	must(s.Consumers().Create(ctx, cons.(config.Consumer)))
	must(s.Credentials().Create(ctx, store.Credential{Consumer: "carol", Type: "key-auth", Lookup: h.app.keys.Digest("sk_carol")}))

	start := time.Now()
	waitFor(t, 3*time.Second, func() bool {
		resp, _, err := h.do("GET", "/api/x", nil, map[string]string{"X-Api-Key": "sk_carol"})
		return err == nil && resp.StatusCode == 200
	})
	if d := time.Since(start); d > time.Second {
		t.Errorf("a store change took %v to serve; the contract is within a second", d)
	}
	if got := apiUp.LastRequest().Get("X-Consumer-Name"); got != "carol" {
		t.Errorf("X-Consumer-Name = %q", got)
	}
	if resp, body := h.get("/file"); resp.StatusCode != 200 || string(body) != "file" {
		t.Errorf("file route: %d %q", resp.StatusCode, body)
	}
	if resp, _ := h.get("/shadow"); resp.StatusCode != 404 {
		t.Errorf("a stored route named like a file route was served (%d); the file wins", resp.StatusCode)
	}
	if resp, _, _ := h.do("GET", "/api/x", nil, map[string]string{"X-Api-Key": "wrong"}); resp.StatusCode != 401 {
		t.Errorf("wrong key: %d", resp.StatusCode)
	}

	// Revocation: deleting the consumer (and with it, its credentials).
	if err := s.Consumers().Delete(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	waitFor(t, 3*time.Second, func() bool {
		resp, _, err := h.do("GET", "/api/x", nil, map[string]string{"X-Api-Key": "sk_carol"})
		return err == nil && resp.StatusCode == 401
	})
	if d := time.Since(start); d > time.Second {
		t.Errorf("revocation took %v", d)
	}
}
