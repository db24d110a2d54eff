package control

import (
	"context"
	"fmt"
	"io"
	"mime"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
)

// NewAssessment is what a person enters to start an assessment.
type NewAssessment struct {
	Title       string
	Catalog     string // framework ID (newest edition) or key
	Profile     Profile
	Scope       []ScopeEntry
	Conditions  []string
	PeriodStart time.Time
	PeriodEnd   time.Time
	// From copies answers, owners and evidence forward from a previous
	// assessment of the same framework.
	From string
	// RenewEvidence re-dates carried evidence to the new period's start
	// instead of flagging it for renewal; evidence that has expired by
	// then is flagged either way.
	RenewEvidence bool
}

// CreateAssessment starts an assessment with one open item per catalog
// item, or a copy of a previous assessment's answers.
func (s *Service) CreateAssessment(ctx context.Context, in NewAssessment) (*Assessment, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentWrite)
	if err != nil {
		return nil, err
	}
	lib, _, err := s.library(ctx)
	if err != nil {
		return nil, err
	}
	f := mamori.FieldErrors{}
	c, err := lib.Catalog(strings.TrimSpace(in.Catalog))
	if err != nil {
		f.Add("catalog", "Choose a catalog.")
		return nil, f.Err()
	}
	now := s.Now()
	a := &Assessment{ID: mamori.NewID(), Title: in.Title, CatalogKey: c.Key(), Profile: in.Profile, Scope: in.Scope,
		Conditions: in.Conditions, PeriodStart: in.PeriodStart, PeriodEnd: in.PeriodEnd, State: StateOpen,
		CreatedBy: actor.ID(), CreatedAt: now, UpdatedAt: now, Version: 1, Revision: 1}
	if err := a.validate(c); err != nil {
		return nil, err
	}
	var prevItems map[string]*Item
	var prevEvidence []*Evidence
	var people map[string]Person
	if in.From != "" {
		prev, err := s.store.Assessment(ctx, in.From)
		if err != nil {
			return nil, mamori.Invalid("from", "The previous assessment was not found.")
		}
		if fw, _, _ := strings.Cut(prev.CatalogKey, "@"); fw != c.Framework.ID {
			return nil, mamori.Invalid("from", "The previous assessment uses another catalog.")
		}
		items, err := s.store.Items(ctx, prev.ID)
		if err != nil {
			return nil, err
		}
		prevItems = map[string]*Item{}
		for _, it := range items {
			prevItems[it.NodeID] = it
		}
		if prevEvidence, err = s.store.Evidence(ctx, prev.ID); err != nil {
			return nil, err
		}
		if people, err = s.peopleMap(ctx); err != nil {
			return nil, err
		}
		a.PreviousID = prev.ID
	}
	var items []*Item
	rowOf := map[string]string{} // previous row ID → new row ID
	for _, n := range c.Items() {
		it := &Item{ID: mamori.NewID(), AssessmentID: a.ID, NodeID: n.ID, Status: ItemOpen, UpdatedBy: actor.ID(), UpdatedAt: now, Version: 1}
		if p := prevItems[n.ID]; p != nil {
			rowOf[p.ID] = it.ID
			it.Status, it.TargetDate, it.Rationale, it.DueDate = p.Status, p.TargetDate, p.Rationale, p.DueDate
			it.Explanation, it.Notes = p.Explanation, p.Notes
			if pp, ok := people[p.OwnerID]; ok && pp.Active {
				it.OwnerID = p.OwnerID
			}
			// Approvals belong to the assessment they were given for: a
			// risk acceptance must be asked for again.
			if it.Status == ItemRiskAccepted {
				it.Status = ItemOpen
			}
		}
		items = append(items, it)
	}
	var evidence []*Evidence
	for _, pe := range prevEvidence {
		row, ok := rowOf[pe.ItemID]
		if !ok {
			continue
		}
		e := *pe
		e.ID, e.AssessmentID, e.ItemID, e.CopiedFrom, e.AddedBy, e.AddedAt = mamori.NewID(), a.ID, row, pe.ID, actor.ID(), now
		expired := !e.ExpiresOn.IsZero() && !a.PeriodStart.Before(e.ExpiresOn)
		if in.RenewEvidence && !expired {
			e.EffectiveOn, e.NeedsRenewal = a.PeriodStart, false
		} else {
			e.NeedsRenewal = true
		}
		evidence = append(evidence, &e)
	}
	ev := audit.New(ctx, audit.AssessmentCreated, TargetAssessment, a.ID).With("catalog", a.CatalogKey).
		With("profile", string(a.Profile)).With("items", len(items))
	if a.PreviousID != "" {
		ev = ev.With("copied_from", a.PreviousID).With("evidence_copied", len(evidence)).With("evidence_renewed", in.RenewEvidence)
	}
	if err := s.store.CreateAssessment(ctx, a, items, evidence, ev); err != nil {
		return nil, err
	}
	return a, nil
}

// Assessments lists assessments, newest first.
func (s *Service) Assessments(ctx context.Context, f AssessmentFilter) ([]*Assessment, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentRead); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	return s.store.Assessments(ctx, f)
}

// Assessment returns one assessment.
func (s *Service) Assessment(ctx context.Context, id string) (*Assessment, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentRead); err != nil {
		return nil, err
	}
	return s.store.Assessment(ctx, id)
}

// AssessmentEdit is what can be changed in an assessment's header.
type AssessmentEdit struct {
	Title       string
	Profile     Profile
	Scope       []ScopeEntry
	Conditions  []string
	PeriodStart time.Time
	PeriodEnd   time.Time
}

