package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// WorkbookSchema names the exchange form of an assessment (the XLSX
// workbook and the JSON export).
const WorkbookSchema = "mamori.assessment/v1"

// Workbook is a whole assessment in the form people exchange it: owners
// and reviewers by e-mail address, dates as days, the catalog's reference
// and title beside each answer. Columns marked read-only in the docs are
// written for readers and ignored on import.
type Workbook struct {
	Schema     string             `json:"schema"`
	Assessment WorkbookAssessment `json:"assessment"`
	Items      []WorkbookItem     `json:"items"`
	Evidence   []WorkbookEvidence `json:"evidence"`
	Tasks      []WorkbookTask     `json:"tasks"`

	// Where names the place of a field in the source file for error
	// messages ("Items, row 12, column H"); set by the decoder.
	Where func(sheet string, row int, field string) string `json:"-"`
}

// WorkbookAssessment is the header.
type WorkbookAssessment struct {
	ID          string       `json:"id"`
	Title       string       `json:"title"`
	Catalog     string       `json:"catalog"`
	Profile     Profile      `json:"profile"`
	Scope       []ScopeEntry `json:"scope"`
	Conditions  []string     `json:"conditions"`
	PeriodStart string       `json:"period_start"`
	PeriodEnd   string       `json:"period_end"`
	State       State        `json:"state"`       // read-only
	PreviousID  string       `json:"previous_id"` // read-only
	SignedOffBy string       `json:"signed_off_by"`
	SignedOffAt string       `json:"signed_off_at"` // read-only
}

// WorkbookItem is one item's answer.
type WorkbookItem struct {
	Row           int    `json:"-"`
	Item          string `json:"item"`
	Ref           string `json:"ref"`   // read-only
	Title         string `json:"title"` // read-only (primary language)
	Tier          string `json:"tier"`  // read-only
	InScope       string `json:"in_scope"`
	Status        string `json:"status"`
	TargetDate    string `json:"target_date"`
	Rationale     string `json:"rationale"`
	Owner         string `json:"owner"` // e-mail address
	DueDate       string `json:"due_date"`
	Explanation   string `json:"explanation"`
	Notes         string `json:"notes"`
	AcceptReason  string `json:"accept_reason"`
	AcceptUntil   string `json:"accept_until"`
	AcceptStatus  string `json:"accept_approval"` // read-only
	Excluded      string `json:"excluded"`        // "yes" or ""
	ExcludeReason string `json:"exclude_reason"`
	ExcludeUntil  string `json:"exclude_until"`
	ExcludeStatus string `json:"exclude_approval"` // read-only
	Review        string `json:"review"`           // read-only
	ReviewedBy    string `json:"reviewed_by"`      // read-only
	ReviewNote    string `json:"review_note"`      // read-only
}

// WorkbookEvidence is one piece of evidence.
type WorkbookEvidence struct {
	Row          int    `json:"-"`
	ID           string `json:"id"`
	Item         string `json:"item"`
	Kind         string `json:"kind"`
	Title        string `json:"title"`
	URL          string `json:"url"`
	RecordType   string `json:"record_type"`
	RecordID     string `json:"record_id"`
	SHA256       string `json:"sha256"`
	FileName     string `json:"file_name"`
	Size         string `json:"size"`
	MediaType    string `json:"media_type"`
	EffectiveOn  string `json:"effective_on"`
	ExpiresOn    string `json:"expires_on"`
	NeedsRenewal string `json:"needs_renewal"` // "yes" or ""
	AddedBy      string `json:"added_by"`      // read-only
	AddedAt      string `json:"added_at"`      // read-only
}

