package web

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/pdf"
	"github.com/mamori-dev/mamori/internal/format/sheet"
	"github.com/mamori-dev/mamori/internal/i18n"
)

// Assessments: answers, evidence, review and sign-off, gaps, remediation
// tasks, reports and exports.

// names turns user IDs into names, masked for readers without the right to
// see personal data.
type names struct {
	people map[string]control.Person
	mask   bool
}

func (s *Server) names(ctx context.Context, a *mamori.Actor) (names, []control.Person, error) {
	list, err := s.svc.Control.People(ctx)
	if err != nil {
		return names{}, nil, err
	}
	n := names{people: map[string]control.Person{}, mask: !a.Can(mamori.PermPersonalRead)}
	for _, p := range list {
		n.people[p.ID] = p
	}
	return n, list, nil
}

// Of returns the display name of a user ID.
func (n names) Of(id string) string {
	switch {
	case id == "":
		return ""
	case id == "system":
		return "mamori"
	case n.mask:
		return "***"
	}
	if p, ok := n.people[id]; ok {
		return p.Name()
	}
	return id
}

// assignees are the active people who can be given items and tasks.
func assignees(list []control.Person, mask bool) []control.Person {
	var out []control.Person
	for _, p := range list {
		if !p.Active {
			continue
		}
		perms := auth.PermsOf(p.Roles)
		if !perms[mamori.PermAssessmentWrite] && !perms[mamori.PermAssessmentRead] {
			continue
		}
		if mask {
			p.DisplayName, p.Email = "***", "***"
		}
		out = append(out, p)
	}
	return out
}

type assessmentsPage struct {
	Assessments []*control.Assessment
	Names       names
	Catalogs    map[string]control.Text
}

func (s *Server) assessments(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	list, err := s.svc.Control.Assessments(ctx, control.AssessmentFilter{State: control.State(r.URL.Query().Get("state"))})
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	n, _, err := s.names(ctx, principal(r).Actor)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	lib, err := s.svc.Control.Library(ctx)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	pg := assessmentsPage{Assessments: list, Names: n, Catalogs: map[string]control.Text{}}
	for _, c := range lib.List() {
		pg.Catalogs[c.Key()] = c.Framework.Name
	}
	s.page(w, r, "assessments", "Assessments", pg)
}

type newAssessmentPage struct {
	Catalogs []control.CatalogInfo
	Previous []*control.Assessment
	Profiles []control.Profile
}

func (s *Server) newAssessmentData(r *http.Request) (newAssessmentPage, error) {
	var pg newAssessmentPage
	var err error
	if pg.Catalogs, err = s.svc.Control.Catalogs(r.Context()); err != nil {
		return pg, err
	}
	pg.Previous, err = s.svc.Control.Assessments(r.Context(), control.AssessmentFilter{})
	pg.Profiles = control.Profiles
	return pg, err
}

func (s *Server) assessmentNew(w http.ResponseWriter, r *http.Request) {
	pg, err := s.newAssessmentData(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "assessment-new", "New assessment", pg)
}

// formDate reads a YYYY-MM-DD field, reporting a bad one.
func formDate(f mamori.FieldErrors, field, v string) time.Time {
	t, err := control.ParseDate(v)
	if err != nil {
		f.Add(field, "Enter a date as YYYY-MM-DD.")
	}
	return t
}

func (s *Server) assessmentCreate(w http.ResponseWriter, r *http.Request) {
	f := mamori.FieldErrors{}
	in := control.NewAssessment{Title: r.PostFormValue("title"), Catalog: r.PostFormValue("catalog"),
		Profile: control.Profile(r.PostFormValue("profile")), Scope: control.ParseScope(r.PostFormValue("scope")),
		PeriodStart: formDate(f, "period_start", r.PostFormValue("period_start")), PeriodEnd: formDate(f, "period_end", r.PostFormValue("period_end")),
		From: r.PostFormValue("from"), RenewEvidence: r.PostFormValue("evidence") == "renew"}
	err := f.Err()
	var a *control.Assessment
	if err == nil {
		a, err = s.svc.Control.CreateAssessment(r.Context(), in)
	}
	if err != nil {
		pg, perr := s.newAssessmentData(r)
		if perr != nil {
			s.pageFail(w, r, err)
			return
		}
		s.formError(w, r, "assessment-new", "New assessment", pg, err)
		return
	}
	s.flash(w, "ok", "assessment_created")
	http.Redirect(w, r, "/assessments/"+a.ID, http.StatusSeeOther)
}