// UpdateAssessment changes the header of an assessment that is not signed
// off. version is the version the person edited.
func (s *Service) UpdateAssessment(ctx context.Context, id string, version int, in AssessmentEdit) (*Assessment, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentWrite); err != nil {
		return nil, err
	}
	a, c, err := s.assessmentAndCatalog(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := editable(a); err != nil {
		return nil, err
	}
	if a.Version != version {
		return nil, errStale
	}
	b := *a
	b.Title, b.Profile, b.Scope, b.Conditions, b.PeriodStart, b.PeriodEnd = in.Title, in.Profile, in.Scope, in.Conditions, in.PeriodStart, in.PeriodEnd
	if err := b.validate(c); err != nil {
		return nil, err
	}
	changed := headerChanges(a, &b)
	if len(changed) == 0 {
		return a, nil
	}
	b.UpdatedAt = s.Now()
	if err := s.store.UpdateAssessment(ctx, &b, audit.New(ctx, audit.AssessmentUpdated, TargetAssessment, a.ID).Fields(changed...)); err != nil {
		return nil, err
	}
	return s.store.Assessment(ctx, id)
}

func headerChanges(a, b *Assessment) []string {
	var changed []string
	if a.Title != b.Title {
		changed = append(changed, "title")
	}
	if a.Profile != b.Profile {
		changed = append(changed, "profile")
	}
	if FormatScope(a.Scope) != FormatScope(b.Scope) {
		changed = append(changed, "scope")
	}
	if strings.Join(a.Conditions, ",") != strings.Join(b.Conditions, ",") {
		changed = append(changed, "conditions")
	}
	if !a.PeriodStart.Equal(b.PeriodStart) || !a.PeriodEnd.Equal(b.PeriodEnd) {
		changed = append(changed, "period")
	}
	return changed
}

var (
	errStale  = mamori.Errorf(mamori.ECONFLICT, "Someone else changed this in the meantime. Reload the page and try again.")
	errLocked = mamori.Errorf(mamori.ECONFLICT, "The assessment is signed off. A reviewer must reopen it before anything changes.")
)

func editable(a *Assessment) error {
	if a.State == StateSignedOff {
		return errLocked
	}
	return nil
}

func (s *Service) assessmentAndCatalog(ctx context.Context, id string) (*Assessment, *Catalog, error) {
	a, err := s.store.Assessment(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	lib, _, err := s.library(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := lib.Catalog(a.CatalogKey)
	if err != nil {
		return nil, nil, mamori.Wrap(mamori.EINTERNAL, err, "The assessment's catalog is not available.")
	}
	return a, c, nil
}

// Snapshot reads everything about an assessment.
func (s *Service) Snapshot(ctx context.Context, id string) (*Snapshot, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentRead); err != nil {
		return nil, err
	}
	return s.snapshot(ctx, id)
}

func (s *Service) snapshot(ctx context.Context, id string) (*Snapshot, error) {
	a, c, err := s.assessmentAndCatalog(ctx, id)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Assessment: a, Catalog: c, Now: s.Now()}
	if snap.Items, err = s.store.Items(ctx, id); err != nil {
		return nil, err
	}
	order := map[string]int{}
	for i, n := range c.Items() {
		order[n.ID] = i
	}
	slices.SortStableFunc(snap.Items, func(x, y *Item) int { return order[x.NodeID] - order[y.NodeID] })
	if snap.Evidence, err = s.store.Evidence(ctx, id); err != nil {
		return nil, err
	}
	if snap.Tasks, err = s.store.Tasks(ctx, TaskFilter{AssessmentID: id, Limit: 100000}); err != nil {
		return nil, err
	}
	if snap.People, err = s.peopleMap(ctx); err != nil {
		return nil, err
	}
	return snap, nil
}

// Report is a snapshot with its rows, progress and gaps computed.
type Report struct {
	*Snapshot
	Rows     []Row
	Progress *Progress
	Gaps     []Gap
	Today    time.Time
}

// Report computes the report of a snapshot.
func (s *Snapshot) Report() *Report {
	rows := s.Rows()
	return &Report{Snapshot: s, Rows: rows, Progress: s.Progress(rows), Gaps: s.Gaps(rows), Today: Today(s.Now)}
}

// Report returns the progress, gaps and rows of an assessment.
func (s *Service) Report(ctx context.Context, id string) (*Report, error) {
	snap, err := s.Snapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	return snap.Report(), nil
}

// ItemView is one item with everything its page shows.
type ItemView struct {
	Assessment *Assessment
	Catalog    *Catalog
	Node       *Node
	Row        Row
	Path       []*Node
	Hints      []Text
	Mappings   []SourcedMapping // what other catalogs say about this item
	MapsTo     []Mapping        // what this item maps to
	History    []audit.Event
	People     map[string]Person
}

// ItemView returns an item's page: the requirement, the answer, evidence,
// tasks and history.
func (s *Service) ItemView(ctx context.Context, assessmentID, nodeID string) (*ItemView, error) {
	snap, err := s.Snapshot(ctx, assessmentID)
	if err != nil {
		return nil, err
	}
	n, err := snap.Catalog.Node(nodeID)
	if err != nil || !n.Assessable() || snap.Item(nodeID) == nil {
		return nil, mamori.Errorf(mamori.ENOTFOUND, "The item was not found.")
	}
	v := &ItemView{Assessment: snap.Assessment, Catalog: snap.Catalog, Node: n, People: snap.People}
	for _, r := range snap.Rows() {
		if r.Node.ID == nodeID {
			v.Row = r
			break
		}
	}
	v.Path, _ = snap.Catalog.Path(nodeID)
	v.Hints, _ = snap.Catalog.EvidenceHints(nodeID)
	lib, _, err := s.library(ctx)
	if err != nil {
		return nil, err
	}
	v.Mappings = lib.MappingsInto(snap.Catalog.Framework.ID, nodeID)
	v.MapsTo = snap.Catalog.MappingsFrom(nodeID)
	if v.History, err = s.store.History(ctx, TargetItem, v.Row.Item.ID, 500); err != nil {
		return nil, err
	}
	return v, nil
}

