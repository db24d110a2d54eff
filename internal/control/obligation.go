package control

import (
	"slices"
	"time"

	"github.com/mamori-dev/mamori"
)

// Obligation is a recurring duty that an item's frequency creates: the
// yearly policy review, the yearly risk assessment, the twice-yearly
// KPI/KRI report to management …
type Obligation struct {
	CatalogID string `json:"catalog_id"`
	ItemID    string `json:"item_id"`
	Ref       string `json:"ref,omitempty"`
	Title     Text   `json:"title"`
	Tier      Tier   `json:"tier,omitempty"`
	// Every is the stated minimum interval; zero when the source only says
	// "periodically" and the institution chooses the interval.
	Every Interval `json:"every,omitzero"`
}

// Obligations lists the items whose frequency is periodic (a stated
// interval, or "periodically"), in document order.
func (c *Catalog) Obligations() []Obligation {
	var out []Obligation
	for _, n := range c.Items() {
		if n.Freq == nil || (n.Freq.Every.IsZero() && !n.Freq.Periodic) {
			continue
		}
		out = append(out, Obligation{CatalogID: c.Framework.ID, ItemID: n.ID, Ref: n.Ref, Title: n.Title, Tier: n.Tier, Every: n.Freq.Every})
	}
	return out
}

// Dates are calendar days: functions here take a time's year, month and
// day in its own location and return dates at UTC midnight.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// AddTo adds the interval to a date. Months and years that overshoot the
// end of the target month clamp to its last day (31 January + P1M is 28 or
// 29 February), which is how deadlines are read in practice, unlike
// time.AddDate's normalisation into March.
func (iv Interval) AddTo(t time.Time) time.Time {
	t = dateOf(t)
	switch iv.Unit {
	case Day:
		return t.AddDate(0, 0, iv.N)
	case Week:
		return t.AddDate(0, 0, 7*iv.N)
	case Month, Year:
		months := iv.N
		if iv.Unit == Year {
			months *= 12
		}
		y, m, d := t.Date()
		first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, time.UTC)
		last := first.AddDate(0, 1, -1).Day()
		return time.Date(first.Year(), first.Month(), min(d, last), 0, 0, 0, 0, time.UTC)
	}
	return t
}

// NextDue returns the deadline (inclusive) of the next performance of a
// duty that must happen at least once every interval.
//
// Without a completion the first window is the one that starts on
// periodStart, so the deadline is its last day: for a fiscal year starting
// 2025-04-01 a yearly duty is due 2026-03-31 and a twice-yearly one
// 2025-09-30. After a completion the next window starts the following day,
// so a yearly duty done on 2025-06-15 is due again by 2026-06-15.
// A completion before periodStart still counts: it starts the window.
func NextDue(every Interval, periodStart time.Time, lastDone *time.Time) time.Time {
	if lastDone != nil {
		return every.AddTo(dateOf(*lastDone))
	}
	return every.AddTo(dateOf(periodStart)).AddDate(0, 0, -1)
}

// DueDates returns every deadline of the duty that falls in the period
// [periodStart, periodEnd], assuming each deadline is met exactly on time:
// the plan for the period. Deadlines are counted from one anchor (the
// period start, or the last completion) so that month-end clamping does not
// drift (31 Jan → 28 Feb → 31 Mar, not 28 Mar). A zero interval yields
// nothing.
func DueDates(every Interval, periodStart, periodEnd time.Time, lastDone *time.Time) []time.Time {
	if every.IsZero() {
		return nil
	}
	start, end := dateOf(periodStart), dateOf(periodEnd)
	anchor, shift := start, -1
	if lastDone != nil {
		anchor, shift = dateOf(*lastDone), 0
	}
	var out []time.Time
	for k := 1; k <= 10000; k++ {
		due := Interval{N: every.N * k, Unit: every.Unit}.AddTo(anchor).AddDate(0, 0, shift)
		if due.After(end) {
			break
		}
		if !due.Before(start) {
			out = append(out, due)
		}
	}
	return out
}

// Status of a due date relative to today.
type Status string

const (
	StatusUpcoming Status = "upcoming" // due later than the reminder window
	StatusDueSoon  Status = "due-soon" // due within the reminder window
	StatusOverdue  Status = "overdue"  // the deadline has passed
)

// Due is one obligation's next deadline.
type Due struct {
	Obligation
	Interval Interval   `json:"interval"`
	LastDone *time.Time `json:"last_done,omitempty"`
	Due      time.Time  `json:"due"`
	DaysLeft int        `json:"days_left"`
	Status   Status     `json:"status"`
}

// ScheduleInput is what Schedule needs besides the obligations.
type ScheduleInput struct {
	PeriodStart time.Time
	// LastDone maps item IDs to the date the duty was last completed.
	LastDone map[string]time.Time
	// Intervals maps item IDs to the interval the institution chose: needed
	// for "periodically" items, allowed to tighten a stated interval,
	// refused if it loosens one ("at least once a year" cannot become P2Y).
	Intervals map[string]Interval
	// Today decides the status; SoonDays is the reminder window (default 30).
	Today    time.Time
	SoonDays int
}

// Schedule returns the next deadline of each obligation, soonest first
// (ties by item ID). Obligations with neither a stated nor a chosen
// interval are left out: the institution has not decided yet.
func Schedule(obs []Obligation, in ScheduleInput) ([]Due, error) {
	soon := in.SoonDays
	if soon <= 0 {
		soon = 30
	}
	fe := mamori.FieldErrors{}
	today := dateOf(in.Today)
	var out []Due
	for _, o := range obs {
		iv := o.Every
		if chosen, ok := in.Intervals[o.ItemID]; ok {
			if !o.Every.IsZero() && chosen.Longer(o.Every) {
				fe.Addf("intervals."+o.ItemID, "%s is longer than the stated minimum of %s", chosen, o.Every)
				continue
			}
			iv = chosen
		}
		if iv.IsZero() {
			continue
		}
		var last *time.Time
		if t, ok := in.LastDone[o.ItemID]; ok {
			d := dateOf(t)
			last = &d
		}
		due := NextDue(iv, in.PeriodStart, last)
		left := int(due.Sub(today).Hours() / 24)
		st := StatusUpcoming
		switch {
		case left < 0:
			st = StatusOverdue
		case left <= soon:
			st = StatusDueSoon
		}
		out = append(out, Due{Obligation: o, Interval: iv, LastDone: last, Due: due, DaysLeft: left, Status: st})
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b Due) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		if a.ItemID < b.ItemID {
			return -1
		}
		if a.ItemID > b.ItemID {
			return 1
		}
		return 0
	})
	return out, nil
}
