package control_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func dayp(s string) *time.Time { t := day(s); return &t }

func TestIntervalAddTo(t *testing.T) {
	for _, tc := range []struct{ iv, from, want string }{
		{"P1Y", "2025-04-01", "2026-04-01"},
		{"P6M", "2025-04-01", "2025-10-01"},
		{"P1M", "2025-01-31", "2025-02-28"},
		{"P1M", "2024-01-31", "2024-02-29"},
		{"P1Y", "2024-02-29", "2025-02-28"},
		{"P3M", "2025-11-30", "2026-02-28"},
		{"P2W", "2025-12-25", "2026-01-08"},
		{"P30D", "2025-02-01", "2025-03-03"},
	} {
		iv, err := control.ParseInterval(tc.iv)
		if err != nil {
			t.Fatal(err)
		}
		if got := iv.AddTo(day(tc.from)).Format(time.DateOnly); got != tc.want {
			t.Errorf("%s + %s = %s, want %s", tc.from, tc.iv, got, tc.want)
		}
	}
	// The location of the input does not shift the day.
	jst := time.FixedZone("JST", 9*3600)
	if got := control.Yearly.AddTo(time.Date(2025, 4, 1, 0, 30, 0, 0, jst)); got != day("2026-04-01") {
		t.Errorf("JST date moved: %v", got)
	}
}

func TestParseInterval(t *testing.T) {
	for _, s := range []string{"", "P", "1Y", "P0Y", "P-1M", "P1H", "PY", "P01Y", "P1Y2M", "P+1Y", "P99999Y"} {
		if _, err := control.ParseInterval(s); err == nil {
			t.Errorf("ParseInterval(%q) accepted", s)
		}
	}
	for _, s := range []string{"P1Y", "P6M", "P2W", "P30D", "P12M"} {
		iv, err := control.ParseInterval(s)
		if err != nil || iv.String() != s {
			t.Errorf("ParseInterval(%q) = %v, %v", s, iv, err)
		}
	}
}

func TestNextDueAndDueDates(t *testing.T) {
	for _, tc := range []struct {
		name       string
		every      control.Interval
		start, end string
		last       *time.Time
		next       string
		dates      string
	}{
		{"yearly, fiscal year, no history", control.Yearly, "2025-04-01", "2026-03-31", nil, "2026-03-31", "2026-03-31"},
		{"twice a year, no history", control.HalfYearly, "2025-04-01", "2026-03-31", nil, "2025-09-30", "2025-09-30 2026-03-31"},
		{"yearly after a completion", control.Yearly, "2025-04-01", "2027-03-31", dayp("2025-06-15"), "2026-06-15", "2026-06-15"},
		{"twice a year after a completion before the period", control.HalfYearly, "2025-04-01", "2026-03-31", dayp("2025-02-10"), "2025-08-10", "2025-08-10 2026-02-10"},
		{"completion long ago: the next deadline lies before the period", control.Yearly, "2025-04-01", "2026-03-31", dayp("2023-05-01"), "2024-05-01", "2025-05-01"},
		{"calendar year, month-end anchor", control.Interval{N: 1, Unit: control.Month}, "2025-01-01", "2025-04-30", dayp("2025-01-31"), "2025-02-28", "2025-02-28 2025-03-31 2025-04-30"},
		{"quarterly, no history", control.Interval{N: 3, Unit: control.Month}, "2025-04-01", "2026-03-31", nil, "2025-06-30", "2025-06-30 2025-09-30 2025-12-31 2026-03-31"},
		{"zero interval", control.Interval{}, "2025-04-01", "2026-03-31", nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.every.IsZero() {
				if got := control.NextDue(tc.every, day(tc.start), tc.last).Format(time.DateOnly); got != tc.next {
					t.Errorf("NextDue = %s, want %s", got, tc.next)
				}
			}
			var got []string
			for _, d := range control.DueDates(tc.every, day(tc.start), day(tc.end), tc.last) {
				got = append(got, d.Format(time.DateOnly))
			}
			if strings.Join(got, " ") != tc.dates {
				t.Errorf("DueDates = %v, want %s", got, tc.dates)
			}
		})
	}
}