// historyEntry is one audit event as a person reads it.
type historyEntry struct {
	At      time.Time
	Who     string
	What    string
	Details string
}

func (s *Server) history(lang i18n.Lang, evs []audit.Event, n names) []historyEntry {
	var out []historyEntry
	for _, e := range evs {
		what := string(e.Type)
		if d, ok := audit.Lookup(e.Type); ok {
			what = i18n.T(lang, d.Summary)
		}
		var parts []string
		if st, ok := e.Details["status"].(map[string]any); ok {
			from, _ := st["from"].(string)
			to, _ := st["to"].(string)
			parts = append(parts, control.StatusLabels[control.ItemStatus(from)].Get(string(lang))+" → "+control.StatusLabels[control.ItemStatus(to)].Get(string(lang)))
		}
		if fs, ok := e.Details["fields"].([]any); ok {
			var names []string
			for _, f := range fs {
				if s, ok := f.(string); ok {
					names = append(names, i18n.T(lang, fieldLabels[s]))
				}
			}
			parts = append(parts, strings.Join(names, ", "))
		}
		for _, k := range []string{"review", "kind", "format", "source"} {
			if v, ok := e.Details[k].(string); ok && v != "" {
				parts = append(parts, i18n.T(lang, v))
			}
		}
		if v, ok := e.Details["review_reset"].(bool); ok && v {
			parts = append(parts, i18n.T(lang, "review reset"))
		}
		out = append(out, historyEntry{At: e.Time, Who: n.Of(e.ActorID), What: what, Details: strings.Join(parts, " · ")})
	}
	return out
}

// fieldLabels name the fields the audit trail records.
var fieldLabels = map[string]string{
	"status": "Status", "target_date": "Target date", "rationale": "Rationale", "owner": "Owner", "due_date": "Due date",
	"explanation": "Explanation", "notes": "Notes", "accept_reason": "Reason for risk acceptance", "accept_until": "Accepted until",
	"excluded": "Excluded", "exclude_reason": "Rationale for exclusion", "exclude_until": "Excluded until", "title": "Title",
	"profile": "Profile", "scope": "Scope", "conditions": "Conditions", "period": "Period", "description": "Description",
	"item": "Item", "state": "State", "every": "Interval", "done_note": "Note",
}

type areaChart struct {
	Row   control.AreaProgress
	Chart template.HTML
}

type assessmentPage struct {
	Rep      *control.Report
	A        *control.Assessment
	Names    names
	Tab      string
	Charts   []areaChart
	History  []historyEntry
	CanWrite bool
	Locked   bool
	Flags    assessmentFlags
}

type assessmentFlags struct {
	Unanswered, Awaiting, Challenged, Unreviewed, Overdue, Expired, Renewal, OpenTasks int
}

