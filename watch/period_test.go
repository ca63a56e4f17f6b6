package watch

import (
	"testing"
	"time"
)

func TestPeriods(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	at := func(s string) int64 {
		tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, cet)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixNano()
	}
	for _, c := range []struct {
		every      time.Duration
		ts         string
		start, end string
		partition  string
	}{
		{day, "2026-11-21 13:14:15", "2026-11-21 00:00:00", "2026-11-22 00:00:00", "date=2026-11-21"},
		{day, "2026-11-21 00:00:00", "2026-11-21 00:00:00", "2026-11-22 00:00:00", "date=2026-11-21"},
		{day, "2026-11-20 23:59:59", "2026-11-20 00:00:00", "2026-11-21 00:00:00", "date=2026-11-20"},
		{time.Hour, "2026-11-21 13:14:15", "2026-11-21 13:00:00", "2026-11-21 14:00:00", "date=2026-11-21/hour=13"},
		{6 * time.Hour, "2026-11-21 23:59:59", "2026-11-21 18:00:00", "2026-11-22 00:00:00", "date=2026-11-21/hour=18"},
		{10 * time.Second, "2026-11-21 13:14:15", "2026-11-21 13:14:10", "2026-11-21 13:14:20", "date=2026-11-21/time=131410"},
		// 7 s does not divide a day: the day's last period is cut at midnight.
		{7 * time.Second, "2026-11-21 23:59:58", "2026-11-21 23:59:54", "2026-11-22 00:00:00", "date=2026-11-21/time=235954"},
		{7 * time.Second, "2026-11-22 00:00:01", "2026-11-22 00:00:00", "2026-11-22 00:00:07", "date=2026-11-22/time=000000"},
		{2 * day, "2026-11-21 13:14:15", "2026-11-21 00:00:00", "2026-11-23 00:00:00", "date=2026-11-21"},
		{2 * day, "2026-11-22 13:14:15", "2026-11-21 00:00:00", "2026-11-23 00:00:00", "date=2026-11-21"},
	} {
		p := Periods{Every: c.every, Loc: cet}
		s, e := p.Of(at(c.ts))
		if s != at(c.start) || e != at(c.end) {
			t.Errorf("every %s, %s: period %s .. %s, want %s .. %s", c.every, c.ts,
				time.Unix(0, s).In(cet), time.Unix(0, e).In(cet), c.start, c.end)
		}
		if got := p.Partition(s); got != c.partition {
			t.Errorf("every %s, %s: partition %s, want %s", c.every, c.ts, got, c.partition)
		}
	}
}

func TestParseEvery(t *testing.T) {
	for s, ok := range map[string]bool{"24h": true, "1h": true, "7s": true, "48h": true, "500ms": false, "1.5s": false, "36h": false, "x": false, "0s": false} {
		if _, err := ParseEvery(s); (err == nil) != ok {
			t.Errorf("ParseEvery(%q): error %v, want ok=%v", s, err, ok)
		}
	}
}
