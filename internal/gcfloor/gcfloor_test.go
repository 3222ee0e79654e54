package gcfloor

import (
	"os"
	"runtime"
	"runtime/metrics"
	"testing"
)

// heapGoal is the heap size at which the next cycle starts, right after
// a collection.
func heapGoal() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestFloorRaisesTheGoal(t *testing.T) {
	t.Setenv("GOGC", "") // set and emptied: the variable exists
	if Set(DefaultFloor) {
		t.Fatal("kept a ballast though GOGC is set")
	}
	before := heapGoal()
	if before >= DefaultFloor {
		t.Skipf("the test binary's heap goal is already %d bytes", before)
	}
	t.Cleanup(func() { Set(0) })
	unsetenv(t, "GOGC")
	if !Set(DefaultFloor) {
		t.Fatal("no ballast without GOGC")
	}
	if after := heapGoal(); after < DefaultFloor {
		t.Fatalf("heap goal %d after the floor, want at least %d (was %d)", after, DefaultFloor, before)
	}
	Set(0)
	if after := heapGoal(); after >= DefaultFloor {
		t.Fatalf("heap goal %d after dropping the floor", after)
	}
}

// unsetenv removes key for the test, restoring it after.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	old, had := os.LookupEnv(key)
	os.Unsetenv(key)
	t.Cleanup(func() {
		if had {
			os.Setenv(key, old)
		}
	})
}
