package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluicegw/sluice/internal/store"
)

// BenchInsertRequestLogs measures request log batch inserts of the given
// sizes into stores made by open, reporting rows/s.
func BenchInsertRequestLogs(b *testing.B, open func(b *testing.B) store.Store, sizes ...int) {
	for _, size := range sizes {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := open(b)
			batch := sampleLogs(size)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := s.InsertRequestLogs(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
