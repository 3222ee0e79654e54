package ratelimit_test

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/gatewaytest"
	"github.com/sluicegw/sluice/internal/ratelimit/redistest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// BenchmarkProxyRateLimit measures keep-alive requests through a gateway to
// a 1 KiB upstream with no plugin, with rate-limit on the memory backend
// (one hot key: every request from one IP), with key-auth in front of it,
// and with the Redis backend. Compare the rows' ns/op to plain proxying.
// The limit is never reached, so every request is proxied.
func BenchmarkProxyRateLimit(b *testing.B) {
	up := testkit.FastUpstream(b, 1024)
	const route = `log: { access: "off", request_log: { enabled: false } }
upstreams:
  - name: u
    targets: [{ url: "UPSTREAM" }]
routes:
  - name: r
    match: { paths: ["/r"] }
    upstream: u
    plugins: PLUGINS
consumers:
  - name: alice
    credentials: [{ type: key-auth, key: bench-key }]
`
	const limit = `rate-limit: { limit: 1000, window: 1ms, by: consumer`
	redisURL := "redis://" + redistest.Addr() + "/0"
	cases := []struct {
		name, plugins, header string
		redis                 bool
	}{
		{"off", "{}", "", false},
		{"memory", "{ " + limit + " } }", "", false},
		{"key-auth+memory", "{ key-auth: {}, " + limit + " } }", "X-Api-Key: bench-key\r\n", false},
		{"redis", "{ " + limit + `, redis_url: "` + redisURL + `", redis_prefix: "PREFIX" } }`, "", true},
		{"key-auth+redis", "{ key-auth: {}, " + limit + `, redis_url: "` + redisURL + `", redis_prefix: "PREFIX" } }`, "X-Api-Key: bench-key\r\n", true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			yaml := strings.NewReplacer("UPSTREAM", up, "PLUGINS", tc.plugins).Replace(route)
			if tc.redis {
				yaml = strings.ReplaceAll(yaml, "PREFIX", redistest.Prefix(b, redistest.Client(b)))
			}
			g := gatewaytest.Start(b, yaml)
			b.Run("serial", func(b *testing.B) {
				rc := testkit.NewFastClient(b, g.Addr, "/r/bench?q=1", tc.header)
				b.ReportAllocs()
				for b.Loop() {
					if err := rc.Do(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(16)
				b.RunParallel(func(pb *testing.PB) {
					rc := testkit.NewFastClient(b, g.Addr, "/r/bench?q=1", tc.header)
					for pb.Next() {
						if err := rc.Do(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}