func (s *Server) assessmentData(r *http.Request, tab string) (*assessmentPage, error) {
	ctx := r.Context()
	rep, err := s.svc.Control.Report(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	actor := principal(r).Actor
	n, _, err := s.names(ctx, actor)
	if err != nil {
		return nil, err
	}
	pg := &assessmentPage{Rep: rep, A: rep.Assessment, Names: n, Tab: tab, Locked: rep.Assessment.State == control.StateSignedOff}
	pg.CanWrite = actor.Can(mamori.PermAssessmentWrite) && !pg.Locked
	for _, row := range rep.Rows {
		st := row.Standing
		switch {
		case st.InScope && !st.Answered:
			pg.Flags.Unanswered++
		case st.InScope && row.Item.Review == control.ReviewChallenged:
			pg.Flags.Challenged++
		case st.InScope && row.Item.Review == control.ReviewNone:
			pg.Flags.Unreviewed++
		}
		if st.Awaiting {
			pg.Flags.Awaiting++
		}
		if st.Overdue {
			pg.Flags.Overdue++
		}
		if row.EvidenceExpired(rep.Today) {
			pg.Flags.Expired++
		}
		if row.NeedsRenewal() {
			pg.Flags.Renewal++
		}
	}
	for _, t := range rep.Tasks {
		if t.State == control.TaskOpen {
			pg.Flags.OpenTasks++
		}
	}
	return pg, nil
}

func (s *Server) withCharts(lang i18n.Lang, pg *assessmentPage) {
	for _, a := range pg.Rep.Progress.Areas {
		title := strings.TrimSpace(a.Ref + " " + a.Title.Get(string(lang)))
		pg.Charts = append(pg.Charts, areaChart{Row: a, Chart: barChart(lang, title, areaBars(lang, a.ProgressRow))})
	}
}

func (s *Server) assessment(w http.ResponseWriter, r *http.Request) {
	pg, err := s.assessmentData(r, "overview")
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.withCharts(langOf(r), pg)
	evs, err := s.svc.Control.AssessmentHistory(r.Context(), pg.A.ID)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	pg.History = s.history(langOf(r), evs, pg.Names)
	s.page(w, r, "assessment", pg.A.Title, pg)
}

// assessmentStep runs one workflow step and returns to the overview, or
// shows its problems there.
func (s *Server) assessmentStep(flashKey string, step func(r *http.Request, id string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := step(r, id); err != nil {
			pg, perr := s.assessmentData(r, "overview")
			if perr != nil {
				s.pageFail(w, r, err)
				return
			}
			s.withCharts(langOf(r), pg)
			s.formError(w, r, "assessment", pg.A.Title, pg, err)
			return
		}
		s.flash(w, "ok", flashKey)
		http.Redirect(w, r, "/assessments/"+id, http.StatusSeeOther)
	}
}

type editAssessmentPage struct {
	A        *control.Assessment
	Catalog  *control.Catalog
	Profiles []control.Profile
}

func (s *Server) assessmentEditData(r *http.Request) (*editAssessmentPage, error) {
	a, err := s.svc.Control.Assessment(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	c, err := s.svc.Control.Catalog(r.Context(), a.CatalogKey)
	if err != nil {
		return nil, err
	}
	return &editAssessmentPage{A: a, Catalog: c, Profiles: control.Profiles}, nil
}

func (s *Server) assessmentEdit(w http.ResponseWriter, r *http.Request) {
	pg, err := s.assessmentEditData(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "assessment-edit", "Edit assessment", pg)
}

func (s *Server) assessmentUpdate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f := mamori.FieldErrors{}
	in := control.AssessmentEdit{Title: r.PostFormValue("title"), Profile: control.Profile(r.PostFormValue("profile")),
		Scope: control.ParseScope(r.PostFormValue("scope")), Conditions: r.PostForm["conditions"],
		PeriodStart: formDate(f, "period_start", r.PostFormValue("period_start")), PeriodEnd: formDate(f, "period_end", r.PostFormValue("period_end"))}
	err := f.Err()
	if err == nil {
		_, err = s.svc.Control.UpdateAssessment(r.Context(), id, atoiDefault(r.PostFormValue("version"), -1), in)
	}
	if err != nil {
		pg, perr := s.assessmentEditData(r)
		if perr != nil {
			s.pageFail(w, r, err)
			return
		}
		s.formError(w, r, "assessment-edit", "Edit assessment", pg, err)
		return
	}
	s.flash(w, "ok", "saved")
	http.Redirect(w, r, "/assessments/"+id, http.StatusSeeOther)
}

type itemsPage struct {
	*assessmentPage
	Rows    []control.Row
	Status  string
	Area    string
	Owner   string
	Query   string
	Areas   []*control.Node
	People  []control.Person
	Matched int
	Filters []option
}

// option is a choice in a select whose label is translated.
type option struct{ Value, Label string }

var itemFilters = []option{
	{Value: "gap", Label: "Gaps"},
	{Value: "unanswered", Label: "Not answered yet"},
	{Value: "unreviewed", Label: "Not yet agreed by the reviewer"},
	{Value: "awaiting", Label: "Awaiting approval"},
	{Value: "overdue", Label: "Past the due date"},
	{Value: "evidence", Label: "Evidence expired or to renew"},
	{Value: "out", Label: "Out of scope"},
}

func (s *Server) assessmentItems(w http.ResponseWriter, r *http.Request) {
	pg, err := s.assessmentData(r, "items")
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	q := r.URL.Query()
	ip := &itemsPage{assessmentPage: pg, Status: q.Get("status"), Area: q.Get("area"), Owner: q.Get("owner"), Query: strings.TrimSpace(q.Get("q")),
		Areas: pg.Rep.Catalog.Areas(), Filters: itemFilters}
	_, people, err := s.names(r.Context(), principal(r).Actor)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	ip.People = assignees(people, pg.Names.mask)
	lang := string(langOf(r))
	for _, row := range pg.Rep.Rows {
		if !matchRow(row, ip, lang, pg.Rep.Today) {
			continue
		}
		ip.Rows = append(ip.Rows, row)
	}
	ip.Matched = len(ip.Rows)
	s.page(w, r, "assessment-items", pg.A.Title, ip)
}

// matchRow applies the items page's filters.
func matchRow(row control.Row, f *itemsPage, lang string, today time.Time) bool {
	st := row.Standing
	switch f.Status {
	case "":
	case "gap":
		if !st.Gap {
			return false
		}
	case "unanswered":
		if !st.InScope || st.Answered {
			return false
		}
	case "out":
		if st.InScope {
			return false
		}
	case "awaiting":
		if !st.Awaiting {
			return false
		}
	case "unreviewed":
		if !st.InScope || !st.Answered || row.Item.Review == control.ReviewAgreed {
			return false
		}
	case "overdue":
		if !st.Overdue {
			return false
		}
	case "evidence":
		if !row.EvidenceExpired(today) && !row.NeedsRenewal() {
			return false
		}
	default:
		if !st.InScope || string(st.Status) != f.Status {
			return false
		}
	}
	if f.Area != "" && (row.Area == nil || row.Area.ID != f.Area) {
		return false
	}
	if f.Owner != "" && row.Item.OwnerID != f.Owner {
		return false
	}
	if f.Query != "" {
		hay := strings.ToLower(row.Node.ID + " " + row.Ref + " " + row.Node.Title.Get(lang) + " " + row.Node.Text.Get(lang) + " " + row.Item.Explanation)
		if !strings.Contains(hay, strings.ToLower(f.Query)) {
			return false
		}
	}
	return true
}

type itemPage struct {
	*assessmentPage
	V           *control.ItemView
	Lang        string
	People      []control.Person
	Statuses    []control.ItemStatus
	RecordTypes []string
	Tasks       []*control.Task
	History     []historyEntry
	CanReview   bool
	SelfAnswer  bool
	Today       time.Time
	FilesOn     bool
}

func (s *Server) itemData(r *http.Request) (*itemPage, error) {
	ctx := r.Context()
	pg, err := s.assessmentData(r, "items")
	if err != nil {
		return nil, err
	}
	v, err := s.svc.Control.ItemView(ctx, pg.A.ID, r.PathValue("item"))
	if err != nil {
		return nil, err
	}
	actor := principal(r).Actor
	_, people, err := s.names(ctx, actor)
	if err != nil {
		return nil, err
	}
	ip := &itemPage{assessmentPage: pg, V: v, Lang: string(langOf(r)), People: assignees(people, pg.Names.mask),
		Statuses: control.ItemStatuses, RecordTypes: control.RecordTypes(), Tasks: v.Row.Tasks, Today: pg.Rep.Today,
		CanReview: actor.Can(mamori.PermAssessmentReview) && !pg.Locked, SelfAnswer: v.Row.Item.UpdatedBy == actor.UserID,
		FilesOn: s.svc.Control.FilesEnabled()}
	if l := r.URL.Query().Get("lang"); l == "ja" || l == "en" {
		ip.Lang = l
	}
	ip.History = s.history(langOf(r), v.History, pg.Names)
	return ip, nil
}

func (s *Server) assessmentItem(w http.ResponseWriter, r *http.Request) {
	ip, err := s.itemData(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "assessment-item", ip.V.Row.Ref+" "+ip.V.Node.Title.Get(ip.Lang), ip)
}

// itemByRow finds an item by its row ID (the target of its approval
// requests and audit events) and shows its page.
func (s *Server) itemByRow(w http.ResponseWriter, r *http.Request) {
	it, err := s.svc.Control.ItemByRow(r.Context(), r.PathValue("row"))
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/assessments/"+it.AssessmentID+"/items/"+url.PathEscape(it.NodeID), http.StatusSeeOther)
}

// itemAction runs a change to an item and returns to its page, or shows
// the page again with the problems.
func (s *Server) itemAction(flashKey string, act func(r *http.Request, aid, node string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		aid, node := r.PathValue("id"), r.PathValue("item")
		if err := act(r, aid, node); err != nil {
			ip, perr := s.itemData(r)
			if perr != nil {
				s.pageFail(w, r, err)
				return
			}
			s.formError(w, r, "assessment-item", ip.V.Row.Ref+" "+ip.V.Node.Title.Get(ip.Lang), ip, err)
			return
		}
		s.flash(w, "ok", flashKey)
		http.Redirect(w, r, "/assessments/"+aid+"/items/"+url.PathEscape(node), http.StatusSeeOther)
	}
}

func formVersion(r *http.Request) int { return atoiDefault(r.FormValue("version"), -1) }

func (s *Server) itemAnswer(r *http.Request, aid, node string) error {
	f := mamori.FieldErrors{}
	in := control.Answer{Status: control.ItemStatus(r.PostFormValue("status")), TargetDate: formDate(f, "target_date", r.PostFormValue("target_date")),
		Rationale: r.PostFormValue("rationale"), OwnerID: r.PostFormValue("owner"), DueDate: formDate(f, "due_date", r.PostFormValue("due_date")),
		Explanation: r.PostFormValue("explanation"), Notes: r.PostFormValue("notes")}
	if err := f.Err(); err != nil {
		return err
	}
	_, err := s.svc.Control.UpdateItem(r.Context(), aid, node, formVersion(r), in)
	return err
}

func (s *Server) itemAccept(r *http.Request, aid, node string) error {
	f := mamori.FieldErrors{}
	until := formDate(f, "accept_until", r.PostFormValue("accept_until"))
	if err := f.Err(); err != nil {
		return err
	}
	_, err := s.svc.Control.RequestRiskAcceptance(r.Context(), aid, node, formVersion(r), r.PostFormValue("accept_reason"), until)
	return err
}

func (s *Server) itemExclude(r *http.Request, aid, node string) error {
	f := mamori.FieldErrors{}
	until := formDate(f, "exclude_until", r.PostFormValue("exclude_until"))
	if err := f.Err(); err != nil {
		return err
	}
	_, err := s.svc.Control.RequestExclusion(r.Context(), aid, node, formVersion(r), r.PostFormValue("exclude_reason"), until)
	return err
}

func (s *Server) itemUnexclude(r *http.Request, aid, node string) error {
	_, err := s.svc.Control.CancelExclusion(r.Context(), aid, node, formVersion(r))
	return err
}

func (s *Server) itemReview(r *http.Request, aid, node string) error {
	_, err := s.svc.Control.ReviewItem(r.Context(), aid, node, formVersion(r), r.PostFormValue("decision") == "agree", r.PostFormValue("review_note"))
	return err
}

func (s *Server) itemEvidence(r *http.Request, aid, node string) error {
	f := mamori.FieldErrors{}
	in := control.EvidenceInput{Kind: control.EvidenceKind(r.FormValue("kind")), Title: r.FormValue("title"), URL: r.FormValue("url"),
		RecordType: r.FormValue("record_type"), RecordID: r.FormValue("record_id"),
		EffectiveOn: formDate(f, "effective_on", r.FormValue("effective_on")), ExpiresOn: formDate(f, "expires_on", r.FormValue("expires_on"))}
	if err := f.Err(); err != nil {
		return err
	}
	if in.Kind != control.EvidenceFile {
		_, err := s.svc.Control.AddEvidence(r.Context(), aid, node, in)
		return err
	}
	if r.MultipartForm == nil {
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return decodeErr(err)
		}
	}
	file, h, err := r.FormFile("file")
	if err != nil {
		return mamori.Invalid("file", "Choose a file.")
	}
	defer file.Close()
	_, err = s.svc.Control.AddEvidenceFile(r.Context(), aid, node, file, h.Filename, h.Header.Get("Content-Type"), in)
	return decodeErr(err)
}