// ItemByRow returns an item by its row ID.
func (s *Service) ItemByRow(ctx context.Context, id string) (*Item, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentRead); err != nil {
		return nil, err
	}
	if !mamori.ValidID(id) {
		return nil, mamori.Errorf(mamori.ENOTFOUND, "The item was not found.")
	}
	return s.store.ItemByID(ctx, id)
}

// AssessmentHistory returns the audit events of the assessment itself.
func (s *Service) AssessmentHistory(ctx context.Context, id string) ([]audit.Event, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentRead); err != nil {
		return nil, err
	}
	if _, err := s.store.Assessment(ctx, id); err != nil {
		return nil, err
	}
	return s.store.History(ctx, TargetAssessment, id, 500)
}

// loadItem returns the assessment and one of its items, checking that the
// item's version is still version.
func (s *Service) loadItem(ctx context.Context, assessmentID, nodeID string, version int) (*Assessment, *Item, error) {
	a, err := s.store.Assessment(ctx, assessmentID)
	if err != nil {
		return nil, nil, err
	}
	it, err := s.store.Item(ctx, assessmentID, nodeID)
	if err != nil {
		return nil, nil, err
	}
	if version != 0 && it.Version != version {
		return nil, nil, errStale
	}
	return a, it, nil
}

func itemEvent(ctx context.Context, t audit.Type, a *Assessment, it *Item) audit.Event {
	return audit.New(ctx, t, TargetItem, it.ID).With("assessment", a.ID).With("item", it.NodeID)
}

// resetsReview lists the answer fields whose change needs a new review.
var resetsReview = []string{"status", "target_date", "rationale", "explanation"}

// UpdateItem records the first line's answer to an item. version is the
// item's version the person edited (0 skips the check, for the API's
// last-writer-wins callers that say so).
func (s *Service) UpdateItem(ctx context.Context, assessmentID, nodeID string, version int, in Answer) (*Item, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentWrite)
	if err != nil {
		return nil, err
	}
	a, it, err := s.loadItem(ctx, assessmentID, nodeID, version)
	if err != nil {
		return nil, err
	}
	if err := editable(a); err != nil {
		return nil, err
	}
	f := mamori.FieldErrors{}
	keepAccepted := in.Status == ItemRiskAccepted && it.Status == ItemRiskAccepted
	in.validate(f, "", keepAccepted)
	people, err := s.peopleMap(ctx)
	if err != nil {
		return nil, err
	}
	if in.OwnerID != it.OwnerID {
		checkOwner(people, in.OwnerID, "owner", f)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	before := *it
	changed := it.apply(in)
	if len(changed) == 0 {
		return it, nil
	}
	ev := itemEvent(ctx, audit.ItemUpdated, a, it).Fields(changed...)
	if before.Status != it.Status {
		ev = ev.With("status", map[string]string{"from": string(before.Status), "to": string(it.Status)})
	}
	var withdraw string
	if before.Status == ItemRiskAccepted && it.Status != ItemRiskAccepted {
		if before.AcceptApproval.Awaiting() {
			withdraw = before.AcceptApproval.ID
		}
		it.AcceptReason, it.AcceptUntil, it.AcceptApproval = "", time.Time{}, ApprovalRef{}
	}
	if it.Review != ReviewNone && slices.ContainsFunc(changed, func(c string) bool { return slices.Contains(resetsReview, c) }) {
		it.Review, it.ReviewedBy, it.ReviewedAt, it.ReviewNote = ReviewNone, "", time.Time{}, ""
		ev = ev.With("review_reset", true)
	}
	it.UpdatedBy, it.UpdatedAt = actor.ID(), s.Now()
	if err := s.store.UpdateItem(ctx, it, false, ev); err != nil {
		return nil, err
	}
	if withdraw != "" {
		s.withdraw(ctx, withdraw)
	}
	return s.store.Item(ctx, assessmentID, nodeID)
}

// withdraw takes back a pending approval the actor asked for; it is best
// effort (someone else's request stays for the approver, who will see that
// the item no longer asks for it).
func (s *Service) withdraw(ctx context.Context, id string) {
	if err := s.approver.WithdrawApproval(ctx, id); err != nil && mamori.ErrorCode(err) != mamori.EFORBIDDEN {
		s.log.WarnContext(ctx, "withdraw approval", "approval", id, "error", err)
	}
}

// maxApprovalSpan bounds how long a risk acceptance or exclusion may run
// before it must be approved again.
const maxApprovalSpan = 3

// checkUntil validates the last day an acceptance or exclusion holds.
func (s *Service) checkUntil(f mamori.FieldErrors, field string, until time.Time) {
	today := Today(s.Now())
	switch {
	case until.IsZero():
		f.Add(field, "Give the last day the approval holds.")
	case !until.After(today):
		f.Add(field, "The expiry must be in the future.")
	case until.After(today.AddDate(maxApprovalSpan, 0, 0)):
		f.Add(field, "An approval can hold for at most three years; ask again when it ends.")
	}
}

