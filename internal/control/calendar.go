package control

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
)

// ObligationRecord is what the institution records about one recurring
// obligation: who owns it, the interval it chose (for "periodically" items,
// or a tighter one), and when it was last performed. Records are keyed by
// framework and item ID, which stay stable across editions.
type ObligationRecord struct {
	CatalogID   string    `json:"catalog_id"`
	ItemID      string    `json:"item_id"`
	Every       Interval  `json:"every,omitzero"`
	OwnerID     string    `json:"owner_id,omitempty"`
	LastDone    time.Time `json:"last_done,omitzero"`
	LastDoneBy  string    `json:"last_done_by,omitempty"`
	Note        string    `json:"note,omitempty"`
	RemindedDue time.Time `json:"-"` // the deadline a reminder was last sent for
	UpdatedAt   time.Time `json:"updated_at"`
}

// SettingFiscalYearStart is the settings key of the first day of the
// institution's fiscal year, "MM-DD" (default 04-01, the Japanese fiscal
// year). Recurring obligations are scheduled from it.
const SettingFiscalYearStart = "control.fiscal_year_start"

// DefaultFiscalYearStart is April 1.
const DefaultFiscalYearStart = "04-01"

// TrackedCatalog is the catalog whose obligations every institution tracks.
const TrackedCatalog = "fsa-csgl"

// parseMonthDay reads "MM-DD".
func parseMonthDay(s string) (time.Month, int, error) {
	m, d, ok := strings.Cut(strings.TrimSpace(s), "-")
	mi, err1 := strconv.Atoi(m)
	di, err2 := strconv.Atoi(d)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || len(d) != 2 || mi < 1 || mi > 12 || di < 1 || di > 28 {
		return 0, 0, fmt.Errorf("%q is not a month and day like 04-01 (days 29–31 are not allowed)", s)
	}
	return time.Month(mi), di, nil
}

// FiscalYearStart returns the setting ("MM-DD").
func (s *Service) FiscalYearStart(ctx context.Context) string {
	v, err := s.store.Setting(ctx, SettingFiscalYearStart)
	if err != nil {
		return DefaultFiscalYearStart
	}
	if _, _, err := parseMonthDay(v); err != nil {
		return DefaultFiscalYearStart
	}
	return v
}

// SetFiscalYearStart changes the first day of the fiscal year.
func (s *Service) SetFiscalYearStart(ctx context.Context, mmdd string) error {
	actor, err := mamori.Require(ctx, mamori.PermCatalogManage)
	if err != nil {
		return err
	}
	if _, _, err := parseMonthDay(mmdd); err != nil {
		return mamori.Invalid("fiscal_year_start", "Give a month and day like 04-01.")
	}
	mmdd = strings.TrimSpace(mmdd)
	if mmdd == s.FiscalYearStart(ctx) {
		return nil
	}
	return s.store.SetSetting(ctx, SettingFiscalYearStart, mmdd, actor.ID(),
		audit.New(ctx, audit.SettingChanged, "setting", SettingFiscalYearStart).With("value", mmdd))
}

// FiscalYearOf returns the first day of the fiscal year holding today.
func FiscalYearOf(today time.Time, mmdd string) time.Time {
	m, d, err := parseMonthDay(mmdd)
	if err != nil {
		m, d, _ = parseMonthDay(DefaultFiscalYearStart)
	}
	start := time.Date(today.Year(), m, d, 0, 0, 0, 0, time.UTC)
	if today.Before(start) {
		start = start.AddDate(-1, 0, 0)
	}
	return start
}

// CalendarEntry is one obligation with its next deadline.
type CalendarEntry struct {
	Due
	CatalogKey string
	Record     *ObligationRecord
	Owner      Person
	Stated     Interval // the interval the catalog states (zero for "periodically")
}

// Calendar is the compliance calendar of one catalog.
type Calendar struct {
	Catalog         *Catalog
	FiscalYearStart string
	PeriodStart     time.Time
	Today           time.Time
	Entries         []CalendarEntry // soonest first
	// Undecided are "periodically" items for which the institution has not
	// chosen an interval yet.
	Undecided []CalendarEntry
}

