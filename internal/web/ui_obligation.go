package web

import (
	"net/http"
	"net/url"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
)

// The compliance calendar: recurring obligations of a catalog with their
// deadlines, owners and last performance.

type obligationsPage struct {
	Cal       *control.Calendar
	Catalogs  []control.CatalogInfo
	People    []control.Person
	Names     names
	CanWrite  bool
	CanManage bool
}

func (s *Server) obligationsData(r *http.Request) (*obligationsPage, error) {
	ctx := r.Context()
	id := r.URL.Query().Get("catalog")
	if id == "" {
		id = r.PathValue("catalog")
	}
	if id == "" {
		id = control.TrackedCatalog
	}
	cal, err := s.svc.Control.Calendar(ctx, id)
	if err != nil {
		return nil, err
	}
	actor := principal(r).Actor
	n, people, err := s.names(ctx, actor)
	if err != nil {
		return nil, err
	}
	pg := &obligationsPage{Cal: cal, Names: n, People: assignees(people, n.mask),
		CanWrite: actor.Can(mamori.PermAssessmentWrite), CanManage: actor.Can(mamori.PermCatalogManage)}
	if actor.Can(mamori.PermCatalogRead) {
		list, err := s.svc.Control.Catalogs(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			if lib, err := s.svc.Control.Catalog(ctx, c.Key); err == nil && len(lib.Obligations()) > 0 {
				pg.Catalogs = append(pg.Catalogs, c)
			}
		}
	}
	return pg, nil
}

func (s *Server) obligations(w http.ResponseWriter, r *http.Request) {
	pg, err := s.obligationsData(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "obligations", "Compliance calendar", pg)
}

// obligationAction runs a change and returns to the calendar.
func (s *Server) obligationAction(act func(r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := act(r); err != nil {
			pg, perr := s.obligationsData(r)
			if perr != nil {
				s.pageFail(w, r, err)
				return
			}
			s.formError(w, r, "obligations", "Compliance calendar", pg, err)
			return
		}
		s.flash(w, "ok", "saved")
		back := "/obligations"
		if c := r.PathValue("catalog"); c != "" {
			back += "?catalog=" + url.QueryEscape(c)
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

func (s *Server) obligationSet(r *http.Request) error {
	return s.svc.Control.SetObligation(r.Context(), r.PathValue("catalog"), r.PathValue("item"), r.PostFormValue("every"), r.PostFormValue("owner"))
}

func (s *Server) obligationDone(r *http.Request) error {
	f := mamori.FieldErrors{}
	on := formDate(f, "done_on", r.PostFormValue("done_on"))
	if err := f.Err(); err != nil {
		return err
	}
	return s.svc.Control.RecordObligationDone(r.Context(), r.PathValue("catalog"), r.PathValue("item"), on, r.PostFormValue("note"))
}

func (s *Server) fiscalYearSet(r *http.Request) error {
	return s.svc.Control.SetFiscalYearStart(r.Context(), r.PostFormValue("fiscal_year_start"))
}