// endOf returns the instant a day ends in Japan: an approval "until
// 2027-03-31" lapses at the start of 1 April, Japanese time.
func endOf(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, tokyo).UTC()
}

// RequestRiskAcceptance marks an item as risk accepted until a day and asks
// someone else with the right to approve risk acceptances to approve it.
// Until they do, the item counts as a gap.
func (s *Service) RequestRiskAcceptance(ctx context.Context, assessmentID, nodeID string, version int, reason string, until time.Time) (*Item, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentWrite)
	if err != nil {
		return nil, err
	}
	a, it, err := s.loadItem(ctx, assessmentID, nodeID, version)
	if err != nil {
		return nil, err
	}
	if err := editable(a); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	f := mamori.FieldErrors{}
	if reason == "" {
		f.Add("accept_reason", "State the risk being accepted and why.")
	}
	checkText(f, "accept_reason", reason, maxText, false)
	s.checkUntil(f, "accept_until", until)
	if err := f.Err(); err != nil {
		return nil, err
	}
	if it.Status == ItemRiskAccepted && it.AcceptApproval.Awaiting() && it.AcceptReason == reason && it.AcceptUntil.Equal(until) {
		return nil, mamori.Errorf(mamori.ECONFLICT, "This risk acceptance is already waiting for approval.")
	}
	ap, err := s.approver.RequestApproval(ctx, auth.ApprovalRequest{Kind: ApprovalRiskAcceptance, TargetType: TargetItem, TargetID: it.ID,
		Summary: s.approvalSummary(ctx, a, it, "リスク受容 / Risk acceptance"), Reason: reason, RequiredPerm: mamori.PermRiskApprove, ExpiresAt: endOf(until)})
	if err != nil {
		return nil, err
	}
	old := it.AcceptApproval
	from := it.Status
	it.Status, it.AcceptReason, it.AcceptUntil = ItemRiskAccepted, reason, until
	it.AcceptApproval = ApprovalRef{ID: ap.ID, Status: ap.Status, ExpiresAt: ap.ExpiresAt}
	if from != ItemRiskAccepted {
		it.TargetDate = time.Time{}
	}
	ev := itemEvent(ctx, audit.ItemUpdated, a, it).Fields("status", "accept_reason", "accept_until").
		With("status", map[string]string{"from": string(from), "to": string(ItemRiskAccepted)}).With("approval", ap.ID)
	if it.Review != ReviewNone {
		it.Review, it.ReviewedBy, it.ReviewedAt, it.ReviewNote = ReviewNone, "", time.Time{}, ""
		ev = ev.With("review_reset", true)
	}
	it.UpdatedBy, it.UpdatedAt = actor.ID(), s.Now()
	if err := s.store.UpdateItem(ctx, it, false, ev); err != nil {
		s.withdraw(ctx, ap.ID)
		return nil, err
	}
	if old.Awaiting() {
		s.withdraw(ctx, old.ID)
	}
	return s.store.Item(ctx, assessmentID, nodeID)
}

// RequestExclusion takes an item out of a custom-profile assessment until
// a day, with a rationale, subject to someone else's approval.
func (s *Service) RequestExclusion(ctx context.Context, assessmentID, nodeID string, version int, reason string, until time.Time) (*Item, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentWrite)
	if err != nil {
		return nil, err
	}
	a, it, err := s.loadItem(ctx, assessmentID, nodeID, version)
	if err != nil {
		return nil, err
	}
	if err := editable(a); err != nil {
		return nil, err
	}
	if a.Profile != ProfileCustom {
		return nil, mamori.Errorf(mamori.ECONFLICT, "Items can be excluded only from an assessment with the custom profile.")
	}
	reason = strings.TrimSpace(reason)
	f := mamori.FieldErrors{}
	if reason == "" {
		f.Add("exclude_reason", "Give the rationale for excluding the item.")
	}
	checkText(f, "exclude_reason", reason, maxText, false)
	s.checkUntil(f, "exclude_until", until)
	if err := f.Err(); err != nil {
		return nil, err
	}
	if it.Excluded && it.ExcludeApproval.Awaiting() && it.ExcludeReason == reason && it.ExcludeUntil.Equal(until) {
		return nil, mamori.Errorf(mamori.ECONFLICT, "This exclusion is already waiting for approval.")
	}
	ap, err := s.approver.RequestApproval(ctx, auth.ApprovalRequest{Kind: ApprovalExclusion, TargetType: TargetItem, TargetID: it.ID,
		Summary: s.approvalSummary(ctx, a, it, "除外 / Exclusion"), Reason: reason, RequiredPerm: mamori.PermRiskApprove, ExpiresAt: endOf(until)})
	if err != nil {
		return nil, err
	}
	old := it.ExcludeApproval
	it.Excluded, it.ExcludeReason, it.ExcludeUntil = true, reason, until
	it.ExcludeApproval = ApprovalRef{ID: ap.ID, Status: ap.Status, ExpiresAt: ap.ExpiresAt}
	it.UpdatedBy, it.UpdatedAt = actor.ID(), s.Now()
	ev := itemEvent(ctx, audit.ItemUpdated, a, it).Fields("excluded", "exclude_reason", "exclude_until").With("approval", ap.ID)
	if err := s.store.UpdateItem(ctx, it, false, ev); err != nil {
		s.withdraw(ctx, ap.ID)
		return nil, err
	}
	if old.Awaiting() {
		s.withdraw(ctx, old.ID)
	}
	return s.store.Item(ctx, assessmentID, nodeID)
}