// evidenceAction runs a change to evidence and returns to its item.
func (s *Server) evidenceAction(flashKey string, act func(r *http.Request, aid, eid string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		aid, eid := r.PathValue("id"), r.PathValue("eid")
		back := "/assessments/" + aid + "/items/" + url.PathEscape(r.PostFormValue("item"))
		if err := act(r, aid, eid); err != nil {
			s.pageFail(w, r, err)
			return
		}
		s.flash(w, "ok", flashKey)
		http.Redirect(w, r, safeNext(back), http.StatusSeeOther)
	}
}

func (s *Server) evidenceRenew(r *http.Request, aid, eid string) error {
	f := mamori.FieldErrors{}
	eff := formDate(f, "effective_on", r.PostFormValue("effective_on"))
	exp := formDate(f, "expires_on", r.PostFormValue("expires_on"))
	if err := f.Err(); err != nil {
		return err
	}
	_, err := s.svc.Control.RenewEvidence(r.Context(), aid, eid, eff, exp)
	return err
}

func (s *Server) evidenceRemove(r *http.Request, aid, eid string) error {
	return s.svc.Control.RemoveEvidence(r.Context(), aid, eid)
}

func (s *Server) evidenceFile(w http.ResponseWriter, r *http.Request) {
	e, rc, err := s.svc.Control.EvidenceFile(r.Context(), r.PathValue("id"), r.PathValue("eid"))
	if err != nil {
		if r.URL.Path != "" && strings.HasPrefix(r.URL.Path, "/api/") {
			s.apiFail(w, r, err)
		} else {
			s.pageFail(w, r, err)
		}
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", e.File.MediaType)
	w.Header().Set("Content-Disposition", contentDisposition(e.File.Name))
	w.Header().Set("Content-Length", strconv.FormatInt(e.File.Size, 10))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.Copy(w, rc)
}

type gapsPage struct {
	*assessmentPage
	Gaps []control.Gap
}

func (s *Server) assessmentGaps(w http.ResponseWriter, r *http.Request) {
	pg, err := s.assessmentData(r, "gaps")
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "assessment-gaps", pg.A.Title, gapsPage{assessmentPage: pg, Gaps: pg.Rep.Gaps})
}

