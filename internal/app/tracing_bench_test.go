package app

import (
	"testing"

	"github.com/sluicegw/sluice/internal/telemetry/otlptest"
	"github.com/sluicegw/sluice/internal/testkit"
)

// BenchmarkProxyTracing measures keep-alive requests through the gateway
// to a 1 KiB upstream with tracing off, on at 1% and on at 100%, exporting
// to an OTLP/HTTP receiver in the same process (which shares the CPU).
// With tracing off the request path must allocate exactly as without this
// feature; at 1% the unsampled requests allocate nothing more either, so
// allocs/op rises by about 1% of a sampled request's cost.
func BenchmarkProxyTracing(b *testing.B) {
	up := testkit.FastUpstream(b, 1024)
	recv := otlptest.Start(b)
	for _, tc := range []struct{ name, telemetry string }{
		{"off", ""},
		{"ratio-0.01", tracingBenchSection(recv.URL, "0.01")},
		{"ratio-1", tracingBenchSection(recv.URL, "1")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			addr := startBenchGateway(b, tc.telemetry+oneTarget("", up))
			rc := testkit.NewFastClient(b, addr, "/bench/path?q=1", "")
			b.ReportAllocs()
			for b.Loop() {
				if err := rc.Do(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func tracingBenchSection(endpoint, ratio string) string {
	return "telemetry: { tracing: { enabled: true, endpoint: \"" + endpoint + "\", sample_ratio: " + ratio + " } }\n"
}
