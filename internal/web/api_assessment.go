package web

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/sheet"
	"github.com/mamori-dev/mamori/internal/i18n"
)

// The REST API of catalogs, assessments, tasks and obligations. Dates are
// sent as YYYY-MM-DD and returned as midnight UTC of that day.

// apiRespond runs fn and writes its result, or its error.
func (s *Server) apiRespond(w http.ResponseWriter, r *http.Request, status int, fn func() (any, error)) {
	v, err := fn()
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

// apiBody decodes the JSON body into v.
func apiBody[T any](r *http.Request) (T, error) {
	var v T
	err := decodeJSON(r, &v)
	return v, err
}

func apiDate(f mamori.FieldErrors, field, v string) time.Time {
	t, err := control.ParseDate(v)
	if err != nil {
		f.Add(field, "Enter a date as YYYY-MM-DD.")
	}
	return t
}

func (s *Server) apiCatalogs(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) { return s.svc.Control.Catalogs(r.Context()) })
}

func (s *Server) apiCatalog(w http.ResponseWriter, r *http.Request) {
	c, err := s.svc.Control.Catalog(r.Context(), r.PathValue("key"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := control.EncodeJSON(&buf, c); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) apiCatalogImport(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusCreated, func() (any, error) {
		data, err := io.ReadAll(io.LimitReader(r.Body, control.MaxDocumentSize+1))
		if err != nil {
			return nil, decodeErr(err)
		}
		if len(data) > control.MaxDocumentSize {
			return nil, errBodyTooLarge
		}
		q := r.URL.Query()
		return s.importCatalog(r, data, q.Get("file_name"), q.Get)
	})
}

type apiNewAssessment struct {
	Title         string               `json:"title"`
	Catalog       string               `json:"catalog" doc:"framework ID (newest edition) or key, e.g. fsa-csgl"`
	Profile       string               `json:"profile" doc:"basic, basic_desirable or custom"`
	Scope         []control.ScopeEntry `json:"scope"`
	Conditions    []string             `json:"conditions"`
	PeriodStart   string               `json:"period_start"`
	PeriodEnd     string               `json:"period_end"`
	From          string               `json:"from,omitempty" doc:"copy answers and evidence forward from this assessment"`
	RenewEvidence bool                 `json:"renew_evidence,omitempty" doc:"re-date carried evidence instead of flagging it for renewal"`
}

func (s *Server) apiAssessments(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		list, err := s.svc.Control.Assessments(r.Context(), control.AssessmentFilter{State: control.State(r.URL.Query().Get("state")),
			Catalog: r.URL.Query().Get("catalog")})
		if list == nil {
			list = []*control.Assessment{}
		}
		return list, err
	})
}

func (s *Server) apiAssessmentCreate(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusCreated, func() (any, error) {
		in, err := apiBody[apiNewAssessment](r)
		if err != nil {
			return nil, err
		}
		f := mamori.FieldErrors{}
		na := control.NewAssessment{Title: in.Title, Catalog: in.Catalog, Profile: control.Profile(in.Profile), Scope: in.Scope,
			Conditions: in.Conditions, PeriodStart: apiDate(f, "period_start", in.PeriodStart), PeriodEnd: apiDate(f, "period_end", in.PeriodEnd),
			From: in.From, RenewEvidence: in.RenewEvidence}
		if err := f.Err(); err != nil {
			return nil, err
		}
		return s.svc.Control.CreateAssessment(r.Context(), na)
	})
}

type apiAssessmentDetail struct {
	Assessment *control.Assessment `json:"assessment"`
	Progress   *control.Progress   `json:"progress"`
	Gaps       int                 `json:"gaps"`
}

func (s *Server) apiAssessment(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		rep, err := s.svc.Control.Report(r.Context(), r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return apiAssessmentDetail{Assessment: rep.Assessment, Progress: rep.Progress, Gaps: len(rep.Gaps)}, nil
	})
}

type apiAssessmentEdit struct {
	Version     int                  `json:"version"`
	Title       string               `json:"title"`
	Profile     string               `json:"profile"`
	Scope       []control.ScopeEntry `json:"scope"`
	Conditions  []string             `json:"conditions"`
	PeriodStart string               `json:"period_start"`
	PeriodEnd   string               `json:"period_end"`
}

