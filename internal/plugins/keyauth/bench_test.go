package keyauth_test

import (
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/sluicegw/sluice/internal/config"
	"github.com/sluicegw/sluice/internal/consumer"
	"github.com/sluicegw/sluice/internal/exchange"
	"github.com/sluicegw/sluice/internal/plugin"
)

// BenchmarkAuthenticate measures one key-auth decision on a request with
// the key in x-api-key, against an index of 1000 consumers. The header is
// put back each iteration because hide_credentials removes it.
func BenchmarkAuthenticate(b *testing.B) {
	var cs []config.Consumer
	for i := range 1000 {
		cs = append(cs, config.Consumer{Name: "c" + strconv.Itoa(i), Credentials: []config.Credential{{Type: "key-auth", Key: "key-" + strconv.Itoa(i) + "-0123456789abcdef"}}})
	}
	ix, err := consumer.Build(cs)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		header string
		value  string
	}{
		{"x-api-key", "X-Api-Key", "key-500-0123456789abcdef"},
		{"bearer", "Authorization", "Bearer key-500-0123456789abcdef"},
		{"unknown", "X-Api-Key", "key-none-0123456789abcdef"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			inst, _, err := plugin.Build("key-auth", nil, plugin.Env{Consumers: ix})
			if err != nil {
				b.Fatal(err)
			}
			a := inst.(plugin.Authenticator)
			r := httptest.NewRequest("GET", "/x?q=1", nil)
			x := &exchange.Exchange{}
			c := &plugin.Ctx{W: httptest.NewRecorder(), R: r, X: x}
			vals := []string{bc.value}
			b.ReportAllocs()
			for b.Loop() {
				r.Header[bc.header] = vals
				cons, _, err := a.Authenticate(c)
				if (err == nil) != (bc.name != "unknown") || (err == nil && cons == nil) {
					b.Fatalf("consumer %v err %v", cons, err)
				}
			}
		})
	}
}