type tasksPage struct {
	*assessmentPage
	Tasks  []*control.Task
	People []control.Person
	Items  []control.Row
	State  string
	Item   string // preselected item for a new task
}

func (s *Server) tasksData(r *http.Request) (*tasksPage, error) {
	pg, err := s.assessmentData(r, "tasks")
	if err != nil {
		return nil, err
	}
	_, people, err := s.names(r.Context(), principal(r).Actor)
	if err != nil {
		return nil, err
	}
	tp := &tasksPage{assessmentPage: pg, People: assignees(people, pg.Names.mask), Items: pg.Rep.Rows, State: r.URL.Query().Get("state"),
		Item: r.URL.Query().Get("item")}
	// Tasks can be added after sign-off: remediation goes on.
	tp.CanWrite = principal(r).Actor.Can(mamori.PermAssessmentWrite)
	for _, t := range pg.Rep.Tasks {
		if tp.State == "" || t.State == tp.State || (tp.State == "overdue" && t.Overdue(pg.Rep.Today)) {
			tp.Tasks = append(tp.Tasks, t)
		}
	}
	return tp, nil
}

func (s *Server) assessmentTasks(w http.ResponseWriter, r *http.Request) {
	tp, err := s.tasksData(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "assessment-tasks", tp.A.Title, tp)
}