func TestFSAObligations(t *testing.T) {
	c := mustCatalog(t, "fsa-csgl")
	obs := c.Obligations()
	byID := map[string]control.Obligation{}
	for _, o := range obs {
		byID[o.ItemID] = o
	}
	for id, want := range map[string]string{
		"FSA-CSGL-2.1.1-B02":   "P1Y", // posture review by the board
		"FSA-CSGL-2.1.1-B08":   "P1Y", // report to management
		"FSA-CSGL-2.1.2-B01":   "P1Y", // rules review
		"FSA-CSGL-2.2.2.2-B02": "P1Y", // risk assessment
		"FSA-CSGL-2.1.1-Dd":    "P6M", // KPI/KRI to management
		"FSA-CSGL-2.3.2-B01":   "",    // training: periodically, interval chosen by the institution
	} {
		o, ok := byID[id]
		if !ok {
			t.Errorf("%s is not an obligation", id)
			continue
		}
		if o.Every.String() != want {
			t.Errorf("%s every = %q, want %q", id, o.Every, want)
		}
	}
	if _, ok := byID["FSA-CSGL-2.4.1-B01"]; ok {
		t.Error("continuous monitoring should not be a dated obligation")
	}
	stated := 0
	for _, o := range obs {
		if !o.Every.IsZero() {
			stated++
		}
	}
	if stated != 10 {
		t.Errorf("%d obligations with a stated interval, want 10", stated)
	}

	sched, err := control.Schedule(obs, control.ScheduleInput{
		PeriodStart: day("2025-04-01"),
		Today:       day("2025-09-15"),
		LastDone:    map[string]time.Time{"FSA-CSGL-2.1.2-B01": day("2024-06-30")},
		Intervals:   map[string]control.Interval{"FSA-CSGL-2.3.2-B01": control.Yearly},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]control.Due{}
	for _, d := range sched {
		got[d.ItemID] = d
	}
	for _, tc := range []struct {
		id, due string
		status  control.Status
	}{
		{"FSA-CSGL-2.1.2-B01", "2025-06-30", control.StatusOverdue},
		{"FSA-CSGL-2.1.1-Dd", "2025-09-30", control.StatusDueSoon},
		{"FSA-CSGL-2.2.2.2-B02", "2026-03-31", control.StatusUpcoming},
		{"FSA-CSGL-2.3.2-B01", "2026-03-31", control.StatusUpcoming},
	} {
		d, ok := got[tc.id]
		if !ok {
			t.Errorf("%s not scheduled", tc.id)
			continue
		}
		if d.Due.Format(time.DateOnly) != tc.due || d.Status != tc.status {
			t.Errorf("%s: due %s %s, want %s %s", tc.id, d.Due.Format(time.DateOnly), d.Status, tc.due, tc.status)
		}
	}
	if _, ok := got["FSA-CSGL-2.3.2-B04"]; ok {
		t.Error("a periodic item without a chosen interval should not be scheduled")
	}
	if sched[0].ItemID != "FSA-CSGL-2.1.2-B01" {
		t.Errorf("the overdue item should come first, got %s", sched[0].ItemID)
	}

	_, err = control.Schedule(obs, control.ScheduleInput{
		PeriodStart: day("2025-04-01"),
		Intervals:   map[string]control.Interval{"FSA-CSGL-2.1.1-Dd": control.Yearly},
	})
	if mamori.ErrorCode(err) != mamori.EINVALID || !strings.Contains(err.Error(), "FSA-CSGL-2.1.1-Dd") {
		t.Errorf("loosening the twice-yearly KPI report should be refused, got %v", err)
	}
}
