package control

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mamori-dev/mamori"
)

// Profile says which items of a catalog an assessment covers: the
// guideline's risk-based approach lets an institution assess the basic
// measures only, basic and desirable, or a custom selection in which every
// excluded item carries a rationale and an approval.
type Profile string

const (
	ProfileBasic          Profile = "basic"           // basic items only (all items of an untiered catalog)
	ProfileBasicDesirable Profile = "basic_desirable" // every item
	ProfileCustom         Profile = "custom"          // every item except approved exclusions
)

// Profiles lists the profiles in order.
var Profiles = []Profile{ProfileBasic, ProfileBasicDesirable, ProfileCustom}

// State is where an assessment is in its life: answered by the first line,
// reviewed and signed off by the second.
type State string

const (
	StateOpen      State = "open"       // being answered
	StateInReview  State = "in_review"  // submitted for second-line review
	StateSignedOff State = "signed_off" // signed off; answers and evidence are locked
)

// ScopeKind tells what a scope entry names.
type ScopeKind string

const (
	// ScopeOrganisation is the whole institution; it stands alone.
	ScopeOrganisation ScopeKind = "organisation"
	// ScopeSystem names a system of the asset ledger by its ID (Ref).
	ScopeSystem ScopeKind = "system"
	// ScopeText is a free-text description (a business line, a site …).
	ScopeText ScopeKind = "text"
)

// ScopeEntry is one thing an assessment covers.
type ScopeEntry struct {
	Kind  ScopeKind `json:"kind"`
	Ref   string    `json:"ref,omitempty"` // system ID for ScopeSystem
	Label string    `json:"label,omitempty"`
}