func taskInput(r *http.Request) (control.TaskInput, error) {
	f := mamori.FieldErrors{}
	in := control.TaskInput{NodeID: r.PostFormValue("item"), Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		OwnerID: r.PostFormValue("owner"), DueDate: formDate(f, "due_date", r.PostFormValue("due_date"))}
	return in, f.Err()
}

// taskAction runs a change to tasks and returns to the task list.
func (s *Server) taskAction(flashKey string, act func(r *http.Request, aid, tid string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		aid := r.PathValue("id")
		if err := act(r, aid, r.PathValue("tid")); err != nil {
			tp, perr := s.tasksData(r)
			if perr != nil {
				s.pageFail(w, r, err)
				return
			}
			s.formError(w, r, "assessment-tasks", tp.A.Title, tp, err)
			return
		}
		s.flash(w, "ok", flashKey)
		http.Redirect(w, r, "/assessments/"+aid+"/tasks", http.StatusSeeOther)
	}
}

func (s *Server) taskCreate(r *http.Request, aid, _ string) error {
	in, err := taskInput(r)
	if err == nil {
		_, err = s.svc.Control.CreateTask(r.Context(), aid, in)
	}
	return err
}

func (s *Server) taskUpdate(r *http.Request, aid, tid string) error {
	in, err := taskInput(r)
	if err == nil {
		_, err = s.svc.Control.UpdateTask(r.Context(), aid, tid, formVersion(r), in)
	}
	return err
}

