package web

import (
	"net/http"

	"github.com/mamori-dev/mamori/internal/backup"
)

// Backups and restore drills: the evidence that backups are made in two
// places, kept, and really restore.

type backupsPage struct {
	Settings backup.Settings
	Drills   []*backup.Drill
}

func (s *Server) adminBackups(w http.ResponseWriter, r *http.Request) {
	var pg backupsPage
	var err error
	if pg.Settings, err = s.svc.Backup.Settings(r.Context()); err == nil {
		pg.Drills, err = s.svc.Backup.Drills(r.Context(), 100)
	}
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "admin-backups", "Backups and restore drills", pg)
}

func (s *Server) adminBackupRun(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Backup.RunNow(r.Context()); err != nil {
		st, _ := s.svc.Backup.Settings(r.Context())
		drills, _ := s.svc.Backup.Drills(r.Context(), 100)
		s.formError(w, r, "admin-backups", "Backups and restore drills", backupsPage{Settings: st, Drills: drills}, err)
		return
	}
	s.flash(w, "ok", "backup_started")
	http.Redirect(w, r, "/admin/backups", http.StatusSeeOther)
}
