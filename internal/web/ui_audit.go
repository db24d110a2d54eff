package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// The audit trail for auditors: filter, page, export; the signed checkpoint
// and the key to verify it.

type auditPage struct {
	Records    []*audit.Record
	Total      int
	Since      string
	Until      string
	Actor      string
	Type       string
	TargetType string
	TargetID   string
	Outcome    string
	Offset     int
	Limit      int
	Query      string // the filter as a query string, for paging and export links
	Checkpoint *audit.Checkpoint
	Verifier   string
	Personal   bool // the reader may see actors' addresses
}

// Older is the link to the next page (older events).
func (p auditPage) Older() template.URL { return p.link("/admin/audit", p.Offset+p.Limit) }

// Newer is the link to the previous page.
func (p auditPage) Newer() template.URL { return p.link("/admin/audit", max(p.Offset-p.Limit, 0)) }

// Export is the link to the CSV of every event the filter selects.
func (p auditPage) Export() template.URL { return p.link("/admin/audit/export.csv", -1) }

// link builds a URL from the filter's own encoding (so values are escaped
// once, here, and the template takes it as a URL).
func (p auditPage) link(path string, offset int) template.URL {
	q, _ := url.ParseQuery(p.Query)
	if offset >= 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	if len(q) == 0 {
		return template.URL(path)
	}
	return template.URL(path + "?" + q.Encode())
}

// auditFilter reads the audit filter from a query (page, export and API alike).
func auditFilter(r *http.Request) (audit.Filter, auditPage, error) {
	q := r.URL.Query()
	pg := auditPage{Since: q.Get("since"), Until: q.Get("until"), Actor: q.Get("actor"), Type: q.Get("type"),
		TargetType: q.Get("target_type"), TargetID: q.Get("target_id"), Outcome: q.Get("outcome")}
	pg.Limit, pg.Offset = pagination(r)
	f := audit.Filter{Actor: pg.Actor, Type: pg.Type, TargetType: pg.TargetType, TargetID: pg.TargetID,
		Outcome: audit.Outcome(pg.Outcome), Limit: pg.Limit, Offset: pg.Offset}
	fe := mamori.FieldErrors{}
	var err error
	if f.Since, err = parseDateTime(pg.Since); err != nil {
		fe.Add("since", "Enter a date as YYYY-MM-DD, or a time as YYYY-MM-DDTHH:MM.")
	}
	if f.Until, err = parseDateTime(pg.Until); err != nil {
		fe.Add("until", "Enter a date as YYYY-MM-DD, or a time as YYYY-MM-DDTHH:MM.")
	} else if !f.Until.IsZero() && len(strings.TrimSpace(pg.Until)) == len("2006-01-02") {
		f.Until = f.Until.Add(24 * time.Hour) // a day is inclusive
	}
	keep := url.Values{}
	for _, k := range []string{"since", "until", "actor", "type", "target_type", "target_id", "outcome"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	pg.Query = keep.Encode()
	return f, pg, fe.Err()
}

// parseDateTime reads a day (start of the day in Tokyo) or a local time in
// Tokyo (as a datetime-local input sends it), or an RFC 3339 time.
func parseDateTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, tokyo); err == nil {
			return t, nil
		}
	}
	return time.Parse(time.RFC3339, v)
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) {
	f, pg, err := auditFilter(r)
	pg.Personal = mamori.ActorFrom(r.Context()).Can(mamori.PermPersonalRead)
	if err == nil {
		pg.Records, pg.Total, err = s.svc.Audit.Events(r.Context(), f)
	}
	if err != nil {
		s.formError(w, r, "admin-audit", "Audit trail", pg, err)
		return
	}
	if cp, err := s.svc.Audit.LatestCheckpoint(r.Context()); err == nil {
		pg.Checkpoint = cp
	}
	if sg := s.svc.Audit.Signer(); sg != nil {
		pg.Verifier = sg.VerifierKey()
	}
	s.page(w, r, "admin-audit", "Audit trail", pg)
}

// adminAuditExport streams the filtered events as CSV; the export itself is
// recorded in the trail before the first row is sent.
func (s *Server) adminAuditExport(w http.ResponseWriter, r *http.Request) {
	f, _, err := auditFilter(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	name := fmt.Sprintf("mamori-audit-%s.csv", s.now().In(tokyo).Format("20060102-150405"))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	// A byte-order mark lets spreadsheet software read UTF-8 (Japanese names).
	bw := &lazyWriter{w: w, prefix: []byte("\ufeff")}
	if _, err := s.svc.Audit.ExportCSV(r.Context(), f, bw); err != nil {
		if !bw.started {
			w.Header().Del("Content-Disposition")
			s.pageFail(w, r, err)
			return
		}
		// Rows were sent: cut the response, so that the file is visibly
		// incomplete rather than silently short.
		s.log.ErrorContext(r.Context(), "audit export", "request_id", requestID(r), "error", err)
		panic(http.ErrAbortHandler)
	}
}

// lazyWriter writes its prefix with the first bytes, so a failure before any
// output can still answer with an error page.
type lazyWriter struct {
	w       http.ResponseWriter
	prefix  []byte
	started bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		if _, err := l.w.Write(l.prefix); err != nil {
			return 0, err
		}
	}
	return l.w.Write(p)
}

// adminAuditCheckpoint downloads the latest signed checkpoint, as published.
func (s *Server) adminAuditCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := s.svc.Audit.LatestCheckpoint(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+audit.CheckpointFileName(cp.Size)+`"`)
	_, _ = w.Write([]byte(cp.Note))
}

// adminAuditSign signs a checkpoint of the trail as it is now.
func (s *Server) adminAuditSign(w http.ResponseWriter, r *http.Request) {
	if _, err := s.svc.Audit.SignNow(checkpointCtx(r)); err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.flash(w, "ok", "checkpoint_signed")
	http.Redirect(w, r, "/admin/audit", http.StatusSeeOther)
}

// checkpointCtx lets the request sign even if the client goes away: a
// checkpoint half made is never stored, but one made should be published.
func checkpointCtx(r *http.Request) context.Context { return context.WithoutCancel(r.Context()) }