func (s *Server) taskComplete(r *http.Request, aid, tid string) error {
	_, err := s.svc.Control.CompleteTask(r.Context(), aid, tid, formVersion(r), r.PostFormValue("note"))
	return err
}

func (s *Server) taskReopen(r *http.Request, aid, tid string) error {
	_, err := s.svc.Control.ReopenTask(r.Context(), aid, tid, formVersion(r))
	return err
}

type reportPage struct {
	*assessmentPage
	Total template.HTML
	Lang  string
}

// assessmentReport is the HTML report: what the PDF holds, printable, with
// its charts drawn on the server as SVG.
func (s *Server) assessmentReport(w http.ResponseWriter, r *http.Request) {
	pg, err := s.assessmentData(r, "report")
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	lang := langOf(r)
	s.withCharts(lang, pg)
	rp := reportPage{assessmentPage: pg, Lang: string(lang)}
	var total []chartBar
	total = append(total, chartBar{Label: i18n.T(lang, "All items"), Tally: pg.Rep.Progress.Total.All})
	for _, t := range pg.Rep.Progress.Total.Tiers {
		total = append(total, chartBar{Label: control.TierLabels[t.Tier].Get(string(lang)), Tally: t.Tally})
	}
	rp.Total = barChart(lang, i18n.T(lang, "Summary"), total)
	s.page(w, r, "assessment-report", pg.A.Title, rp)
}

// exportFormats are the downloads of an assessment.
var exportFormats = []string{"xlsx", "json", "pdf", "checksheet.xlsx", "checksheet.csv"}

// exportAssessment renders an assessment in a format, masking personal
// data for readers without the right to see it.
func (s *Server) exportAssessment(ctx context.Context, a *mamori.Actor, id, format string, lang i18n.Lang) (data []byte, name, ctype string, err error) {
	if !slices.Contains(exportFormats, format) {
		return nil, "", "", mamori.Invalid("format", "Choose xlsx, json, pdf, checksheet.xlsx or checksheet.csv.")
	}
	snap, err := s.svc.Control.Snapshot(ctx, id)
	if err != nil {
		return nil, "", "", err
	}
	mask := !a.Can(mamori.PermPersonalRead)
	base := "assessment-" + snap.Catalog.Framework.ID + "-" + snap.Assessment.PeriodStart.Format("2006") + "-" + id[len(id)-8:]
	var buf bytes.Buffer
	switch format {
	case "xlsx":
		err = sheet.WriteWorkbook(&buf, snap.ToWorkbook(mask), string(lang))
		ctype = xlsxType
	case "json":
		err = writeIndentedJSON(&buf, snap.ToWorkbook(mask))
		ctype = "application/json"
	case "pdf":
		err = pdf.Render(&buf, snap.Report(), string(lang), pdf.Options{Mask: mask})
		ctype = "application/pdf"
	case "checksheet.xlsx":
		err = sheet.WriteCheckSheetXLSX(&buf, snap.Assessment.Title, snap.Report().CheckSheet(string(lang)), string(lang))
		ctype = xlsxType
		base += "-checksheet"
	case "checksheet.csv":
		err = sheet.WriteCheckSheetCSV(&buf, snap.Report().CheckSheet(string(lang)), string(lang))
		ctype = "text/csv; charset=utf-8"
		base += "-checksheet"
	}
	if err != nil {
		return nil, "", "", err
	}
	ext := "." + format
	if i := strings.LastIndexByte(format, '.'); i >= 0 {
		ext = format[i:]
	}
	s.svc.Control.RecordExport(ctx, id, format)
	return buf.Bytes(), base + ext, ctype, nil
}

