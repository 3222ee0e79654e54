package aibudget

import "time"

// period is a kind of budget period: a UTC calendar day or month.
type period uint8

const (
	day period = iota
	month
)

func (p period) String() string {
	if p == month {
		return "month"
	}
	return "day"
}

// span is one period: its id (2026-11-25 or 2026-11), which names its
// counters, and the instant it ends.
type span struct {
	id  string
	end time.Time
}

// at returns the period of kind p that holds t.
func (p period) at(t time.Time) span {
	t = t.UTC()
	y, m, d := t.Date()
	if p == month {
		start := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return span{id: start.Format("2006-01"), end: start.AddDate(0, 1, 0)}
	}
	start := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return span{id: start.Format("2006-01-02"), end: start.AddDate(0, 0, 1)}
}
