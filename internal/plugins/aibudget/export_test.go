package aibudget

import (
	"testing"
	"time"
)

// AdvanceClock moves the plugin's clock d ahead until the test ends.
func AdvanceClock(t testing.TB, d time.Duration) {
	clockOffset.Add(int64(d))
	t.Cleanup(func() { clockOffset.Add(-int64(d)) })
}