func (s *Server) assessmentExport(w http.ResponseWriter, r *http.Request) {
	data, name, ctype, err := s.exportAssessment(r.Context(), principal(r).Actor, r.PathValue("id"), r.PathValue("format"), langOf(r))
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	download(w, name, ctype, data)
}

type importPage struct {
	Result *control.ImportResult
	Errors []importProblem
}

type importProblem struct{ Place, Reason string }

// decodeWorkbook reads an uploaded workbook (XLSX) or JSON export.
func decodeWorkbook(data []byte) (*control.Workbook, error) {
	if bytes.HasPrefix(data, []byte("PK")) {
		return sheet.ReadWorkbook(data)
	}
	return control.DecodeWorkbookJSON(data)
}

func (s *Server) assessmentImport(w http.ResponseWriter, r *http.Request) {
	data, _, err := readUpload(r, "file", sheet.MaxFileSize)
	var res *control.ImportResult
	if err == nil {
		var wb *control.Workbook
		if wb, err = decodeWorkbook(data); err == nil {
			res, err = s.svc.Control.ImportWorkbook(r.Context(), wb, control.ImportOptions{AsNew: r.FormValue("as_new") == "on"})
		}
	}
	if err != nil {
		code := mamori.ErrorCode(err)
		if code == mamori.EINTERNAL || code == mamori.EUNAVAILABLE || code == mamori.EFORBIDDEN {
			s.pageFail(w, r, err)
			return
		}
		lang := langOf(r)
		pg := importPage{}
		for k, v := range mamori.ErrorFields(err) {
			pg.Errors = append(pg.Errors, importProblem{Place: k, Reason: i18n.T(lang, v)})
		}
		sort.Slice(pg.Errors, func(i, j int) bool { return naturalLess(pg.Errors[i].Place, pg.Errors[j].Place) })
		v := s.newView(w, r, "Import an assessment", pg)
		v.Message = localize(lang, err)
		s.render(w, r, httpStatus(err), "assessment-import", v)
		return
	}
	s.page(w, r, "assessment-import", "Import an assessment", importPage{Result: res})
}

// naturalLess orders "row 9" before "row 10".
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		ad, bd := a[0] >= '0' && a[0] <= '9', b[0] >= '0' && b[0] <= '9'
		if ad && bd {
			i, j := 0, 0
			for i < len(a) && a[i] >= '0' && a[i] <= '9' {
				i++
			}
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			na, _ := strconv.Atoi(a[:i])
			nb, _ := strconv.Atoi(b[:j])
			if na != nb {
				return na < nb
			}
			a, b = a[i:], b[j:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func (s *Server) stepSubmit(r *http.Request, id string) error {
	_, err := s.svc.Control.Submit(r.Context(), id)
	return err
}

func (s *Server) stepReturn(r *http.Request, id string) error {
	_, err := s.svc.Control.Return(r.Context(), id, r.PostFormValue("note"))
	return err
}

func (s *Server) stepSignOff(r *http.Request, id string) error {
	_, err := s.svc.Control.SignOff(r.Context(), id, r.PostFormValue("note"))
	return err
}

func (s *Server) stepReopen(r *http.Request, id string) error {
	_, err := s.svc.Control.Reopen(r.Context(), id, r.PostFormValue("note"))
	return err
}

// recordLink is the page of a record evidence points to, for the record
// types mamori has pages for ("" otherwise: modules still to come).
func recordLink(kind, id string) string {
	switch kind {
	case "assessment":
		return "/assessments/" + url.PathEscape(id)
	case "assessment_item":
		return "/assessment-items/" + url.PathEscape(id)
	case "catalog":
		return "/catalogs/" + url.PathEscape(id)
	case "approval":
		return "/approvals"
	}
	return ""
}

// statusOptions are the statuses offered in the answer form: risk
// acceptance has its own form (it needs an approval), unless the item is
// already risk-accepted.
func statusOptions(current control.ItemStatus) []control.ItemStatus {
	var out []control.ItemStatus
	for _, s := range control.ItemStatuses {
		if s != control.ItemRiskAccepted || current == control.ItemRiskAccepted {
			out = append(out, s)
		}
	}
	return out
}