// CancelExclusion brings an excluded item back into scope.
func (s *Service) CancelExclusion(ctx context.Context, assessmentID, nodeID string, version int) (*Item, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentWrite)
	if err != nil {
		return nil, err
	}
	a, it, err := s.loadItem(ctx, assessmentID, nodeID, version)
	if err != nil {
		return nil, err
	}
	if err := editable(a); err != nil {
		return nil, err
	}
	if !it.Excluded {
		return it, nil
	}
	old := it.ExcludeApproval
	it.Excluded, it.ExcludeReason, it.ExcludeUntil, it.ExcludeApproval = false, "", time.Time{}, ApprovalRef{}
	it.UpdatedBy, it.UpdatedAt = actor.ID(), s.Now()
	if err := s.store.UpdateItem(ctx, it, false, itemEvent(ctx, audit.ItemUpdated, a, it).Fields("excluded", "exclude_reason", "exclude_until")); err != nil {
		return nil, err
	}
	if old.Awaiting() {
		s.withdraw(ctx, old.ID)
	}
	return s.store.Item(ctx, assessmentID, nodeID)
}

// approvalSummary is the one line an approver reads: what, which item,
// which assessment.
func (s *Service) approvalSummary(ctx context.Context, a *Assessment, it *Item, what string) string {
	ref, title := it.NodeID, ""
	if lib, _, err := s.library(ctx); err == nil {
		if c, err := lib.Catalog(a.CatalogKey); err == nil {
			ref = c.DisplayRef(it.NodeID)
			if n, err := c.Node(it.NodeID); err == nil {
				title = n.Title.Get("ja")
			}
		}
	}
	return truncate(fmt.Sprintf("%s: %s %s (%s)", what, ref, title, a.Title), 300)
}

// ReviewItem records the second line's review of an answer: agreed, or
// challenged with a note. Nobody reviews an answer they gave themselves.
func (s *Service) ReviewItem(ctx context.Context, assessmentID, nodeID string, version int, agree bool, note string) (*Item, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentReview)
	if err != nil {
		return nil, err
	}
	a, it, err := s.loadItem(ctx, assessmentID, nodeID, version)
	if err != nil {
		return nil, err
	}
	if err := editable(a); err != nil {
		return nil, err
	}
	if it.Status == ItemOpen {
		return nil, mamori.Errorf(mamori.ECONFLICT, "The item has not been answered yet.")
	}
	if it.UpdatedBy == actor.ID() {
		return nil, mamori.Errorf(mamori.EFORBIDDEN, "You cannot review an answer you gave yourself.")
	}
	note = strings.TrimSpace(note)
	f := mamori.FieldErrors{}
	if !agree && note == "" {
		f.Add("review_note", "Say what must change.")
	}
	checkText(f, "review_note", note, maxText, false)
	if err := f.Err(); err != nil {
		return nil, err
	}
	it.Review, it.ReviewNote, it.ReviewedBy, it.ReviewedAt = ReviewChallenged, note, actor.ID(), s.Now()
	if agree {
		it.Review = ReviewAgreed
	}
	if err := s.store.UpdateItem(ctx, it, false, itemEvent(ctx, audit.ItemReviewed, a, it).With("review", it.Review)); err != nil {
		return nil, err
	}
	return s.store.Item(ctx, assessmentID, nodeID)
}

// Submit hands an assessment whose in-scope items are all answered to the
// second line.
func (s *Service) Submit(ctx context.Context, id string) (*Assessment, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentWrite)
	if err != nil {
		return nil, err
	}
	snap, err := s.snapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	a := snap.Assessment
	if a.State != StateOpen {
		return nil, mamori.Errorf(mamori.ECONFLICT, "Only an open assessment can be submitted.")
	}
	f := mamori.FieldErrors{}
	open := 0
	for _, r := range snap.Rows() {
		if r.Standing.InScope && !r.Standing.Answered {
			open++
			if open <= 20 {
				f.Add(r.Node.ID, "Not answered yet.")
			}
		}
	}
	if open > 0 {
		e := f.Err().(*mamori.Error)
		e.Message = "Answer every item in scope before submitting. The items still open are listed."
		return nil, e
	}
	rev := a.Revision
	a.State, a.SubmittedBy, a.SubmittedAt, a.UpdatedAt = StateInReview, actor.ID(), s.Now(), s.Now()
	if err := s.store.SetAssessmentState(ctx, a, rev, audit.New(ctx, audit.AssessmentSubmitted, TargetAssessment, a.ID)); err != nil {
		return nil, err
	}
	return s.store.Assessment(ctx, id)
}

// Return sends an assessment in review back to the first line with a note.
func (s *Service) Return(ctx context.Context, id, note string) (*Assessment, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentReview); err != nil {
		return nil, err
	}
	a, err := s.store.Assessment(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.State != StateInReview {
		return nil, mamori.Errorf(mamori.ECONFLICT, "Only an assessment in review can be returned.")
	}
	note = strings.TrimSpace(note)
	f := mamori.FieldErrors{}
	if note == "" {
		f.Add("note", "Say what must change.")
	}
	checkText(f, "note", note, maxText, false)
	if err := f.Err(); err != nil {
		return nil, err
	}
	rev := a.Revision
	a.State, a.SignOffNote, a.UpdatedAt = StateOpen, note, s.Now()
	if err := s.store.SetAssessmentState(ctx, a, rev, audit.New(ctx, audit.AssessmentReturned, TargetAssessment, a.ID)); err != nil {
		return nil, err
	}
	return s.store.Assessment(ctx, id)
}