// Calendar returns the recurring obligations of a catalog with their next
// deadlines, counted from the current fiscal year.
func (s *Service) Calendar(ctx context.Context, catalogID string) (*Calendar, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentRead); err != nil {
		return nil, err
	}
	lib, _, err := s.library(ctx)
	if err != nil {
		return nil, err
	}
	c, err := lib.Catalog(catalogID)
	if err != nil {
		return nil, err
	}
	people, err := s.peopleMap(ctx)
	if err != nil {
		return nil, err
	}
	return s.calendar(ctx, c, people)
}

func (s *Service) calendar(ctx context.Context, c *Catalog, people map[string]Person) (*Calendar, error) {
	recs, err := s.store.ObligationRecords(ctx, c.Framework.ID)
	if err != nil {
		return nil, err
	}
	byItem := map[string]*ObligationRecord{}
	for _, r := range recs {
		byItem[r.ItemID] = r
	}
	today := Today(s.Now())
	cal := &Calendar{Catalog: c, FiscalYearStart: s.FiscalYearStart(ctx), Today: today}
	cal.PeriodStart = FiscalYearOf(today, cal.FiscalYearStart)
	in := ScheduleInput{PeriodStart: cal.PeriodStart, LastDone: map[string]time.Time{}, Intervals: map[string]Interval{}, Today: today}
	obs := c.Obligations()
	for _, o := range obs {
		r := byItem[o.ItemID]
		if r == nil {
			continue
		}
		if !r.LastDone.IsZero() {
			in.LastDone[o.ItemID] = r.LastDone
		}
		// An interval that loosens the stated one (possible only if a
		// later edition tightened it) is ignored rather than failing the
		// whole calendar.
		if !r.Every.IsZero() && (o.Every.IsZero() || !r.Every.Longer(o.Every)) {
			in.Intervals[o.ItemID] = r.Every
		}
	}
	dues, err := Schedule(obs, in)
	if err != nil {
		return nil, err
	}
	scheduled := map[string]bool{}
	stated := map[string]Interval{}
	for _, o := range obs {
		stated[o.ItemID] = o.Every
	}
	for _, d := range dues {
		scheduled[d.ItemID] = true
		e := CalendarEntry{Due: d, CatalogKey: c.Key(), Record: byItem[d.ItemID], Stated: stated[d.ItemID]}
		if e.Record != nil {
			e.Owner = people[e.Record.OwnerID]
		}
		cal.Entries = append(cal.Entries, e)
	}
	for _, o := range obs {
		if scheduled[o.ItemID] {
			continue
		}
		e := CalendarEntry{Due: Due{Obligation: o}, CatalogKey: c.Key(), Record: byItem[o.ItemID]}
		if e.Record != nil {
			e.Owner = people[e.Record.OwnerID]
		}
		cal.Undecided = append(cal.Undecided, e)
	}
	return cal, nil
}

// SetObligation records the owner of an obligation and, for "periodically"
// items or to tighten a stated interval, the interval ("" keeps the stated
// one).
func (s *Service) SetObligation(ctx context.Context, catalogID, itemID, every, ownerID string) error {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentWrite); err != nil {
		return err
	}
	c, o, rec, err := s.obligation(ctx, catalogID, itemID)
	if err != nil {
		return err
	}
	f := mamori.FieldErrors{}
	var iv Interval
	if every = strings.TrimSpace(every); every != "" {
		if iv, err = ParseInterval(every); err != nil {
			f.Add("every", "Give an interval like P1Y (yearly), P6M (every six months) or P3M.")
		} else if !o.Every.IsZero() && iv.Longer(o.Every) {
			f.Add("every", "The interval cannot be longer than the catalog states.")
		}
	}
	ownerID = strings.TrimSpace(ownerID)
	if ownerID != rec.OwnerID {
		people, err := s.peopleMap(ctx)
		if err != nil {
			return err
		}
		checkOwner(people, ownerID, "owner", f)
	}
	if err := f.Err(); err != nil {
		return err
	}
	var changed []string
	if iv != rec.Every {
		changed = append(changed, "every")
	}
	if ownerID != rec.OwnerID {
		changed = append(changed, "owner")
	}
	if len(changed) == 0 {
		return nil
	}
	rec.Every, rec.OwnerID, rec.UpdatedAt, rec.RemindedDue = iv, ownerID, s.Now(), time.Time{}
	return s.store.SaveObligation(ctx, rec, audit.New(ctx, audit.ObligationUpdated, TargetObligation, c.Framework.ID+"/"+itemID).
		Fields(changed...).With("every", iv.String()))
}