func (s *Server) apiAssessmentUpdate(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		in, err := apiBody[apiAssessmentEdit](r)
		if err != nil {
			return nil, err
		}
		f := mamori.FieldErrors{}
		ed := control.AssessmentEdit{Title: in.Title, Profile: control.Profile(in.Profile), Scope: in.Scope, Conditions: in.Conditions,
			PeriodStart: apiDate(f, "period_start", in.PeriodStart), PeriodEnd: apiDate(f, "period_end", in.PeriodEnd)}
		if err := f.Err(); err != nil {
			return nil, err
		}
		return s.svc.Control.UpdateAssessment(r.Context(), r.PathValue("id"), in.Version, ed)
	})
}

type apiNote struct {
	Note string `json:"note"`
}

// apiStep runs a workflow step that takes an optional note.
func (s *Server) apiStep(step func(r *http.Request, id, note string) (*control.Assessment, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.apiRespond(w, r, http.StatusOK, func() (any, error) {
			var in apiNote
			if r.ContentLength != 0 {
				var err error
				if in, err = apiBody[apiNote](r); err != nil {
					return nil, err
				}
			}
			return step(r, r.PathValue("id"), in.Note)
		})
	}
}

// apiRow is one item of an assessment with its standing.
type apiRow struct {
	Item     *control.Item    `json:"answer"`
	Ref      string           `json:"ref"`
	Title    control.Text     `json:"title"`
	Tier     string           `json:"tier,omitempty"`
	Area     string           `json:"area,omitempty"`
	Standing control.Standing `json:"standing"`
	Evidence int              `json:"evidence"`
}

func toAPIRow(r control.Row) apiRow {
	out := apiRow{Item: r.Item, Ref: r.Ref, Title: r.Node.Title, Tier: string(r.Node.Tier), Standing: r.Standing, Evidence: len(r.Evidence)}
	if r.Area != nil {
		out.Area = r.Area.ID
	}
	return out
}

func (s *Server) apiItems(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		rep, err := s.svc.Control.Report(r.Context(), r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		out := []apiRow{}
		for _, row := range rep.Rows {
			out = append(out, toAPIRow(row))
		}
		return out, nil
	})
}

type apiEvent struct {
	Seq     int64          `json:"seq"`
	At      time.Time      `json:"at"`
	Type    string         `json:"type"`
	Code    string         `json:"code"`
	Summary string         `json:"summary"`
	ActorID string         `json:"actor_id"`
	Details map[string]any `json:"details,omitempty"`
}

func toAPIEvents(lang i18n.Lang, evs []audit.Event) []apiEvent {
	out := []apiEvent{}
	for _, e := range evs {
		ae := apiEvent{Seq: e.Seq, At: e.Time, Type: string(e.Type), Code: e.Code, ActorID: e.ActorID, Details: e.Details}
		if d, ok := audit.Lookup(e.Type); ok {
			ae.Summary = i18n.T(lang, d.Summary)
		}
		out = append(out, ae)
	}
	return out
}

type apiItemDetail struct {
	apiRow
	Text     control.Text             `json:"text"`
	Hints    []control.Text           `json:"evidence_hints"`
	Mappings []control.SourcedMapping `json:"mapped_from"`
	Evidence []*control.Evidence      `json:"evidence_list"`
	Tasks    []*control.Task          `json:"tasks"`
	History  []apiEvent               `json:"history"`
}

func (s *Server) apiItem(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		v, err := s.svc.Control.ItemView(r.Context(), r.PathValue("id"), r.PathValue("item"))
		if err != nil {
			return nil, err
		}
		d := apiItemDetail{apiRow: toAPIRow(v.Row), Text: v.Node.Text, Hints: v.Hints, Mappings: v.Mappings, Evidence: v.Row.Evidence,
			Tasks: v.Row.Tasks, History: toAPIEvents(langOf(r), v.History)}
		if d.Hints == nil {
			d.Hints = []control.Text{}
		}
		if d.Mappings == nil {
			d.Mappings = []control.SourcedMapping{}
		}
		if d.Evidence == nil {
			d.Evidence = []*control.Evidence{}
		}
		if d.Tasks == nil {
			d.Tasks = []*control.Task{}
		}
		return d, nil
	})
}

type apiAnswer struct {
	Version     int    `json:"version" doc:"the item's version you read; 0 skips the check"`
	Status      string `json:"status" doc:"open, implemented, partial, planned, not_implemented, not_applicable"`
	TargetDate  string `json:"target_date,omitempty"`
	Rationale   string `json:"rationale,omitempty"`
	OwnerID     string `json:"owner_id,omitempty"`
	DueDate     string `json:"due_date,omitempty"`
	Explanation string `json:"explanation,omitempty"`
	Notes       string `json:"notes,omitempty"`
}