// SignOff is the second line's sign-off: every in-scope item answered and
// agreed, no approval still pending, and the signer is not the person who
// submitted. A change made after the reviewer loaded the assessment makes
// the sign-off fail.
func (s *Service) SignOff(ctx context.Context, id, note string) (*Assessment, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentReview)
	if err != nil {
		return nil, err
	}
	snap, err := s.snapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	a := snap.Assessment
	if a.State != StateInReview {
		return nil, mamori.Errorf(mamori.ECONFLICT, "Only an assessment in review can be signed off.")
	}
	if a.SubmittedBy == actor.ID() {
		return nil, mamori.Errorf(mamori.EFORBIDDEN, "The person who submitted an assessment cannot sign it off.")
	}
	f := mamori.FieldErrors{}
	problems := 0
	for _, r := range snap.Rows() {
		if !r.Standing.InScope {
			continue
		}
		reason := ""
		switch {
		case !r.Standing.Answered:
			reason = "Not answered yet."
		case r.Standing.Awaiting:
			reason = "An approval is still pending."
		case r.Item.Review != ReviewAgreed:
			reason = "Not reviewed and agreed yet."
		}
		if reason != "" {
			problems++
			if problems <= 20 {
				f.Add(r.Node.ID, reason)
			}
		}
	}
	if problems > 0 {
		e := f.Err().(*mamori.Error)
		e.Message = "Some items are not ready for sign-off. They are listed."
		return nil, e
	}
	note = strings.TrimSpace(note)
	ff := mamori.FieldErrors{}
	checkText(ff, "note", note, maxText, false)
	if err := ff.Err(); err != nil {
		return nil, err
	}
	rev := a.Revision
	a.State, a.SignedOffBy, a.SignedOffAt, a.SignOffNote, a.UpdatedAt = StateSignedOff, actor.ID(), s.Now(), note, s.Now()
	if err := s.store.SetAssessmentState(ctx, a, rev, audit.New(ctx, audit.AssessmentSignedOff, TargetAssessment, a.ID).With("revision", rev)); err != nil {
		return nil, err
	}
	return s.store.Assessment(ctx, id)
}

// Reopen unlocks a signed-off assessment, for a stated reason.
func (s *Service) Reopen(ctx context.Context, id, reason string) (*Assessment, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentReview); err != nil {
		return nil, err
	}
	a, err := s.store.Assessment(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.State != StateSignedOff {
		return nil, mamori.Errorf(mamori.ECONFLICT, "Only a signed-off assessment can be reopened.")
	}
	reason = strings.TrimSpace(reason)
	f := mamori.FieldErrors{}
	if reason == "" {
		f.Add("note", "Say why the assessment is reopened.")
	}
	checkText(f, "note", reason, maxText, false)
	if err := f.Err(); err != nil {
		return nil, err
	}
	rev := a.Revision
	a.State, a.SignOffNote, a.UpdatedAt = StateOpen, reason, s.Now()
	a.SignedOffBy, a.SignedOffAt, a.SubmittedBy, a.SubmittedAt = "", time.Time{}, "", time.Time{}
	if err := s.store.SetAssessmentState(ctx, a, rev, audit.New(ctx, audit.AssessmentReopened, TargetAssessment, a.ID)); err != nil {
		return nil, err
	}
	return s.store.Assessment(ctx, id)
}

// AddEvidence attaches a link (a record in mamori or a web address) to an
// item.
func (s *Service) AddEvidence(ctx context.Context, assessmentID, nodeID string, in EvidenceInput) (*Evidence, error) {
	if in.Kind == EvidenceFile {
		return nil, mamori.Invalid("kind", "Upload the file instead.")
	}
	return s.addEvidence(ctx, assessmentID, nodeID, in, nil)
}

// maxFileName bounds a stored file name.
const maxFileName = 200

// AddEvidenceFile stores an uploaded file and attaches it to an item.
func (s *Service) AddEvidenceFile(ctx context.Context, assessmentID, nodeID string, r io.Reader, name, mediaType string, in EvidenceInput) (*Evidence, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentWrite); err != nil {
		return nil, err
	}
	if s.files == nil {
		return nil, mamori.Errorf(mamori.ENOTIMPLEMENTED, "File storage is not configured; link to the document instead.")
	}
	name = cleanFileName(name)
	if name == "" {
		return nil, mamori.Invalid("file", "Choose a file.")
	}
	if mt, _, err := mime.ParseMediaType(mediaType); err == nil {
		mediaType = mt
	} else {
		mediaType = "application/octet-stream"
	}
	in.Kind = EvidenceFile
	if strings.TrimSpace(in.Title) == "" {
		in.Title = name
	}
	// Check the item and the input before storing any bytes.
	if _, _, err := s.evidenceTarget(ctx, assessmentID, nodeID, &in); err != nil {
		return nil, err
	}
	ref, err := s.files.Put(ctx, r, name, mediaType)
	if err != nil {
		return nil, err
	}
	return s.addEvidence(ctx, assessmentID, nodeID, in, &ref)
}