// RecordObligationDone records that an obligation was performed on a day.
func (s *Service) RecordObligationDone(ctx context.Context, catalogID, itemID string, on time.Time, note string) error {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentWrite)
	if err != nil {
		return err
	}
	c, _, rec, err := s.obligation(ctx, catalogID, itemID)
	if err != nil {
		return err
	}
	note = strings.TrimSpace(note)
	f := mamori.FieldErrors{}
	switch {
	case on.IsZero():
		f.Add("done_on", "Give the day it was done.")
	case on.After(Today(s.Now())):
		f.Add("done_on", "The day cannot be in the future.")
	}
	checkText(f, "note", note, maxText, false)
	if err := f.Err(); err != nil {
		return err
	}
	rec.LastDone, rec.LastDoneBy, rec.Note, rec.UpdatedAt, rec.RemindedDue = on, actor.ID(), note, s.Now(), time.Time{}
	return s.store.SaveObligation(ctx, rec, audit.New(ctx, audit.ObligationDone, TargetObligation, c.Framework.ID+"/"+itemID).
		With("done_on", FormatDate(on)))
}

func (s *Service) obligation(ctx context.Context, catalogID, itemID string) (*Catalog, Obligation, *ObligationRecord, error) {
	lib, _, err := s.library(ctx)
	if err != nil {
		return nil, Obligation{}, nil, err
	}
	c, err := lib.Catalog(catalogID)
	if err != nil {
		return nil, Obligation{}, nil, err
	}
	i := slices.IndexFunc(c.Obligations(), func(o Obligation) bool { return o.ItemID == itemID })
	if i < 0 {
		return nil, Obligation{}, nil, mamori.Errorf(mamori.ENOTFOUND, "The item has no recurring obligation.")
	}
	o := c.Obligations()[i]
	recs, err := s.store.ObligationRecords(ctx, c.Framework.ID)
	if err != nil {
		return nil, Obligation{}, nil, err
	}
	for _, r := range recs {
		if r.ItemID == itemID {
			return c, o, r, nil
		}
	}
	return c, o, &ObligationRecord{CatalogID: c.Framework.ID, ItemID: itemID}, nil
}

// trackedCalendars returns the calendars of the catalogs the institution
// tracks: the FSA guideline, and any catalog with recorded obligations.
func (s *Service) trackedCalendars(ctx context.Context, people map[string]Person) ([]*Calendar, error) {
	lib, _, err := s.library(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := s.store.ObligationRecords(ctx, "")
	if err != nil {
		return nil, err
	}
	ids := []string{TrackedCatalog}
	for _, r := range recs {
		if !slices.Contains(ids, r.CatalogID) {
			ids = append(ids, r.CatalogID)
		}
	}
	var out []*Calendar
	for _, id := range ids {
		c, err := lib.Catalog(id)
		if err != nil {
			continue
		}
		cal, err := s.calendar(ctx, c, people)
		if err != nil {
			return nil, err
		}
		out = append(out, cal)
	}
	return out, nil
}

// Dashboard is the control panel of the dashboard.
type Dashboard struct {
	Overdue      []CalendarEntry // obligations past their deadline (at most 5)
	DueSoon      []CalendarEntry // obligations due within 30 days (at most 5)
	OverdueCount int
	DueSoonCount int
	MyTasks      []*Task // the user's open tasks, soonest first (at most 5)
	MyOverdue    int
	InReview     []*Assessment // assessments waiting for second-line review
	Open         []*Assessment // assessments being answered
	Today        time.Time
}

// Dashboard returns the obligations due, the user's tasks and the
// assessments waiting for work.
func (s *Service) Dashboard(ctx context.Context) (*Dashboard, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentRead)
	if err != nil {
		return nil, err
	}
	people, err := s.peopleMap(ctx)
	if err != nil {
		return nil, err
	}
	cals, err := s.trackedCalendars(ctx, people)
	if err != nil {
		return nil, err
	}
	d := &Dashboard{Today: Today(s.Now())}
	for _, cal := range cals {
		for _, e := range cal.Entries {
			switch e.Status {
			case StatusOverdue:
				d.OverdueCount++
				if len(d.Overdue) < 5 {
					d.Overdue = append(d.Overdue, e)
				}
			case StatusDueSoon:
				d.DueSoonCount++
				if len(d.DueSoon) < 5 {
					d.DueSoon = append(d.DueSoon, e)
				}
			}
		}
	}
	if actor.UserID != "" {
		tasks, err := s.store.Tasks(ctx, TaskFilter{OwnerID: actor.UserID, State: TaskOpen, Limit: 200})
		if err != nil {
			return nil, err
		}
		for _, t := range tasks {
			if t.Overdue(d.Today) {
				d.MyOverdue++
			}
		}
		d.MyTasks = tasks[:min(len(tasks), 5)]
	}
	if d.InReview, err = s.store.Assessments(ctx, AssessmentFilter{State: StateInReview, Limit: 10}); err != nil {
		return nil, err
	}
	if d.Open, err = s.store.Assessments(ctx, AssessmentFilter{State: StateOpen, Limit: 10}); err != nil {
		return nil, err
	}
	return d, nil
}