func (s *Server) apiItemUpdate(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		in, err := apiBody[apiAnswer](r)
		if err != nil {
			return nil, err
		}
		f := mamori.FieldErrors{}
		a := control.Answer{Status: control.ItemStatus(in.Status), TargetDate: apiDate(f, "target_date", in.TargetDate), Rationale: in.Rationale,
			OwnerID: in.OwnerID, DueDate: apiDate(f, "due_date", in.DueDate), Explanation: in.Explanation, Notes: in.Notes}
		if err := f.Err(); err != nil {
			return nil, err
		}
		return s.svc.Control.UpdateItem(r.Context(), r.PathValue("id"), r.PathValue("item"), in.Version, a)
	})
}

type apiApprovalRequest struct {
	Version int    `json:"version"`
	Reason  string `json:"reason"`
	Until   string `json:"until" doc:"the last day the approval holds (YYYY-MM-DD)"`
}

func (s *Server) apiItemApproval(exclusion bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.apiRespond(w, r, http.StatusOK, func() (any, error) {
			in, err := apiBody[apiApprovalRequest](r)
			if err != nil {
				return nil, err
			}
			f := mamori.FieldErrors{}
			until := apiDate(f, "until", in.Until)
			if err := f.Err(); err != nil {
				return nil, err
			}
			if exclusion {
				return s.svc.Control.RequestExclusion(r.Context(), r.PathValue("id"), r.PathValue("item"), in.Version, in.Reason, until)
			}
			return s.svc.Control.RequestRiskAcceptance(r.Context(), r.PathValue("id"), r.PathValue("item"), in.Version, in.Reason, until)
		})
	}
}

type apiVersion struct {
	Version int `json:"version"`
}

func (s *Server) apiItemUnexclude(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		in, err := apiBody[apiVersion](r)
		if err != nil {
			return nil, err
		}
		return s.svc.Control.CancelExclusion(r.Context(), r.PathValue("id"), r.PathValue("item"), in.Version)
	})
}

type apiReview struct {
	Version int    `json:"version"`
	Agree   bool   `json:"agree"`
	Note    string `json:"note"`
}

func (s *Server) apiItemReview(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		in, err := apiBody[apiReview](r)
		if err != nil {
			return nil, err
		}
		return s.svc.Control.ReviewItem(r.Context(), r.PathValue("id"), r.PathValue("item"), in.Version, in.Agree, in.Note)
	})
}

type apiEvidenceLink struct {
	Kind        string `json:"kind" doc:"url or record"`
	Title       string `json:"title"`
	URL         string `json:"url,omitempty"`
	RecordType  string `json:"record_type,omitempty"`
	RecordID    string `json:"record_id,omitempty"`
	EffectiveOn string `json:"effective_on"`
	ExpiresOn   string `json:"expires_on,omitempty"`
}

func (s *Server) apiEvidenceAdd(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusCreated, func() (any, error) {
		in, err := apiBody[apiEvidenceLink](r)
		if err != nil {
			return nil, err
		}
		f := mamori.FieldErrors{}
		ei := control.EvidenceInput{Kind: control.EvidenceKind(in.Kind), Title: in.Title, URL: in.URL, RecordType: in.RecordType, RecordID: in.RecordID,
			EffectiveOn: apiDate(f, "effective_on", in.EffectiveOn), ExpiresOn: apiDate(f, "expires_on", in.ExpiresOn)}
		if err := f.Err(); err != nil {
			return nil, err
		}
		return s.svc.Control.AddEvidence(r.Context(), r.PathValue("id"), r.PathValue("item"), ei)
	})
}

// apiEvidenceUpload takes the file as the raw body; its name, title and
// dates come in the query.
func (s *Server) apiEvidenceUpload(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusCreated, func() (any, error) {
		q := r.URL.Query()
		f := mamori.FieldErrors{}
		ei := control.EvidenceInput{Title: q.Get("title"), EffectiveOn: apiDate(f, "effective_on", q.Get("effective_on")),
			ExpiresOn: apiDate(f, "expires_on", q.Get("expires_on"))}
		if err := f.Err(); err != nil {
			return nil, err
		}
		e, err := s.svc.Control.AddEvidenceFile(r.Context(), r.PathValue("id"), r.PathValue("item"), r.Body, q.Get("name"), r.Header.Get("Content-Type"), ei)
		return e, decodeErr(err)
	})
}

type apiRenewal struct {
	EffectiveOn string `json:"effective_on"`
	ExpiresOn   string `json:"expires_on,omitempty"`
}