// WorkbookTask is one remediation task.
type WorkbookTask struct {
	Row         int    `json:"-"`
	ID          string `json:"id"`
	Item        string `json:"item"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Owner       string `json:"owner"`
	DueDate     string `json:"due_date"`
	State       string `json:"state"`
	DoneBy      string `json:"done_by"` // read-only
	DoneAt      string `json:"done_at"` // read-only
	DoneNote    string `json:"done_note"`
}

// yes is how a true flag is written.
const yes = "yes"

func flag(b bool) string {
	if b {
		return yes
	}
	return ""
}

// TimeLayout is how instants are written in workbooks (UTC).
const TimeLayout = "2006-01-02T15:04:05Z"

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// ToWorkbook turns a snapshot into its exchange form. With mask, e-mail
// addresses (personal data) are replaced by "***".
func (s *Snapshot) ToWorkbook(mask bool) *Workbook {
	email := func(id string) string {
		switch {
		case id == "":
			return ""
		case id == "system":
			return "system"
		case mask:
			return "***"
		}
		if p, ok := s.People[id]; ok {
			return p.Email
		}
		return id
	}
	a := s.Assessment
	wb := &Workbook{Schema: WorkbookSchema, Assessment: WorkbookAssessment{ID: a.ID, Title: a.Title, Catalog: a.CatalogKey,
		Profile: a.Profile, Scope: slices.Clone(a.Scope), Conditions: slices.Clone(a.Conditions), PeriodStart: FormatDate(a.PeriodStart),
		PeriodEnd: FormatDate(a.PeriodEnd), State: a.State, PreviousID: a.PreviousID, SignedOffBy: email(a.SignedOffBy),
		SignedOffAt: stamp(a.SignedOffAt)}, Items: []WorkbookItem{}, Evidence: []WorkbookEvidence{}, Tasks: []WorkbookTask{}}
	if wb.Assessment.Scope == nil {
		wb.Assessment.Scope = []ScopeEntry{}
	}
	if wb.Assessment.Conditions == nil {
		wb.Assessment.Conditions = []string{}
	}
	lang := s.Catalog.PrimaryLanguage()
	rows := s.Rows()
	for _, r := range rows {
		it := r.Item
		in := "yes"
		if !r.Standing.InScope {
			in = "no (" + r.Standing.OutReason + ")"
		}
		wb.Items = append(wb.Items, WorkbookItem{Item: it.NodeID, Ref: r.Ref, Title: r.Node.Title.Get(lang), Tier: string(r.Node.Tier),
			InScope: in, Status: string(it.Status), TargetDate: FormatDate(it.TargetDate), Rationale: it.Rationale, Owner: email(it.OwnerID),
			DueDate: FormatDate(it.DueDate), Explanation: it.Explanation, Notes: it.Notes, AcceptReason: it.AcceptReason,
			AcceptUntil: FormatDate(it.AcceptUntil), AcceptStatus: it.AcceptApproval.Status, Excluded: flag(it.Excluded),
			ExcludeReason: it.ExcludeReason, ExcludeUntil: FormatDate(it.ExcludeUntil), ExcludeStatus: it.ExcludeApproval.Status,
			Review: it.Review, ReviewedBy: email(it.ReviewedBy), ReviewNote: it.ReviewNote})
	}
	for _, r := range rows {
		for _, e := range r.Evidence {
			we := WorkbookEvidence{ID: e.ID, Item: r.Node.ID, Kind: string(e.Kind), Title: e.Title, URL: e.URL, RecordType: e.RecordType,
				RecordID: e.RecordID, EffectiveOn: FormatDate(e.EffectiveOn), ExpiresOn: FormatDate(e.ExpiresOn),
				NeedsRenewal: flag(e.NeedsRenewal), AddedBy: email(e.AddedBy), AddedAt: stamp(e.AddedAt)}
			if e.File != nil {
				we.SHA256, we.FileName, we.Size, we.MediaType = e.File.SHA256, e.File.Name, fmt.Sprint(e.File.Size), e.File.MediaType
			}
			wb.Evidence = append(wb.Evidence, we)
		}
	}
	for _, t := range s.Tasks {
		node := ""
		if it := s.ItemByRow(t.ItemID); it != nil {
			node = it.NodeID
		}
		wb.Tasks = append(wb.Tasks, WorkbookTask{ID: t.ID, Item: node, Title: t.Title, Description: t.Description, Owner: email(t.OwnerID),
			DueDate: FormatDate(t.DueDate), State: t.State, DoneBy: email(t.DoneBy), DoneAt: stamp(t.DoneAt), DoneNote: t.DoneNote})
	}
	return wb
}

// where names a place in the workbook for an error.
func (wb *Workbook) where(sheet string, row int, field string) string {
	if wb.Where != nil {
		return wb.Where(sheet, row, field)
	}
	if row > 0 {
		return fmt.Sprintf("%s, row %d, %s", sheet, row, field)
	}
	return sheet + ", " + field
}

// Sheet names used in import error locations.
const (
	SheetAssessment = "Assessment"
	SheetItems      = "Items"
	SheetEvidence   = "Evidence"
	SheetTasks      = "Tasks"
)

// badDate is the reason for a date that does not parse.
const badDate = "Enter a date as YYYY-MM-DD."

// maxImportProblems caps the problems an import lists.
const maxImportProblems = 200

// ImportOptions tune an import.
type ImportOptions struct {
	// AsNew creates a new assessment even when the workbook's ID exists.
	AsNew bool
}

// ImportResult says what an import did.
type ImportResult struct {
	Assessment      *Assessment `json:"assessment"`
	Created         bool        `json:"created"`
	ItemsChanged    int         `json:"items_changed"`
	EvidenceAdded   int         `json:"evidence_added"`
	TasksCreated    int         `json:"tasks_created"`
	TasksChanged    int         `json:"tasks_changed"`
	NeedingApproval int         `json:"approvals_to_request"` // acceptances and exclusions without an approval
}

// ImportWorkbook applies a workbook all or nothing. If its assessment
// exists (and AsNew is not set), answers, owners, dates, texts and tasks
// are updated and new evidence links are added; otherwise a new
// assessment is created. Nothing is deleted by an import. Approvals cannot
// travel in a file: a changed or new risk acceptance or exclusion is
// recorded without one and must be requested in mamori. Every problem is
// reported with its sheet, row and column, and then nothing is written.
func (s *Service) ImportWorkbook(ctx context.Context, wb *Workbook, opt ImportOptions) (*ImportResult, error) {
	actor, err := mamori.Require(ctx, mamori.PermAssessmentWrite)
	if err != nil {
		return nil, err
	}
	p := &problems{f: mamori.FieldErrors{}}
	add := func(sheet string, row int, field, reason string) { p.add(wb.where(sheet, row, field), "%s", reason) }
	if wb.Schema != WorkbookSchema {
		add(SheetAssessment, 0, "schema", "This is not a mamori assessment workbook.")
		return nil, p.err("The workbook cannot be imported.")
	}
	lib, _, err := s.library(ctx)
	if err != nil {
		return nil, err
	}
	c, err := lib.Catalog(wb.Assessment.Catalog)
	if err != nil || c.Key() != wb.Assessment.Catalog {
		add(SheetAssessment, 0, "catalog", "This catalog is not known here. Import the catalog first.")
		return nil, p.err("The workbook cannot be imported.")
	}
	peopleList, err := s.store.People(ctx)
	if err != nil {
		return nil, err
	}
	byEmail := map[string]Person{}
	for _, pp := range peopleList {
		byEmail[strings.ToLower(pp.Email)] = pp
	}
	person := func(sheet string, row int, field, email string, current string) string {
		email = strings.TrimSpace(email)
		if email == "" {
			return ""
		}
		pp, ok := byEmail[strings.ToLower(email)]
		switch {
		case !ok:
			add(sheet, row, field, "No account has this e-mail address.")
		case !pp.Active && pp.ID != current:
			add(sheet, row, field, "This account is not active.")
		}
		return pp.ID
	}
	now := s.Now()
	res := &ImportResult{}

	// The assessment: existing, or new.
	var a *Assessment
	var existing map[string]*Item
	var existingEvidence map[string]*Evidence
	var existingTasks map[string]*Task
	if !opt.AsNew && wb.Assessment.ID != "" {
		if cur, err := s.store.Assessment(ctx, wb.Assessment.ID); err == nil {
			a = cur
		} else if mamori.ErrorCode(err) != mamori.ENOTFOUND {
			return nil, err
		}
	}
	h := wb.Assessment
	if a != nil {
		if a.CatalogKey != c.Key() {
			add(SheetAssessment, 0, "catalog", "The workbook names another catalog than the assessment's.")
		}
		if a.State == StateSignedOff {
			return nil, errLocked
		}
		items, err := s.store.Items(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		existing = map[string]*Item{}
		for _, it := range items {
			existing[it.NodeID] = it
		}
		evs, err := s.store.Evidence(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		existingEvidence = map[string]*Evidence{}
		for _, e := range evs {
			existingEvidence[e.ID] = e
		}
		tasks, err := s.store.Tasks(ctx, TaskFilter{AssessmentID: a.ID, Limit: 100000})
		if err != nil {
			return nil, err
		}
		existingTasks = map[string]*Task{}
		for _, t := range tasks {
			existingTasks[t.ID] = t
		}
	} else {
		res.Created = true
		id := h.ID
		if opt.AsNew || !mamori.ValidID(id) {
			id = mamori.NewID()
		}
		a = &Assessment{ID: id, CatalogKey: c.Key(), State: StateOpen, CreatedBy: actor.ID(), CreatedAt: now, Version: 1, Revision: 1}
		existing = map[string]*Item{}
		for _, n := range c.Items() {
			existing[n.ID] = &Item{ID: mamori.NewID(), AssessmentID: a.ID, NodeID: n.ID, Status: ItemOpen, UpdatedBy: actor.ID(), UpdatedAt: now, Version: 1}
		}
		existingEvidence, existingTasks = map[string]*Evidence{}, map[string]*Task{}
	}
	head := *a
	head.Title, head.Profile, head.Scope, head.Conditions = h.Title, h.Profile, slices.Clone(h.Scope), slices.Clone(h.Conditions)
	var derr error
	if head.PeriodStart, derr = ParseDate(h.PeriodStart); derr != nil {
		add(SheetAssessment, 0, "period_start", badDate)
	}
	if head.PeriodEnd, derr = ParseDate(h.PeriodEnd); derr != nil {
		add(SheetAssessment, 0, "period_end", badDate)
	}
	if err := head.validate(c); err != nil {
		for k, v := range mamori.ErrorFields(err) {
			add(SheetAssessment, 0, k, v)
		}
	}
	headerChanged := headerChanges(a, &head)

	// Items.
	seen := map[string]int{}
	var changedItems []*Item
	var events []audit.Event
	for _, wi := range wb.Items {
		row := wi.Row
		n, err := c.Node(strings.TrimSpace(wi.Item))
		if err != nil || !n.Assessable() {
			add(SheetItems, row, "item", "This is not an item of the assessment's catalog.")
			continue
		}
		if _, dup := seen[n.ID]; dup {
			add(SheetItems, row, "item", "This item appears on more than one row.")
			continue
		}
		seen[n.ID] = row
		cur := existing[n.ID]
		if cur == nil {
			add(SheetItems, row, "item", "The assessment has no such item.")
			continue
		}
		it := *cur
		f := mamori.FieldErrors{}
		ans := Answer{Status: ItemStatus(strings.TrimSpace(wi.Status)), Rationale: wi.Rationale, Explanation: wi.Explanation, Notes: wi.Notes}
		if ans.Status == "" {
			ans.Status = ItemOpen
		}
		var e1, e2 error
		ans.TargetDate, e1 = ParseDate(wi.TargetDate)
		ans.DueDate, e2 = ParseDate(wi.DueDate)
		if e1 != nil {
			f.Add("target_date", badDate)
		}
		if e2 != nil {
			f.Add("due_date", badDate)
		}
		ans.OwnerID = person(SheetItems, row, "owner", wi.Owner, cur.OwnerID)
		ans.validate(f, "", true)
		acceptUntil, e3 := ParseDate(wi.AcceptUntil)
		if e3 != nil {
			f.Add("accept_until", badDate)
		}
		excludeUntil, e4 := ParseDate(wi.ExcludeUntil)
		if e4 != nil {
			f.Add("exclude_until", badDate)
		}
		excluded := strings.TrimSpace(wi.Excluded)
		if excluded != "" && excluded != yes {
			f.Add("excluded", "Write yes, or leave the cell empty.")
		}
		acceptReason, excludeReason := strings.TrimSpace(wi.AcceptReason), strings.TrimSpace(wi.ExcludeReason)
		checkText(f, "accept_reason", acceptReason, maxText, false)
		checkText(f, "exclude_reason", excludeReason, maxText, false)
		if ans.Status == ItemRiskAccepted {
			if acceptReason == "" {
				f.Add("accept_reason", "State the risk being accepted and why.")
			}
			if acceptUntil.IsZero() {
				f.Add("accept_until", "Give the last day the approval holds.")
			}
		} else if acceptReason != "" || !acceptUntil.IsZero() {
			f.Add("accept_reason", "Only a risk-accepted item has an acceptance.")
		}
		if excluded == yes {
			if head.Profile != ProfileCustom {
				f.Add("excluded", "Items can be excluded only with the custom profile.")
			}
			if excludeReason == "" {
				f.Add("exclude_reason", "Give the rationale for excluding the item.")
			}
			if excludeUntil.IsZero() {
				f.Add("exclude_until", "Give the last day the approval holds.")
			}
		} else if excludeReason != "" || !excludeUntil.IsZero() {
			f.Add("exclude_reason", "Only an excluded item has an exclusion.")
		}
		for _, k := range sortedKeys(f) {
			add(SheetItems, row, k, f[k])
		}
		if len(f) > 0 {
			continue
		}
		changed := it.apply(ans)
		if ans.Status == ItemRiskAccepted {
			if it.AcceptReason != acceptReason || !it.AcceptUntil.Equal(acceptUntil) {
				changed = append(changed, "accept_reason", "accept_until")
				it.AcceptReason, it.AcceptUntil, it.AcceptApproval = acceptReason, acceptUntil, ApprovalRef{}
			}
		} else if it.AcceptReason != "" || it.AcceptApproval.ID != "" {
			it.AcceptReason, it.AcceptUntil, it.AcceptApproval = "", time.Time{}, ApprovalRef{}
		}
		if ex := excluded == yes; ex != it.Excluded || it.ExcludeReason != excludeReason || !it.ExcludeUntil.Equal(excludeUntil) {
			changed = append(changed, "excluded", "exclude_reason", "exclude_until")
			it.Excluded, it.ExcludeReason, it.ExcludeUntil, it.ExcludeApproval = ex, excludeReason, excludeUntil, ApprovalRef{}
		}
		if (it.Status == ItemRiskAccepted && it.AcceptApproval.ID == "") || (it.Excluded && it.ExcludeApproval.ID == "") {
			res.NeedingApproval++
		}
		if len(changed) == 0 {
			continue
		}
		slices.Sort(changed)
		changed = slices.Compact(changed)
		ev := audit.New(ctx, audit.ItemUpdated, TargetItem, it.ID).With("assessment", a.ID).With("item", it.NodeID).Fields(changed...).With("source", "import")
		if it.Review != ReviewNone && slices.ContainsFunc(changed, func(c string) bool { return slices.Contains(resetsReview, c) }) {
			it.Review, it.ReviewedBy, it.ReviewedAt, it.ReviewNote = ReviewNone, "", time.Time{}, ""
			ev = ev.With("review_reset", true)
		}
		it.UpdatedBy, it.UpdatedAt = actor.ID(), now
		changedItems = append(changedItems, &it)
		if !res.Created {
			events = append(events, ev)
		}
	}
	if res.Created {
		// A new assessment gets a row for every item, answered in the file
		// or not.
		answered := map[string]*Item{}
		for _, it := range changedItems {
			answered[it.NodeID] = it
		}
		changedItems = changedItems[:0]
		for _, n := range c.Items() {
			if it := answered[n.ID]; it != nil {
				changedItems = append(changedItems, it)
			} else {
				changedItems = append(changedItems, existing[n.ID])
			}
		}
	}
	res.ItemsChanged = len(events)

	// Evidence: existing rows must be unchanged; other rows are new.
	itemRow := func(node string) string {
		if it := existing[strings.TrimSpace(node)]; it != nil {
			return it.ID
		}
		return ""
	}
	var newEvidence []*Evidence
	for _, we := range wb.Evidence {
		row := we.Row
		rowID := itemRow(we.Item)
		if rowID == "" {
			add(SheetEvidence, row, "item", "This is not an item of the assessment's catalog.")
			continue
		}
		if cur, ok := existingEvidence[strings.TrimSpace(we.ID)]; ok {
			if !sameEvidence(cur, we, existing) {
				add(SheetEvidence, row, "id", "Existing evidence cannot be changed by an import; renew or remove it in mamori.")
			}
			continue
		}
		f := mamori.FieldErrors{}
		in := EvidenceInput{Kind: EvidenceKind(strings.TrimSpace(we.Kind)), Title: we.Title, URL: we.URL, RecordType: we.RecordType, RecordID: we.RecordID}
		var e1, e2 error
		in.EffectiveOn, e1 = ParseDate(we.EffectiveOn)
		in.ExpiresOn, e2 = ParseDate(we.ExpiresOn)
		if e1 != nil {
			f.Add("effective_on", badDate)
		}
		if e2 != nil {
			f.Add("expires_on", badDate)
		}
		in.validate(f, "")
		e := &Evidence{ID: mamori.NewID(), AssessmentID: a.ID, ItemID: rowID, Kind: in.Kind, Title: in.Title, EffectiveOn: in.EffectiveOn,
			ExpiresOn: in.ExpiresOn, NeedsRenewal: strings.TrimSpace(we.NeedsRenewal) == yes, AddedBy: actor.ID(), AddedAt: now}
		switch in.Kind {
		case EvidenceURL:
			e.URL = in.URL
		case EvidenceRecord:
			e.RecordType, e.RecordID = in.RecordType, in.RecordID
		case EvidenceFile:
			sum := strings.ToLower(strings.TrimSpace(we.SHA256))
			ref, err := s.store.FileKnown(ctx, sum)
			switch {
			case mamori.ErrorCode(err) == mamori.ENOTFOUND || sum == "":
				f.Add("sha256", "A workbook cannot carry files: upload this file in mamori first.")
			case err != nil:
				return nil, err
			default:
				e.File = ref
				if strings.TrimSpace(we.FileName) != "" {
					e.File.Name = cleanFileName(we.FileName)
				}
			}
		}
		for _, k := range sortedKeys(f) {
			add(SheetEvidence, row, k, f[k])
		}
		if len(f) > 0 {
			continue
		}
		newEvidence = append(newEvidence, e)
		events = append(events, audit.New(ctx, audit.EvidenceAdded, TargetItem, rowID).With("assessment", a.ID).
			With("evidence", e.ID).With("kind", string(e.Kind)).With("source", "import"))
	}
	res.EvidenceAdded = len(newEvidence)

	// Tasks: existing ones are updated, others created.
	var tasks []*Task
	for _, wt := range wb.Tasks {
		row := wt.Row
		f := mamori.FieldErrors{}
		in := TaskInput{NodeID: strings.TrimSpace(wt.Item), Title: wt.Title, Description: wt.Description}
		var e1 error
		in.DueDate, e1 = ParseDate(wt.DueDate)
		if e1 != nil {
			f.Add("due_date", badDate)
		}
		cur, isOld := existingTasks[strings.TrimSpace(wt.ID)]
		curOwner := ""
		if isOld {
			curOwner = cur.OwnerID
		}
		in.OwnerID = person(SheetTasks, row, "owner", wt.Owner, curOwner)
		in.validate(f, "")
		state := strings.TrimSpace(wt.State)
		if state == "" {
			state = TaskOpen
		}
		if state != TaskOpen && state != TaskDone {
			f.Add("state", "Write open or done.")
		}
		rowID := ""
		if in.NodeID != "" {
			if rowID = itemRow(in.NodeID); rowID == "" {
				f.Add("item", "This is not an item of the assessment's catalog.")
			}
		}
		for _, k := range sortedKeys(f) {
			add(SheetTasks, row, k, f[k])
		}
		if len(f) > 0 {
			continue
		}
		t := &Task{ID: mamori.NewID(), AssessmentID: a.ID, State: TaskOpen, CreatedBy: actor.ID(), CreatedAt: now, Version: 1}
		if isOld {
			cp := *cur
			t = &cp
		}
		var changed []string
		setS := func(name string, dst *string, v string) {
			if *dst != v {
				*dst = v
				changed = append(changed, name)
			}
		}
		setS("title", &t.Title, in.Title)
		setS("description", &t.Description, in.Description)
		setS("owner", &t.OwnerID, in.OwnerID)
		setS("item", &t.ItemID, rowID)
		if !t.DueDate.Equal(in.DueDate) {
			t.DueDate = in.DueDate
			changed = append(changed, "due_date")
		}
		typ := audit.TaskUpdated
		if state != t.State {
			changed = append(changed, "state")
			if state == TaskDone {
				t.State, t.DoneBy, t.DoneAt, t.DoneNote = TaskDone, actor.ID(), now, strings.TrimSpace(wt.DoneNote)
				typ = audit.TaskCompleted
			} else {
				t.State, t.DoneBy, t.DoneAt, t.DoneNote = TaskOpen, "", time.Time{}, ""
				typ = audit.TaskReopened
			}
		} else if state == TaskDone && t.DoneNote != strings.TrimSpace(wt.DoneNote) {
			t.DoneNote = strings.TrimSpace(wt.DoneNote)
			changed = append(changed, "done_note")
		}
		if len(changed) == 0 {
			continue
		}
		t.UpdatedAt = now
		if !isOld {
			typ = audit.TaskCreated
			res.TasksCreated++
		} else {
			res.TasksChanged++
		}
		tasks = append(tasks, t)
		events = append(events, audit.New(ctx, typ, TargetTask, t.ID).With("assessment", a.ID).Fields(changed...).With("source", "import"))
	}
	if err := p.err("The workbook cannot be imported; nothing was changed."); err != nil {
		return nil, err
	}
	a = &head
	a.UpdatedAt = now
	imp := audit.New(ctx, audit.AssessmentImported, TargetAssessment, a.ID).With("created", res.Created).With("items", res.ItemsChanged).
		With("evidence", res.EvidenceAdded).With("tasks_created", res.TasksCreated).With("tasks_changed", res.TasksChanged)
	if !res.Created && len(headerChanged) > 0 {
		imp = imp.With("fields", headerChanged)
	}
	events = append([]audit.Event{imp}, events...)
	if res.Created {
		events = append([]audit.Event{audit.New(ctx, audit.AssessmentCreated, TargetAssessment, a.ID).With("catalog", a.CatalogKey).
			With("profile", string(a.Profile)).With("items", len(changedItems)).With("source", "import")}, events...)
		res.ItemsChanged = 0
		for _, it := range changedItems {
			if it.Status != ItemOpen || it.OwnerID != "" || it.Explanation != "" || it.Notes != "" || it.Excluded {
				res.ItemsChanged++
			}
		}
	} else if len(changedItems) == 0 && len(newEvidence) == 0 && len(tasks) == 0 && len(headerChanged) == 0 {
		res.Assessment = a
		return res, nil
	}
	if err := s.store.ApplyImport(ctx, a, res.Created, changedItems, newEvidence, tasks, events...); err != nil {
		return nil, err
	}
	if res.Assessment, err = s.store.Assessment(ctx, a.ID); err != nil {
		return nil, err
	}
	return res, nil
}

// sameEvidence reports whether a workbook row describes stored evidence
// unchanged (read-only columns aside).
func sameEvidence(e *Evidence, we WorkbookEvidence, items map[string]*Item) bool {
	it := items[strings.TrimSpace(we.Item)]
	if it == nil || it.ID != e.ItemID {
		return false
	}
	same := string(e.Kind) == strings.TrimSpace(we.Kind) && e.Title == strings.TrimSpace(we.Title) && e.URL == strings.TrimSpace(we.URL) &&
		e.RecordType == strings.TrimSpace(we.RecordType) && e.RecordID == strings.TrimSpace(we.RecordID) &&
		FormatDate(e.EffectiveOn) == strings.TrimSpace(we.EffectiveOn) && FormatDate(e.ExpiresOn) == strings.TrimSpace(we.ExpiresOn) &&
		flag(e.NeedsRenewal) == strings.TrimSpace(we.NeedsRenewal)
	if e.File != nil {
		same = same && e.File.SHA256 == strings.ToLower(strings.TrimSpace(we.SHA256))
	}
	return same
}

// MaxWorkbookJSON bounds a JSON assessment export mamori reads.
const MaxWorkbookJSON = 32 << 20

// DecodeWorkbookJSON reads an assessment in its JSON exchange form (what
// the JSON export writes). Unknown keys are refused. Rows are numbered
// from 1 in each list, and errors name them as "items[3].status".
func DecodeWorkbookJSON(data []byte) (*Workbook, error) {
	if len(data) > MaxWorkbookJSON {
		return nil, mamori.Errorf(mamori.ETOOLARGE, "The file is larger than %d MiB.", MaxWorkbookJSON>>20)
	}
	var wb Workbook
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wb); err != nil {
		return nil, jsonError(data, err)
	}
	if dec.More() {
		return nil, mamori.Errorf(mamori.EINVALID, "The file has data after the assessment.")
	}
	if wb.Schema != WorkbookSchema {
		return nil, mamori.Invalid("schema", "This is not a mamori assessment export.")
	}
	for i := range wb.Items {
		wb.Items[i].Row = i + 1
	}
	for i := range wb.Evidence {
		wb.Evidence[i].Row = i + 1
	}
	for i := range wb.Tasks {
		wb.Tasks[i].Row = i + 1
	}
	if wb.Assessment.Scope == nil {
		wb.Assessment.Scope = []ScopeEntry{}
	}
	if wb.Assessment.Conditions == nil {
		wb.Assessment.Conditions = []string{}
	}
	wb.Where = func(sheet string, row int, field string) string {
		switch sheet {
		case SheetItems:
			return fmt.Sprintf("items[%d].%s", row-1, field)
		case SheetEvidence:
			return fmt.Sprintf("evidence[%d].%s", row-1, field)
		case SheetTasks:
			return fmt.Sprintf("tasks[%d].%s", row-1, field)
		}
		return "assessment." + field
	}
	return &wb, nil
}
