package app

import (
	"io"
	"testing"

	"github.com/sluicegw/sluice/internal/testkit"
)

func benchGateway(b *testing.B, extra string) string {
	b.Helper()
	return startBenchGateway(b, oneTarget(extra, testkit.FastUpstream(b, 1024)))
}

// startBenchGateway starts a node for a benchmark and returns its address.
func startBenchGateway(b *testing.B, body string) string {
	b.Helper()
	dir := b.TempDir()
	path := dir + "/sluice.yaml"
	if err := writeFile(path, withServer("log: { access: \"off\", request_log: { enabled: false } }\n"+body)); err != nil {
		b.Fatal(err)
	}
	a, err := New(Options{ConfigPath: path, DataDir: dir + "/data", Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Shutdown(b.Context()) })
	return a.ProxyAddr()
}

// BenchmarkProxy1KiB measures one keep-alive request through the gateway
// to an upstream answering 1 KiB, sequentially (latency) and in parallel
// (throughput). allocs/op counts the whole process; the raw client and
// upstream allocate nothing per request, so it is the gateway's.
func BenchmarkProxy1KiB(b *testing.B) {
	addr := benchGateway(b, "")
	b.Run("serial", func(b *testing.B) {
		rc := testkit.NewFastClient(b, addr, "/bench/path?q=1", "")
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := rc.Do(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			rc := testkit.NewFastClient(b, addr, "/bench/path?q=1", "")
			for pb.Next() {
				if err := rc.Do(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
