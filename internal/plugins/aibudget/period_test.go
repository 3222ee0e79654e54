package aibudget

import (
	"testing"
	"time"
)

func TestPeriods(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		p        period
		t        string
		id, ends string
	}{
		{day, "2026-11-25T23:59:59Z", "2026-11-25", "2026-11-26T00:00:00Z"},
		{day, "2026-11-26T00:00:00Z", "2026-11-26", "2026-11-27T00:00:00Z"},
		{day, "2026-11-25T23:30:00-05:00", "2026-11-26", "2026-11-27T00:00:00Z"}, // UTC, not local
		{day, "2028-02-28T12:00:00Z", "2028-02-28", "2028-02-29T00:00:00Z"},
		{month, "2026-12-31T23:00:00Z", "2026-12", "2027-01-01T00:00:00Z"},
		{month, "2026-01-31T10:00:00Z", "2026-01", "2026-02-01T00:00:00Z"},
	} {
		sp := tc.p.at(at(tc.t))
		if sp.id != tc.id || sp.end.Format(time.RFC3339) != tc.ends {
			t.Errorf("%s at %s: %s ending %s; want %s ending %s", tc.p, tc.t, sp.id, sp.end.Format(time.RFC3339), tc.id, tc.ends)
		}
	}
}

func TestFmtUSD(t *testing.T) {
	for in, want := range map[float64]string{10: "$10.00", 0.5: "$0.50", 0.01: "$0.01", 0.005: "$0.005", 12.345: "$12.345", 1e6: "$1000000.00", 10.1: "$10.10", 0.07: "$0.07"} {
		if got := fmtUSD(in); got != want {
			t.Errorf("fmtUSD(%v) = %q, want %q", in, got, want)
		}
	}
}