// Notification kinds and subjects (the UI translates the subjects).
const (
	NoticeObligationDue     = "obligation_due"
	NoticeObligationOverdue = "obligation_overdue"
	NoticeTaskOverdue       = "task_overdue"
	NoticeApprovalLapsed    = "approval_lapsed"
)

// RunReminders tells owners about obligations that are due within 30 days
// or overdue (once per deadline) and about overdue tasks (at most weekly).
// It returns how many reminders it sent. The server's job loop runs it.
func (s *Service) RunReminders(ctx context.Context) (int, error) {
	ctx = mamori.WithActor(ctx, mamori.SystemActor())
	people, err := s.peopleMap(ctx)
	if err != nil {
		return 0, err
	}
	cals, err := s.trackedCalendars(ctx, people)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, cal := range cals {
		for _, e := range cal.Entries {
			r := e.Record
			if r == nil || r.OwnerID == "" || e.Status == StatusUpcoming || r.RemindedDue.Equal(e.Due.Due) {
				continue
			}
			if p, ok := people[r.OwnerID]; !ok || !p.Active {
				continue
			}
			kind, subject := NoticeObligationDue, "A recurring obligation is due soon."
			if e.Status == StatusOverdue {
				kind, subject = NoticeObligationOverdue, "A recurring obligation is overdue."
			}
			body := fmt.Sprintf("%s %s — %s: %s", cal.Catalog.DisplayRef(e.ItemID), e.Title.Get("ja"), e.Title.Get("en"), FormatDate(e.Due.Due))
			if err := s.approver.Notify(ctx, r.OwnerID, kind, subject, body, "/obligations?catalog="+cal.Catalog.Framework.ID); err != nil {
				s.log.WarnContext(ctx, "obligation reminder", "item", e.ItemID, "error", err)
				continue
			}
			r.RemindedDue = e.Due.Due
			if err := s.store.SaveObligation(ctx, r, audit.New(ctx, audit.ObligationReminderSent, TargetObligation, r.CatalogID+"/"+r.ItemID).
				With("due", FormatDate(e.Due.Due)).With("kind", kind)); err != nil {
				return sent, err
			}
			sent++
		}
	}
	today := Today(s.Now())
	tasks, err := s.store.Tasks(ctx, TaskFilter{State: TaskOpen, DueBefore: today, Limit: 100000})
	if err != nil {
		return sent, err
	}
	for _, t := range tasks {
		if t.OwnerID == "" || !t.Overdue(today) || (!t.RemindedAt.IsZero() && s.Now().Sub(t.RemindedAt) < 7*24*time.Hour) {
			continue
		}
		if p, ok := people[t.OwnerID]; !ok || !p.Active {
			continue
		}
		body := fmt.Sprintf("%s: %s", t.Title, FormatDate(t.DueDate))
		if err := s.approver.Notify(ctx, t.OwnerID, NoticeTaskOverdue, "A remediation task is overdue.", body,
			"/assessments/"+t.AssessmentID+"/tasks"); err != nil {
			s.log.WarnContext(ctx, "task reminder", "task", t.ID, "error", err)
			continue
		}
		t.RemindedAt = s.Now()
		if err := s.store.UpdateTask(ctx, t, audit.New(ctx, audit.ObligationReminderSent, TargetTask, t.ID).
			With("due", FormatDate(t.DueDate)).With("kind", NoticeTaskOverdue)); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// ApprovalsExpired reopens what the expired approvals covered: an item
// whose risk acceptance lapsed is open again, and an item whose exclusion
// lapsed is back in scope. Its owner is told. The server's job loop passes
// the result of auth.Service.ExpireApprovals here; approvals of other
// modules are ignored. It then sweeps for items whose approval expired but
// were not reopened (a crash between the two steps), so nothing stays
// accepted on an expired approval. It returns how many items it reopened.
func (s *Service) ApprovalsExpired(ctx context.Context, expired []*auth.Approval) (int, error) {
	ctx = mamori.WithActor(ctx, mamori.SystemActor())
	n := 0
	for _, ap := range expired {
		if ap.TargetType != TargetItem || (ap.Kind != ApprovalRiskAcceptance && ap.Kind != ApprovalExclusion) {
			continue
		}
		it, err := s.store.ItemByID(ctx, ap.TargetID)
		if mamori.ErrorCode(err) == mamori.ENOTFOUND {
			continue
		}
		if err != nil {
			return n, err
		}
		done, err := s.reopen(ctx, it, ap.ID, ap.Kind, ap.Summary, ap.RequestedBy)
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	lapsed, err := s.store.LapsedItems(ctx)
	if err != nil {
		return n, err
	}
	for _, it := range lapsed {
		id, kind := it.AcceptApproval.ID, ApprovalRiskAcceptance
		if it.Status != ItemRiskAccepted || it.AcceptApproval.Status != "expired" {
			id, kind = it.ExcludeApproval.ID, ApprovalExclusion
		}
		done, err := s.reopen(ctx, it, id, kind, it.NodeID, it.UpdatedBy)
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}

// reopen returns an item to open (risk acceptance) or into scope
// (exclusion) if it still relies on approval id.
func (s *Service) reopen(ctx context.Context, it *Item, id, kind, summary, requester string) (bool, error) {
	ev := audit.New(ctx, audit.ItemReopened, TargetItem, it.ID).With("assessment", it.AssessmentID).With("item", it.NodeID).
		With("approval", id).With("kind", kind)
	switch {
	case kind == ApprovalRiskAcceptance && it.Status == ItemRiskAccepted && it.AcceptApproval.ID == id:
		it.Status, it.AcceptReason, it.AcceptUntil, it.AcceptApproval = ItemOpen, "", time.Time{}, ApprovalRef{}
		ev = ev.Fields("status", "accept_reason", "accept_until").With("status", map[string]string{"from": string(ItemRiskAccepted), "to": string(ItemOpen)})
	case kind == ApprovalExclusion && it.Excluded && it.ExcludeApproval.ID == id:
		it.Excluded, it.ExcludeReason, it.ExcludeUntil, it.ExcludeApproval = false, "", time.Time{}, ApprovalRef{}
		ev = ev.Fields("excluded", "exclude_reason", "exclude_until")
	default:
		return false, nil // the item no longer relies on this approval
	}
	it.Review, it.ReviewedBy, it.ReviewedAt, it.ReviewNote = ReviewNone, "", time.Time{}, ""
	it.UpdatedBy, it.UpdatedAt = "system", s.Now()
	if err := s.store.UpdateItem(ctx, it, true, ev); err != nil {
		return false, err
	}
	to := it.OwnerID
	if to == "" {
		to = requester
	}
	subject := "A risk acceptance has expired; the item is open again."
	if kind == ApprovalExclusion {
		subject = "An exclusion has expired; the item is back in scope."
	}
	if to != "" && to != "system" {
		if err := s.approver.Notify(ctx, to, NoticeApprovalLapsed, subject, summary, "/assessments/"+it.AssessmentID+"/items/"+it.NodeID); err != nil {
			s.log.WarnContext(ctx, "notify lapsed approval", "approval", id, "error", err)
		}
	}
	return true, nil
}