func cleanFileName(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = strings.TrimSpace(path.Base(name))
	if name == "." || name == "/" {
		return ""
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	return truncate(name, maxFileName)
}

func (s *Service) evidenceTarget(ctx context.Context, assessmentID, nodeID string, in *EvidenceInput) (*Assessment, *Item, error) {
	a, it, err := s.loadItem(ctx, assessmentID, nodeID, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := editable(a); err != nil {
		return nil, nil, err
	}
	f := mamori.FieldErrors{}
	in.validate(f, "")
	if err := f.Err(); err != nil {
		return nil, nil, err
	}
	return a, it, nil
}

func (s *Service) addEvidence(ctx context.Context, assessmentID, nodeID string, in EvidenceInput, ref *FileRef) (*Evidence, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentWrite)
	if err != nil {
		return nil, err
	}
	a, it, err := s.evidenceTarget(ctx, assessmentID, nodeID, &in)
	if err != nil {
		return nil, err
	}
	e := &Evidence{ID: mamori.NewID(), AssessmentID: a.ID, ItemID: it.ID, Kind: in.Kind, Title: in.Title, URL: in.URL,
		RecordType: in.RecordType, RecordID: in.RecordID, File: ref, EffectiveOn: in.EffectiveOn, ExpiresOn: in.ExpiresOn,
		AddedBy: actor.ID(), AddedAt: s.Now()}
	if in.Kind != EvidenceRecord {
		e.RecordType, e.RecordID = "", ""
	}
	if in.Kind != EvidenceURL {
		e.URL = ""
	}
	ev := itemEvent(ctx, audit.EvidenceAdded, a, it).With("evidence", e.ID).With("kind", string(e.Kind))
	if ref != nil {
		ev = ev.With("sha256", ref.SHA256).With("size", ref.Size)
	}
	if err := s.store.AddEvidence(ctx, e, ev); err != nil {
		return nil, err
	}
	return e, nil
}

// RenewEvidence confirms that evidence is current: it is re-dated and its
// renewal flag cleared.
func (s *Service) RenewEvidence(ctx context.Context, assessmentID, evidenceID string, effectiveOn, expiresOn time.Time) (*Evidence, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentWrite); err != nil {
		return nil, err
	}
	a, err := s.store.Assessment(ctx, assessmentID)
	if err != nil {
		return nil, err
	}
	if err := editable(a); err != nil {
		return nil, err
	}
	e, err := s.store.EvidenceByID(ctx, assessmentID, evidenceID)
	if err != nil {
		return nil, err
	}
	in := EvidenceInput{Kind: e.Kind, Title: e.Title, URL: e.URL, RecordType: e.RecordType, RecordID: e.RecordID, EffectiveOn: effectiveOn, ExpiresOn: expiresOn}
	f := mamori.FieldErrors{}
	in.validate(f, "")
	if err := f.Err(); err != nil {
		return nil, err
	}
	e.EffectiveOn, e.ExpiresOn, e.NeedsRenewal = effectiveOn, expiresOn, false
	ev := audit.New(ctx, audit.EvidenceRenewed, TargetItem, e.ItemID).With("assessment", a.ID).With("evidence", e.ID).
		With("effective_on", FormatDate(effectiveOn)).With("expires_on", FormatDate(expiresOn))
	if err := s.store.UpdateEvidence(ctx, e, ev); err != nil {
		return nil, err
	}
	return e, nil
}

// RemoveEvidence detaches evidence from its item. The item needs a new
// review (the store resets it in the same transaction).
func (s *Service) RemoveEvidence(ctx context.Context, assessmentID, evidenceID string) error {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentWrite); err != nil {
		return err
	}
	a, err := s.store.Assessment(ctx, assessmentID)
	if err != nil {
		return err
	}
	if err := editable(a); err != nil {
		return err
	}
	e, err := s.store.EvidenceByID(ctx, assessmentID, evidenceID)
	if err != nil {
		return err
	}
	return s.store.RemoveEvidence(ctx, assessmentID, evidenceID, audit.New(ctx, audit.EvidenceRemoved, TargetItem, e.ItemID).
		With("assessment", a.ID).With("evidence", e.ID).With("kind", string(e.Kind)))
}

// EvidenceFile opens an evidence file for download.
func (s *Service) EvidenceFile(ctx context.Context, assessmentID, evidenceID string) (*Evidence, io.ReadCloser, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentRead); err != nil {
		return nil, nil, err
	}
	e, err := s.store.EvidenceByID(ctx, assessmentID, evidenceID)
	if err != nil {
		return nil, nil, err
	}
	if e.Kind != EvidenceFile || e.File == nil {
		return nil, nil, mamori.Errorf(mamori.ENOTFOUND, "This evidence has no file.")
	}
	if s.files == nil {
		return nil, nil, mamori.Errorf(mamori.ENOTIMPLEMENTED, "File storage is not configured.")
	}
	rc, err := s.files.Open(ctx, *e.File)
	if err != nil {
		return nil, nil, err
	}
	return e, rc, nil
}

// CreateTask adds a remediation task, linked to an item or to the whole
// assessment. Tasks stay open to change after sign-off: remediation goes on.
func (s *Service) CreateTask(ctx context.Context, assessmentID string, in TaskInput) (*Task, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentWrite)
	if err != nil {
		return nil, err
	}
	a, err := s.store.Assessment(ctx, assessmentID)
	if err != nil {
		return nil, err
	}
	t := &Task{ID: mamori.NewID(), AssessmentID: a.ID, State: TaskOpen, CreatedBy: actor.ID(), CreatedAt: s.Now(), UpdatedAt: s.Now(), Version: 1}
	if err := s.fillTask(ctx, a, t, in); err != nil {
		return nil, err
	}
	ev := audit.New(ctx, audit.TaskCreated, TargetTask, t.ID).With("assessment", a.ID).With("item", t.NodeID)
	if err := s.store.CreateTask(ctx, t, ev); err != nil {
		return nil, err
	}
	return t, nil
}

