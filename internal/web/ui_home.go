package web

import (
	"net/http"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/control"
)

type dashboardPage struct {
	LastSignIn    *auth.SignInEvent // the previous successful sign-in, to spot one that was not yours
	LastFailures  int
	Notifications []*auth.Notification
	Pending       []*auth.Approval
	Modules       []moduleInfo
	Control       *control.Dashboard
	Names         names
}

type moduleInfo struct {
	Href, Title, Summary string
	Perm                 mamori.Permission
}

// modules introduces each capability on the dashboard and on its own page
// while it has no data yet.
var modules = []moduleInfo{
	{"/assessments", "Assessments", "Self-assess against the FSA cybersecurity guideline and other catalogs, with evidence, owners, deadlines and second-line sign-off.", mamori.PermAssessmentRead},
	{"/assets", "Assets", "Ledgers of systems, hardware and software, data and connections, with SBOMs and support end dates.", mamori.PermAssetRead},
	{"/vulnerabilities", "Vulnerabilities", "Advisories matched to SBOMs and ledgers, deadlines by severity and system importance, exceptions approved by management.", mamori.PermVulnRead},
	{"/detection", "Detection", "Brute force, credential stuffing, password spraying and decoy accounts detected on sign-in systems.", mamori.PermDetectRead},
	{"/incidents", "Incidents", "Incidents from detection to post-incident review, reports to regulators and TTP sharing.", mamori.PermIncidentRead},
	{"/third-parties", "Third parties", "Third-party ledger, contract clauses, questionnaires and termination.", mamori.PermThirdPartyRead},
	{"/reports", "Reports", "KPI and KRI reports to management, at least twice a year, with charts and PDFs.", mamori.PermReportRead},
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principal(r)
	pg := dashboardPage{}
	hist, err := s.svc.Auth.LastSignIns(ctx, 20)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	successes := 0
	for _, e := range hist {
		if e.Outcome == auth.OutcomeSuccess && e.Action == auth.ActionLogin {
			successes++
			if successes == 2 {
				pg.LastSignIn = e
				break
			}
		} else if e.Outcome == auth.OutcomeFailure && successes <= 1 {
			pg.LastFailures++
		}
	}
	if pg.Notifications, err = s.svc.Auth.MyNotifications(ctx, 5); err != nil {
		s.pageFail(w, r, err)
		return
	}
	if p.Actor.Can(mamori.PermRiskApprove) {
		pending, err := s.svc.Auth.Approvals(ctx, auth.ApprovalFilter{Status: auth.ApprovalPending, Limit: 10})
		if err != nil {
			s.pageFail(w, r, err)
			return
		}
		for _, a := range pending {
			if a.RequestedBy != p.User.ID && p.Actor.Can(a.RequiredPerm) {
				pg.Pending = append(pg.Pending, a)
			}
		}
	}
	if p.Actor.Can(mamori.PermAssessmentRead) {
		if pg.Control, err = s.svc.Control.Dashboard(ctx); err != nil {
			s.pageFail(w, r, err)
			return
		}
		if pg.Names, _, err = s.names(ctx, p.Actor); err != nil {
			s.pageFail(w, r, err)
			return
		}
	}
	for _, m := range modules {
		if p.Actor.Can(m.Perm) {
			pg.Modules = append(pg.Modules, m)
		}
	}
	s.page(w, r, "dashboard", "Dashboard", pg)
}

// modulePage introduces a capability whose screens are not built yet.
func (s *Server) modulePage(m moduleInfo) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.page(w, r, "module", m.Title, m)
	}
}

func moduleByHref(href string) moduleInfo {
	for _, m := range modules {
		if m.Href == href {
			return m
		}
	}
	panic("web: unknown module " + href)
}

type aboutPage struct {
	Version string
}

func (s *Server) about(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, "about", "About mamori", aboutPage{Version: s.version})
}