func (s *Server) apiEvidenceRenew(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		in, err := apiBody[apiRenewal](r)
		if err != nil {
			return nil, err
		}
		f := mamori.FieldErrors{}
		eff, exp := apiDate(f, "effective_on", in.EffectiveOn), apiDate(f, "expires_on", in.ExpiresOn)
		if err := f.Err(); err != nil {
			return nil, err
		}
		return s.svc.Control.RenewEvidence(r.Context(), r.PathValue("id"), r.PathValue("eid"), eff, exp)
	})
}

func (s *Server) apiEvidenceDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Control.RemoveEvidence(r.Context(), r.PathValue("id"), r.PathValue("eid")); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiProgress(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		rep, err := s.svc.Control.Report(r.Context(), r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return rep.Progress, nil
	})
}

type apiGap struct {
	apiRow
	Due       time.Time `json:"due,omitzero"`
	OpenTasks int       `json:"open_tasks"`
}

func (s *Server) apiGaps(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		rep, err := s.svc.Control.Report(r.Context(), r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		out := []apiGap{}
		for _, g := range rep.Gaps {
			out = append(out, apiGap{apiRow: toAPIRow(g.Row), Due: g.Due, OpenTasks: g.OpenTasks()})
		}
		return out, nil
	})
}

func (s *Server) apiAssessmentHistory(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		evs, err := s.svc.Control.AssessmentHistory(r.Context(), r.PathValue("id"))
		return toAPIEvents(langOf(r), evs), err
	})
}