func (s *Service) fillTask(ctx context.Context, a *Assessment, t *Task, in TaskInput) error {
	f := mamori.FieldErrors{}
	in.validate(f, "")
	people, err := s.peopleMap(ctx)
	if err != nil {
		return err
	}
	if in.OwnerID != t.OwnerID {
		checkOwner(people, in.OwnerID, "owner", f)
	}
	t.ItemID, t.NodeID = "", ""
	if in.NodeID = strings.TrimSpace(in.NodeID); in.NodeID != "" {
		it, err := s.store.Item(ctx, a.ID, in.NodeID)
		if err != nil {
			f.Add("item", "The assessment has no such item.")
		} else {
			t.ItemID, t.NodeID = it.ID, it.NodeID
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	t.Title, t.Description, t.OwnerID, t.DueDate = in.Title, in.Description, in.OwnerID, in.DueDate
	return nil
}

// UpdateTask changes or reassigns a task.
func (s *Service) UpdateTask(ctx context.Context, assessmentID, taskID string, version int, in TaskInput) (*Task, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentWrite); err != nil {
		return nil, err
	}
	a, t, err := s.loadTask(ctx, assessmentID, taskID, version)
	if err != nil {
		return nil, err
	}
	before := *t
	if err := s.fillTask(ctx, a, t, in); err != nil {
		return nil, err
	}
	var changed []string
	if before.Title != t.Title {
		changed = append(changed, "title")
	}
	if before.Description != t.Description {
		changed = append(changed, "description")
	}
	if before.OwnerID != t.OwnerID {
		changed = append(changed, "owner")
		t.RemindedAt = time.Time{}
	}
	if !before.DueDate.Equal(t.DueDate) {
		changed = append(changed, "due_date")
		t.RemindedAt = time.Time{}
	}
	if before.ItemID != t.ItemID {
		changed = append(changed, "item")
	}
	if len(changed) == 0 {
		return t, nil
	}
	t.UpdatedAt = s.Now()
	if err := s.store.UpdateTask(ctx, t, audit.New(ctx, audit.TaskUpdated, TargetTask, t.ID).With("assessment", a.ID).Fields(changed...)); err != nil {
		return nil, err
	}
	return s.store.Task(ctx, assessmentID, taskID)
}

// CompleteTask marks a task done, with a note of what was done.
func (s *Service) CompleteTask(ctx context.Context, assessmentID, taskID string, version int, note string) (*Task, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentWrite)
	if err != nil {
		return nil, err
	}
	a, t, err := s.loadTask(ctx, assessmentID, taskID, version)
	if err != nil {
		return nil, err
	}
	if t.State == TaskDone {
		return nil, mamori.Errorf(mamori.ECONFLICT, "The task is already done.")
	}
	note = strings.TrimSpace(note)
	f := mamori.FieldErrors{}
	checkText(f, "note", note, maxText, false)
	if err := f.Err(); err != nil {
		return nil, err
	}
	t.State, t.DoneBy, t.DoneAt, t.DoneNote, t.UpdatedAt = TaskDone, actor.ID(), s.Now(), note, s.Now()
	if err := s.store.UpdateTask(ctx, t, audit.New(ctx, audit.TaskCompleted, TargetTask, t.ID).With("assessment", a.ID)); err != nil {
		return nil, err
	}
	return s.store.Task(ctx, assessmentID, taskID)
}

// ReopenTask reopens a completed task.
func (s *Service) ReopenTask(ctx context.Context, assessmentID, taskID string, version int) (*Task, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentWrite); err != nil {
		return nil, err
	}
	a, t, err := s.loadTask(ctx, assessmentID, taskID, version)
	if err != nil {
		return nil, err
	}
	if t.State == TaskOpen {
		return t, nil
	}
	t.State, t.DoneBy, t.DoneAt, t.DoneNote, t.UpdatedAt, t.RemindedAt = TaskOpen, "", time.Time{}, "", s.Now(), time.Time{}
	if err := s.store.UpdateTask(ctx, t, audit.New(ctx, audit.TaskReopened, TargetTask, t.ID).With("assessment", a.ID)); err != nil {
		return nil, err
	}
	return s.store.Task(ctx, assessmentID, taskID)
}

func (s *Service) loadTask(ctx context.Context, assessmentID, taskID string, version int) (*Assessment, *Task, error) {
	a, err := s.store.Assessment(ctx, assessmentID)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.store.Task(ctx, assessmentID, taskID)
	if err != nil {
		return nil, nil, err
	}
	if version != 0 && t.Version != version {
		return nil, nil, errStale
	}
	return a, t, nil
}

// Tasks lists tasks.
func (s *Service) Tasks(ctx context.Context, f TaskFilter) ([]*Task, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentRead); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 500
	}
	return s.store.Tasks(ctx, f)
}

// TaskHistory returns a task's audit events.
func (s *Service) TaskHistory(ctx context.Context, assessmentID, taskID string) ([]audit.Event, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentRead); err != nil {
		return nil, err
	}
	if _, err := s.store.Task(ctx, assessmentID, taskID); err != nil {
		return nil, err
	}
	return s.store.History(ctx, TargetTask, taskID, 200)
}

// RecordExport writes the audit event of an export of what a user saw.
func (s *Service) RecordExport(ctx context.Context, assessmentID, format string) {
	ctx = context.WithoutCancel(ctx)
	if err := s.store.AppendAudit(ctx, audit.New(ctx, audit.DataExported, TargetAssessment, assessmentID).With("format", format)); err != nil {
		s.log.ErrorContext(ctx, "record export", "assessment", assessmentID, "error", err)
	}
}