// Assessment is a self-assessment of a scope against one edition of a
// catalog.
type Assessment struct {
	ID         string       `json:"id"`
	Title      string       `json:"title"`
	CatalogKey string       `json:"catalog"` // "fsa-csgl@2025-07-04": pinned to the edition
	Profile    Profile      `json:"profile"`
	Scope      []ScopeEntry `json:"scope"`
	// Conditions are the catalog's applicability conditions that hold for
	// the scope (e.g. "fmi"); items that apply only under another
	// condition are out of scope.
	Conditions  []string  `json:"conditions"`
	PeriodStart time.Time `json:"period_start"` // dates (UTC midnight)
	PeriodEnd   time.Time `json:"period_end"`
	State       State     `json:"state"`
	PreviousID  string    `json:"previous_id,omitempty"` // copied forward from
	SubmittedBy string    `json:"submitted_by,omitempty"`
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
	SignedOffBy string    `json:"signed_off_by,omitempty"`
	SignedOffAt time.Time `json:"signed_off_at,omitzero"`
	SignOffNote string    `json:"sign_off_note,omitempty"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Version guards edits of the header; Revision counts every change
	// inside the assessment, so a sign-off cannot pass over an edit made
	// after the reviewer looked.
	Version  int `json:"version"`
	Revision int `json:"revision"`
}

// ItemStatus is the answer to one item.
type ItemStatus string

const (
	ItemOpen           ItemStatus = "open"            // not answered yet
	ItemImplemented    ItemStatus = "implemented"     // 対応済み
	ItemPartial        ItemStatus = "partial"         // 一部対応
	ItemPlanned        ItemStatus = "planned"         // 対応予定 (with a target date)
	ItemNotImplemented ItemStatus = "not_implemented" // 未対応
	ItemNotApplicable  ItemStatus = "not_applicable"  // 該当なし (with a rationale)
	ItemRiskAccepted   ItemStatus = "risk_accepted"   // リスク受容 (approved by someone else, with an expiry)

	// ItemAcceptancePending is derived, never stored: the item says
	// "risk accepted" but no approval is in force (not requested yet,
	// awaiting a decision, rejected, withdrawn or lapsed).
	ItemAcceptancePending ItemStatus = "acceptance_pending"
)

// ItemStatuses lists the statuses an item can be given, in display order.
var ItemStatuses = []ItemStatus{ItemOpen, ItemImplemented, ItemPartial, ItemPlanned, ItemNotImplemented, ItemNotApplicable, ItemRiskAccepted}

// Valid reports whether s can be stored.
func (s ItemStatus) Valid() bool { return slices.Contains(ItemStatuses, s) }

// Review states of an item.
const (
	ReviewNone       = ""           // not reviewed since the last change
	ReviewAgreed     = "agreed"     // the second line agrees with the answer
	ReviewChallenged = "challenged" // the second line disputes it (see the note)
)

// Approval kinds this package requests (auth.Approval.Kind), and the target
// type of their requests.
const (
	ApprovalRiskAcceptance = "assessment.risk_acceptance"
	ApprovalExclusion      = "assessment.exclusion"
	TargetItem             = "assessment_item"
	TargetAssessment       = "assessment"
	TargetTask             = "assessment_task"
	TargetCatalog          = "catalog"
	TargetObligation       = "obligation"
)

// ApprovalRef is the state of the approval request behind a risk
// acceptance or an exclusion, read from the approvals table.
type ApprovalRef struct {
	ID        string    `json:"id,omitempty"`
	Status    string    `json:"status,omitempty"` // pending, approved, rejected, withdrawn, expired
	DecidedBy string    `json:"decided_by,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// InForce reports whether the approval was granted and has not lapsed at
// now.
func (a ApprovalRef) InForce(now time.Time) bool {
	return a.ID != "" && a.Status == "approved" && (a.ExpiresAt.IsZero() || now.Before(a.ExpiresAt))
}

// Awaiting reports whether a decision is pending.
func (a ApprovalRef) Awaiting() bool { return a.ID != "" && a.Status == "pending" }

// Item is the answer to one catalog item within an assessment.
type Item struct {
	ID           string     `json:"id"` // row ID: the audit trail's target
	AssessmentID string     `json:"assessment_id"`
	NodeID       string     `json:"item"` // the catalog item
	Status       ItemStatus `json:"status"`
	TargetDate   time.Time  `json:"target_date,omitzero"` // for planned
	Rationale    string     `json:"rationale,omitempty"`  // for not applicable
	OwnerID      string     `json:"owner_id,omitempty"`
	DueDate      time.Time  `json:"due_date,omitzero"`
	// Explanation is the answer as others read it (reports, check sheets);
	// Notes are the first line's working notes.
	Explanation string `json:"explanation,omitempty"`
	Notes       string `json:"notes,omitempty"`

	AcceptReason   string      `json:"accept_reason,omitempty"`
	AcceptUntil    time.Time   `json:"accept_until,omitzero"`
	AcceptApproval ApprovalRef `json:"accept_approval,omitzero"`

	Excluded        bool        `json:"excluded,omitempty"`
	ExcludeReason   string      `json:"exclude_reason,omitempty"`
	ExcludeUntil    time.Time   `json:"exclude_until,omitzero"`
	ExcludeApproval ApprovalRef `json:"exclude_approval,omitzero"`

	Review     string    `json:"review,omitempty"`
	ReviewedBy string    `json:"reviewed_by,omitempty"`
	ReviewedAt time.Time `json:"reviewed_at,omitzero"`
	ReviewNote string    `json:"review_note,omitempty"`

	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

// EvidenceKind tells what a piece of evidence is.
type EvidenceKind string

const (
	EvidenceFile   EvidenceKind = "file"   // an uploaded file in the file store
	EvidenceRecord EvidenceKind = "record" // a record inside mamori (a system, an incident …)
	EvidenceURL    EvidenceKind = "url"    // a document elsewhere (intranet, document system)
)

// FileRef names a stored file by its content.
type FileRef struct {
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
}

// Evidence supports the answer to an item. It is valid from EffectiveOn
// until ExpiresOn (exclusive; zero: no expiry).
type Evidence struct {
	ID           string       `json:"id"`
	AssessmentID string       `json:"assessment_id"`
	ItemID       string       `json:"item_id"` // the item's row ID
	Kind         EvidenceKind `json:"kind"`
	Title        string       `json:"title"`
	URL          string       `json:"url,omitempty"`
	RecordType   string       `json:"record_type,omitempty"`
	RecordID     string       `json:"record_id,omitempty"`
	File         *FileRef     `json:"file,omitempty"`
	EffectiveOn  time.Time    `json:"effective_on"`
	ExpiresOn    time.Time    `json:"expires_on,omitzero"`
	// NeedsRenewal is set when evidence was carried over from a previous
	// assessment without being confirmed as still current.
	NeedsRenewal bool      `json:"needs_renewal,omitempty"`
	CopiedFrom   string    `json:"copied_from,omitempty"`
	AddedBy      string    `json:"added_by"`
	AddedAt      time.Time `json:"added_at"`
}

// Expired reports whether the evidence has lapsed on day today.
func (e *Evidence) Expired(today time.Time) bool {
	return !e.ExpiresOn.IsZero() && !today.Before(e.ExpiresOn)
}

// Task states.
const (
	TaskOpen = "open"
	TaskDone = "done"
)

// Task is a remediation task: the work that closes a gap.
type Task struct {
	ID           string    `json:"id"`
	AssessmentID string    `json:"assessment_id"`
	ItemID       string    `json:"item_id,omitempty"` // the item's row ID; empty for assessment-wide work
	NodeID       string    `json:"item,omitempty"`    // its catalog item (read-only, filled on load)
	Title        string    `json:"title"`
	Description  string    `json:"description,omitempty"`
	OwnerID      string    `json:"owner_id,omitempty"`
	DueDate      time.Time `json:"due_date,omitzero"`
	State        string    `json:"state"`
	DoneBy       string    `json:"done_by,omitempty"`
	DoneAt       time.Time `json:"done_at,omitzero"`
	DoneNote     string    `json:"done_note,omitempty"`
	RemindedAt   time.Time `json:"-"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	Version      int       `json:"version"`
}

// Overdue reports whether an open task has passed its due date on day today.
func (t *Task) Overdue(today time.Time) bool {
	return t.State == TaskOpen && !t.DueDate.IsZero() && today.After(t.DueDate)
}

// Person is someone items and tasks can be assigned to.
type Person struct {
	ID          string   `json:"id"`
	Email       string   `json:"email"`
	DisplayName string   `json:"display_name"`
	Roles       []string `json:"roles,omitempty"`
	Active      bool     `json:"active"`
}

// Name is the display name, or the address.
func (p Person) Name() string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	return p.Email
}

// Limits on free text.
const (
	maxTitle = 200
	maxText  = 10000
	maxLine  = 500
	maxScope = 200
)

// tokyo is the time zone days are counted in: Japan has no daylight saving.
var tokyo = time.FixedZone("JST", 9*3600)

// Today returns the calendar day of t in Japan, at UTC midnight, the form
// every date in this package takes.
func Today(t time.Time) time.Time { return dateOf(t.In(tokyo)) }

// ParseDate reads YYYY-MM-DD; the empty string is the zero time.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date like 2026-03-31", s)
	}
	return t, nil
}

// FormatDate writes YYYY-MM-DD, or "" for the zero time.
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// checkText validates free text: valid UTF-8, a length limit and, for one
// line, no line breaks.
func checkText(f mamori.FieldErrors, field, s string, limit int, oneLine bool) {
	switch {
	case !utf8.ValidString(s):
		f.Add(field, "The text is not valid UTF-8.")
	case utf8.RuneCountInString(s) > limit:
		f.Add(field, "The text is too long.")
	case oneLine && strings.ContainsAny(s, "\r\n"):
		f.Add(field, "Use a single line.")
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\r' && r != '\t' }):
		f.Add(field, "The text holds control characters.")
	}
}

// validateHeader checks what a person enters for an assessment against its
// catalog.
func (a *Assessment) validate(c *Catalog) error {
	f := mamori.FieldErrors{}
	a.Title = strings.TrimSpace(a.Title)
	if a.Title == "" {
		f.Add("title", "Give the assessment a title.")
	}
	checkText(f, "title", a.Title, maxTitle, true)
	if !slices.Contains(Profiles, a.Profile) {
		f.Add("profile", "Choose basic, basic and desirable, or custom.")
	}
	if len(a.Scope) == 0 {
		f.Add("scope", "Say what the assessment covers: the whole organisation, or systems and other parts.")
	}
	if len(a.Scope) > maxScope {
		f.Add("scope", "List at most 200 scope entries.")
	}
	seen := map[string]bool{}
	for i, e := range a.Scope {
		field := fmt.Sprintf("scope[%d]", i)
		e.Label = strings.TrimSpace(e.Label)
		e.Ref = strings.TrimSpace(e.Ref)
		switch e.Kind {
		case ScopeOrganisation:
			if len(a.Scope) > 1 {
				f.Add(field, "The whole organisation cannot be combined with other scope entries.")
			}
		case ScopeSystem:
			if !mamori.ValidID(e.Ref) {
				f.Add(field, "A system is named by its ID in the asset ledger.")
			}
		case ScopeText:
			if e.Label == "" {
				f.Add(field, "Describe the scope entry.")
			}
		default:
			f.Add(field, "Unknown kind of scope entry.")
		}
		checkText(f, field, e.Label, maxLine, true)
		key := string(e.Kind) + "\x00" + e.Ref + "\x00" + e.Label
		if seen[key] {
			f.Add(field, "This scope entry is listed twice.")
		}
		seen[key] = true
		a.Scope[i] = e
	}
	known := map[string]bool{}
	for _, k := range c.Conditions {
		known[k.ID] = true
	}
	slices.Sort(a.Conditions)
	a.Conditions = slices.Compact(a.Conditions)
	for _, k := range a.Conditions {
		if !known[k] {
			f.Add("conditions", "The catalog has no such condition.")
		}
	}
	if a.Conditions == nil {
		a.Conditions = []string{}
	}
	if a.PeriodStart.IsZero() {
		f.Add("period_start", "Give the first day of the period assessed.")
	}
	if a.PeriodEnd.IsZero() {
		f.Add("period_end", "Give the last day of the period assessed.")
	} else if !a.PeriodStart.IsZero() && a.PeriodEnd.Before(a.PeriodStart) {
		f.Add("period_end", "The period ends before it starts.")
	}
	return f.Err()
}

// ParseScope reads scope entries from lines of text: "organisation" (or
// 組織全体) alone, "system:<ID>[ label]" for a system of the ledger, and any
// other line as a free-text entry.
func ParseScope(text string) []ScopeEntry {
	var out []ScopeEntry
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		switch {
		case strings.EqualFold(line, "organisation"), strings.EqualFold(line, "organization"), line == "組織全体":
			out = append(out, ScopeEntry{Kind: ScopeOrganisation})
		case strings.HasPrefix(line, "system:"):
			id, label, _ := strings.Cut(strings.TrimPrefix(line, "system:"), " ")
			out = append(out, ScopeEntry{Kind: ScopeSystem, Ref: strings.TrimSpace(id), Label: strings.TrimSpace(label)})
		default:
			out = append(out, ScopeEntry{Kind: ScopeText, Label: line})
		}
	}
	return out
}

// FormatScope writes scope entries in the form ParseScope reads.
func FormatScope(s []ScopeEntry) string {
	var lines []string
	for _, e := range s {
		switch e.Kind {
		case ScopeOrganisation:
			lines = append(lines, "organisation")
		case ScopeSystem:
			lines = append(lines, strings.TrimSpace("system:"+e.Ref+" "+e.Label))
		default:
			lines = append(lines, e.Label)
		}
	}
	return strings.Join(lines, "\n")
}

// Answer is what the first line enters for an item.
type Answer struct {
	Status      ItemStatus
	TargetDate  time.Time
	Rationale   string
	OwnerID     string
	DueDate     time.Time
	Explanation string
	Notes       string
}

// AnswerOf returns the item's current answer.
func (it *Item) AnswerOf() Answer {
	return Answer{Status: it.Status, TargetDate: it.TargetDate, Rationale: it.Rationale, OwnerID: it.OwnerID,
		DueDate: it.DueDate, Explanation: it.Explanation, Notes: it.Notes}
}

// validate checks an answer on its own. Risk acceptance is set through its
// own request (it needs an approval), never as a plain answer.
func (in *Answer) validate(f mamori.FieldErrors, prefix string, allowAccepted bool) {
	in.Rationale = strings.TrimSpace(in.Rationale)
	in.Explanation = strings.TrimSpace(in.Explanation)
	in.Notes = strings.TrimSpace(in.Notes)
	in.OwnerID = strings.TrimSpace(in.OwnerID)
	switch {
	case !in.Status.Valid():
		f.Add(prefix+"status", "Choose a status.")
	case in.Status == ItemRiskAccepted && !allowAccepted:
		f.Add(prefix+"status", "Risk acceptance needs an approval: request it with a reason and an expiry date.")
	case in.Status == ItemPlanned && in.TargetDate.IsZero():
		f.Add(prefix+"target_date", "Give the date by which the item will be implemented.")
	case in.Status == ItemNotApplicable && in.Rationale == "":
		f.Add(prefix+"rationale", "Say why the item does not apply.")
	}
	if in.Status != ItemPlanned && !in.TargetDate.IsZero() {
		f.Add(prefix+"target_date", "A target date belongs to planned items only.")
	}
	if in.OwnerID != "" && !mamori.ValidID(in.OwnerID) {
		f.Add(prefix+"owner", "Choose a person.")
	}
	checkText(f, prefix+"rationale", in.Rationale, maxText, false)
	checkText(f, prefix+"explanation", in.Explanation, maxText, false)
	checkText(f, prefix+"notes", in.Notes, maxText, false)
}

// apply writes the answer into the item and returns the names of the fields
// that changed.
func (it *Item) apply(in Answer) []string {
	var changed []string
	set := func(name string, differ bool) {
		if differ {
			changed = append(changed, name)
		}
	}
	set("status", it.Status != in.Status)
	set("target_date", !it.TargetDate.Equal(in.TargetDate))
	set("rationale", it.Rationale != in.Rationale)
	set("owner", it.OwnerID != in.OwnerID)
	set("due_date", !it.DueDate.Equal(in.DueDate))
	set("explanation", it.Explanation != in.Explanation)
	set("notes", it.Notes != in.Notes)
	it.Status, it.TargetDate, it.Rationale, it.OwnerID = in.Status, in.TargetDate, in.Rationale, in.OwnerID
	it.DueDate, it.Explanation, it.Notes = in.DueDate, in.Explanation, in.Notes
	return changed
}

// EvidenceInput is what a person enters for a piece of evidence.
type EvidenceInput struct {
	Kind        EvidenceKind
	Title       string
	URL         string
	RecordType  string
	RecordID    string
	EffectiveOn time.Time
	ExpiresOn   time.Time
}

// recordTypes are the kinds of mamori records evidence may link to; the
// asset, vulnerability and incident modules add theirs as they arrive.
var recordTypes = []string{"assessment", "assessment_item", "assessment_task", "approval", "catalog", "system", "asset",
	"sbom", "vulnerability", "finding", "incident", "third_party", "report", "access_review"}

// recordIDPattern accepts UUIDs and catalog-style IDs.
var recordIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$`)

// RecordTypes lists the record types evidence can link to.
func RecordTypes() []string { return slices.Clone(recordTypes) }

func (in *EvidenceInput) validate(f mamori.FieldErrors, prefix string) {
	in.Title = strings.TrimSpace(in.Title)
	in.URL = strings.TrimSpace(in.URL)
	in.RecordType = strings.TrimSpace(in.RecordType)
	in.RecordID = strings.TrimSpace(in.RecordID)
	switch in.Kind {
	case EvidenceURL:
		u, err := url.Parse(in.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			f.Add(prefix+"url", "Give an http or https address.")
		}
		checkText(f, prefix+"url", in.URL, 2000, true)
	case EvidenceRecord:
		if !slices.Contains(recordTypes, in.RecordType) {
			f.Add(prefix+"record_type", "Choose the kind of record.")
		}
		if !recordIDPattern.MatchString(in.RecordID) {
			f.Add(prefix+"record_id", "Give the record's ID.")
		}
	case EvidenceFile:
	default:
		f.Add(prefix+"kind", "Evidence is a file, a record in mamori or a web address.")
	}
	if in.Title == "" && in.Kind != EvidenceFile {
		f.Add(prefix+"title", "Describe the evidence.")
	}
	checkText(f, prefix+"title", in.Title, maxLine, true)
	if in.EffectiveOn.IsZero() {
		f.Add(prefix+"effective_on", "Give the date from which the evidence is valid.")
	}
	if !in.ExpiresOn.IsZero() && !in.ExpiresOn.After(in.EffectiveOn) {
		f.Add(prefix+"expires_on", "The expiry must come after the effective date.")
	}
}

// TaskInput is what a person enters for a remediation task.
type TaskInput struct {
	NodeID      string // the catalog item the task remediates; empty for assessment-wide work
	Title       string
	Description string
	OwnerID     string
	DueDate     time.Time
}

func (in *TaskInput) validate(f mamori.FieldErrors, prefix string) {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	in.OwnerID = strings.TrimSpace(in.OwnerID)
	if in.Title == "" {
		f.Add(prefix+"title", "Give the task a title.")
	}
	checkText(f, prefix+"title", in.Title, maxTitle, true)
	checkText(f, prefix+"description", in.Description, maxText, false)
	if in.OwnerID != "" && !mamori.ValidID(in.OwnerID) {
		f.Add(prefix+"owner", "Choose a person.")
	}
}
