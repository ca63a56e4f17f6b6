package watch

import (
	"fmt"
	"time"
)

// Periods cut capture time into the periods pcapx watch writes a
// partition for: Every long, aligned to local midnight (the last period
// of a day ends at midnight when Every does not divide the day), or whole
// days counted from 1970-01-01 when Every is longer than a day.
type Periods struct {
	Every time.Duration
	Loc   *time.Location
}

// ParseEvery checks a --every duration: at least a second, whole seconds,
// and whole days when longer than a day.
func ParseEvery(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("--every %q: %w", s, err)
	}
	switch {
	case d < time.Second || d%time.Second != 0:
		return 0, fmt.Errorf("--every %s: want whole seconds, at least 1s", d)
	case d > 24*time.Hour && d%(24*time.Hour) != 0:
		return 0, fmt.Errorf("--every %s: longer than a day, it must be whole days (48h, 168h)", d)
	}
	return d, nil
}

const day = 24 * time.Hour

// Of returns the period [start, end) (ns) that holds capture time ts.
func (p Periods) Of(ts int64) (start, end int64) {
	t := time.Unix(0, ts).In(p.Loc)
	y, m, d := t.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, p.Loc)
	if p.Every > day {
		days := int64(p.Every / day)
		n := dayNumber(y, m, d)
		first := n - floorMod(n, days)
		s := midnight.AddDate(0, 0, int(first-n))
		return s.UnixNano(), s.AddDate(0, 0, int(days)).UnixNano()
	}
	next := time.Date(y, m, d+1, 0, 0, 0, 0, p.Loc)
	k := t.Sub(midnight) / p.Every
	s := midnight.Add(k * p.Every)
	e := s.Add(p.Every)
	if e.After(next) {
		e = next
	}
	return s.UnixNano(), e.UnixNano()
}

// dayNumber is the days from 1970-01-01 to the date.
func dayNumber(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func floorMod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

// Partition is the Hive partition of the period starting at start:
// date=YYYY-MM-DD (local date), then hour=HH for periods of whole hours
// or time=HHMMSS for shorter ones.
func (p Periods) Partition(start int64) string {
	t := time.Unix(0, start).In(p.Loc)
	s := "date=" + t.Format("2006-01-02")
	switch {
	case p.Every >= day:
	case p.Every%time.Hour == 0:
		s += "/hour=" + t.Format("15")
	default:
		s += "/time=" + t.Format("150405")
	}
	return s
}