type apiTaskInput struct {
	Version     int    `json:"version,omitempty"`
	Item        string `json:"item,omitempty" doc:"the catalog item the task remediates"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	OwnerID     string `json:"owner_id,omitempty"`
	DueDate     string `json:"due_date,omitempty"`
}

func (in apiTaskInput) input() (control.TaskInput, error) {
	f := mamori.FieldErrors{}
	ti := control.TaskInput{NodeID: in.Item, Title: in.Title, Description: in.Description, OwnerID: in.OwnerID, DueDate: apiDate(f, "due_date", in.DueDate)}
	return ti, f.Err()
}

func (s *Server) apiTasks(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		q := r.URL.Query()
		if _, err := s.svc.Control.Assessment(r.Context(), r.PathValue("id")); err != nil {
			return nil, err
		}
		list, err := s.svc.Control.Tasks(r.Context(), control.TaskFilter{AssessmentID: r.PathValue("id"), State: q.Get("state"), OwnerID: q.Get("owner_id")})
		if list == nil {
			list = []*control.Task{}
		}
		return list, err
	})
}

func (s *Server) apiTaskCreate(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusCreated, func() (any, error) {
		in, err := apiBody[apiTaskInput](r)
		if err != nil {
			return nil, err
		}
		ti, err := in.input()
		if err != nil {
			return nil, err
		}
		return s.svc.Control.CreateTask(r.Context(), r.PathValue("id"), ti)
	})
}

func (s *Server) apiTaskUpdate(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		in, err := apiBody[apiTaskInput](r)
		if err != nil {
			return nil, err
		}
		ti, err := in.input()
		if err != nil {
			return nil, err
		}
		return s.svc.Control.UpdateTask(r.Context(), r.PathValue("id"), r.PathValue("tid"), in.Version, ti)
	})
}

type apiTaskDone struct {
	Version int    `json:"version"`
	Note    string `json:"note,omitempty"`
}

func (s *Server) apiTaskComplete(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		in, err := apiBody[apiTaskDone](r)
		if err != nil {
			return nil, err
		}
		return s.svc.Control.CompleteTask(r.Context(), r.PathValue("id"), r.PathValue("tid"), in.Version, in.Note)
	})
}

func (s *Server) apiTaskReopen(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		in, err := apiBody[apiVersion](r)
		if err != nil {
			return nil, err
		}
		return s.svc.Control.ReopenTask(r.Context(), r.PathValue("id"), r.PathValue("tid"), in.Version)
	})
}

func (s *Server) apiAssessmentExport(w http.ResponseWriter, r *http.Request) {
	format := strings.ReplaceAll(orDefault(r.URL.Query().Get("format"), "json"), "-", ".")
	lang := langOf(r)
	if l, ok := i18n.Parse(r.URL.Query().Get("lang")); ok {
		lang = l
	}
	data, name, ctype, err := s.exportAssessment(r.Context(), mamori.ActorFrom(r.Context()), r.PathValue("id"), format, lang)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	download(w, name, ctype, data)
}

func (s *Server) apiAssessmentImport(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		data, err := io.ReadAll(io.LimitReader(r.Body, sheet.MaxFileSize+1))
		if err != nil {
			return nil, decodeErr(err)
		}
		if len(data) > sheet.MaxFileSize {
			return nil, errBodyTooLarge
		}
		wb, err := decodeWorkbook(data)
		if err != nil {
			return nil, err
		}
		return s.svc.Control.ImportWorkbook(r.Context(), wb, control.ImportOptions{AsNew: r.URL.Query().Get("as_new") == "true"})
	})
}

type apiObligation struct {
	Item       string    `json:"item"`
	Ref        string    `json:"ref"`
	Title      string    `json:"title"`
	Tier       string    `json:"tier,omitempty"`
	Stated     string    `json:"stated_interval,omitempty"`
	Interval   string    `json:"interval,omitempty"`
	Due        time.Time `json:"due,omitzero"`
	DaysLeft   int       `json:"days_left"`
	Status     string    `json:"status,omitempty" doc:"upcoming, due-soon or overdue; empty while no interval is chosen"`
	OwnerID    string    `json:"owner_id,omitempty"`
	LastDone   time.Time `json:"last_done,omitzero"`
	LastDoneBy string    `json:"last_done_by,omitempty"`
}

type apiCalendar struct {
	Catalog         string          `json:"catalog"`
	FiscalYearStart string          `json:"fiscal_year_start"`
	PeriodStart     time.Time       `json:"period_start"`
	Obligations     []apiObligation `json:"obligations"`
}

func (s *Server) apiObligations(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		cal, err := s.svc.Control.Calendar(r.Context(), orDefault(r.URL.Query().Get("catalog"), control.TrackedCatalog))
		if err != nil {
			return nil, err
		}
		lang := string(langOf(r))
		out := apiCalendar{Catalog: cal.Catalog.Key(), FiscalYearStart: cal.FiscalYearStart, PeriodStart: cal.PeriodStart, Obligations: []apiObligation{}}
		add := func(e control.CalendarEntry, scheduled bool) {
			o := apiObligation{Item: e.ItemID, Ref: cal.Catalog.DisplayRef(e.ItemID), Title: e.Title.Get(lang), Tier: string(e.Tier), Stated: e.Stated.String()}
			if scheduled {
				o.Interval, o.Due, o.DaysLeft, o.Status = e.Interval.String(), e.Due.Due, e.DaysLeft, string(e.Status)
			}
			if e.Record != nil {
				o.OwnerID, o.LastDone, o.LastDoneBy = e.Record.OwnerID, e.Record.LastDone, e.Record.LastDoneBy
			}
			out.Obligations = append(out.Obligations, o)
		}
		for _, e := range cal.Entries {
			add(e, true)
		}
		for _, e := range cal.Undecided {
			add(e, false)
		}
		return out, nil
	})
}

type apiObligationSet struct {
	Every   string `json:"every,omitempty" doc:"ISO 8601 interval like P1Y or P6M; empty keeps the stated one"`
	OwnerID string `json:"owner_id,omitempty"`
}

func (s *Server) apiObligationSet(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		in, err := apiBody[apiObligationSet](r)
		if err != nil {
			return nil, err
		}
		return apiOK{OK: true}, s.svc.Control.SetObligation(r.Context(), r.PathValue("catalog"), r.PathValue("item"), in.Every, in.OwnerID)
	})
}

type apiObligationDone struct {
	DoneOn string `json:"done_on"`
	Note   string `json:"note,omitempty"`
}

type apiOK struct {
	OK bool `json:"ok"`
}

func (s *Server) apiObligationDone(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		in, err := apiBody[apiObligationDone](r)
		if err != nil {
			return nil, err
		}
		f := mamori.FieldErrors{}
		on := apiDate(f, "done_on", in.DoneOn)
		if err := f.Err(); err != nil {
			return nil, err
		}
		return apiOK{OK: true}, s.svc.Control.RecordObligationDone(r.Context(), r.PathValue("catalog"), r.PathValue("item"), on, in.Note)
	})
}

type apiFiscalYear struct {
	FiscalYearStart string `json:"fiscal_year_start" doc:"MM-DD, e.g. 04-01"`
}

func (s *Server) apiFiscalYearSet(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		in, err := apiBody[apiFiscalYear](r)
		if err != nil {
			return nil, err
		}
		return apiOK{OK: true}, s.svc.Control.SetFiscalYearStart(r.Context(), in.FiscalYearStart)
	})
}

func (s *Server) apiPeople(w http.ResponseWriter, r *http.Request) {
	s.apiRespond(w, r, http.StatusOK, func() (any, error) {
		list, err := s.svc.Control.People(r.Context())
		if err != nil {
			return nil, err
		}
		out := assignees(list, !mamori.ActorFrom(r.Context()).Can(mamori.PermPersonalRead))
		if out == nil {
			out = []control.Person{}
		}
		return out, nil
	})
}
