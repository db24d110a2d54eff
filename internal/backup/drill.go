package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// Drill is the record of one backup run: made, copied, verified and
// test-restored, with timings. It is the evidence for the guideline's
// backup items (backups kept in two places, restore drills).
type Drill struct {
	ID            string
	Kind          string // scheduled or manual
	StartedAt     time.Time
	FinishedAt    time.Time
	FileName      string
	Locations     []string
	Size          int64
	SHA256        string
	AuditEvents   int64
	CreateMS      int64
	VerifyMS      int64
	RestoreMS     int64
	Verified      bool
	Restored      bool
	AuditVerified bool
	Outcome       string // success or failure
	Error         string
}

// Drill kinds and outcomes.
const (
	Scheduled = "scheduled"
	Manual    = "manual"
	Success   = "success"
	Failure   = "failure"
)

// DrillStore keeps the drill records.
type DrillStore interface {
	// AddDrill records a drill and its audit event in one transaction.
	AddDrill(ctx context.Context, d *Drill, ev audit.Event) error
	Drills(ctx context.Context, limit int) ([]*Drill, error)
	LatestDrill(ctx context.Context, kind string) (*Drill, error)
	AppendAudit(ctx context.Context, evs ...audit.Event) error
}

// RestoreCheck is the result of a test restore.
type RestoreCheck struct {
	AuditVerified bool
	OK            bool   // the audit trail, every encrypted value and every file verified
	Summary       string // one line, for the record
}

// TestRestorer restores a backup file into a temporary place, verifies the
// restored store and removes it.
type TestRestorer func(ctx context.Context, file string) (*RestoreCheck, error)

// Scheduler makes the scheduled backups: to one or two directories, each
// copy verified, then a test restore; older backups beyond the retention
// are removed.
type Scheduler struct {
	Source      Source
	Store       DrillStore
	Create      CreateOptions
	Verify      VerifyOptions
	Dirs        []string
	Retention   int
	Interval    time.Duration
	TestRestore TestRestorer
	Log         *slog.Logger
	Now         mamori.Clock

	mu      sync.Mutex
	running bool
}

// FilePrefix and FileSuffix frame the names of scheduled backups, so that
// retention never touches other files in the directories.
const (
	FilePrefix = "mamori-"
	FileSuffix = ".backup"
)

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Run makes a backup whenever one is due (interval after the last
// scheduled one, an hour after a failed one, at once if there is none)
// until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	for {
		wait := time.Duration(0)
		if last, err := s.Store.LatestDrill(ctx, Scheduled); err == nil {
			next := s.Interval
			if last.Outcome != Success {
				next = min(next, time.Hour) // a failed backup is retried sooner
			}
			wait = time.Until(last.StartedAt.Add(next))
		} else if mamori.ErrorCode(err) != mamori.ENOTFOUND {
			s.log().Error("scheduled backup", "error", err)
			wait = time.Minute
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		if _, err := s.RunOnce(ctx, Scheduled); err != nil && ctx.Err() == nil {
			s.log().Error("scheduled backup", "error", err)
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// ErrRunning says a backup is being made already.
var ErrRunning = mamori.Errorf(mamori.ECONFLICT, "A backup is being made already.")

// RunOnce makes one backup with its drill and records it. A failure is
// recorded too (and returned).
func (s *Scheduler) RunOnce(ctx context.Context, kind string) (*Drill, error) {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return nil, ErrRunning
	}
	s.running = true
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.running = false; s.mu.Unlock() }()

	sys := mamori.WithActor(context.WithoutCancel(ctx), mamori.SystemActor())
	d := &Drill{ID: mamori.NewID(), Kind: kind, StartedAt: s.now()}
	runErr := s.drill(ctx, d)
	d.FinishedAt = s.now()
	d.Outcome = Success
	ev := audit.New(sys, audit.BackupDrillPassed, "backup", d.FileName).With("drill", d.ID).With("size", d.Size).
		With("restore_ms", d.RestoreMS)
	if runErr != nil {
		d.Outcome, d.Error = Failure, runErr.Error()
		ev = audit.New(sys, audit.BackupDrillFailed, "backup", d.FileName).With("drill", d.ID).WithOutcome(audit.Failure)
	}
	if err := s.Store.AddDrill(sys, d, ev); err != nil {
		return d, errors.Join(runErr, fmt.Errorf("record the restore drill: %w", err))
	}
	if runErr == nil {
		s.log().Info("backup made and test-restored", "file", d.FileName, "bytes", d.Size, "create_ms", d.CreateMS,
			"verify_ms", d.VerifyMS, "restore_ms", d.RestoreMS)
	}
	return d, runErr
}

func (s *Scheduler) drill(ctx context.Context, d *Drill) error {
	if len(s.Dirs) == 0 {
		return errors.New("no backup directory is configured (backup.dirs)")
	}
	sys := mamori.WithActor(context.WithoutCancel(ctx), mamori.SystemActor())
	d.FileName = FilePrefix + d.StartedAt.Format("20060102T150405Z") + FileSuffix
	primary := filepath.Join(s.Dirs[0], d.FileName)
	t0 := time.Now()
	res, err := CreateFile(ctx, s.Source, primary, s.Create)
	d.CreateMS = time.Since(t0).Milliseconds()
	if err != nil {
		_ = s.Store.AppendAudit(sys, audit.New(sys, audit.BackupFailed, "backup", d.FileName).WithOutcome(audit.Failure))
		return fmt.Errorf("create: %w", err)
	}
	d.Size, d.SHA256, d.AuditEvents = res.Size, res.SHA256, int64(res.Manifest.Audit.Events)
	d.Locations = []string{primary}
	if err := s.Store.AppendAudit(sys, audit.New(sys, audit.BackupCreated, "backup", res.Manifest.ID).
		With("size", res.Size).With("sha256", res.SHA256).With("audit_events", res.Manifest.Audit.Events)); err != nil {
		return err
	}
	for _, dir := range s.Dirs[1:] {
		dst := filepath.Join(dir, d.FileName)
		if err := copyFile(primary, dst); err != nil {
			return fmt.Errorf("copy to %s: %w", dir, err)
		}
		d.Locations = append(d.Locations, dst)
	}
	t0 = time.Now()
	d.Verified = true
	var problems []string
	for _, loc := range d.Locations {
		rep, err := Verify(ctx, loc, s.Verify)
		if err != nil {
			return fmt.Errorf("verify %s: %w", loc, err)
		}
		if !rep.OK() {
			d.Verified = false
			problems = append(problems, loc+": "+strings.Join(rep.Problems, "; "))
		}
	}
	d.VerifyMS = time.Since(t0).Milliseconds()
	if !d.Verified {
		return fmt.Errorf("verification failed: %s", strings.Join(problems, " | "))
	}
	t0 = time.Now()
	chk, err := s.TestRestore(ctx, primary)
	d.RestoreMS = time.Since(t0).Milliseconds()
	if err != nil {
		return fmt.Errorf("test restore: %w", err)
	}
	d.Restored, d.AuditVerified = true, chk.AuditVerified
	if !chk.OK {
		return fmt.Errorf("the test restore does not verify: %s", chk.Summary)
	}
	for _, dir := range s.Dirs {
		if err := Prune(dir, s.Retention); err != nil {
			s.log().Error("backup retention", "dir", dir, "error", err)
		}
	}
	return nil
}

// Prune keeps the newest keep scheduled backups in dir and removes the
// older ones (names carry the UTC time, so they sort by age).
func Prune(dir string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, FilePrefix) && strings.HasSuffix(n, FileSuffix) {
			names = append(names, n)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	for i, n := range names {
		if i >= keep {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyFile copies a backup to another directory atomically, with fsync.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	out, err := os.CreateTemp(dir, ".backup-*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := closeSynced(out); err != nil {
		return err
	}
	if err := os.Rename(out.Name(), dst); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Service is what the web pages and the API see of backups.
type Service struct {
	store DrillStore
	sched *Scheduler // nil when scheduled backups are off
}

// NewService returns the backup service; sched may be nil.
func NewService(store DrillStore, sched *Scheduler) *Service {
	return &Service{store: store, sched: sched}
}

// Settings describe the scheduled backups.
type Settings struct {
	Enabled   bool
	Dirs      []string
	Retention int
	Interval  time.Duration
}

// Settings returns the schedule.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	if _, err := mamori.Require(ctx, mamori.PermBackupManage); err != nil {
		return Settings{}, err
	}
	if s.sched == nil {
		return Settings{}, nil
	}
	return Settings{Enabled: true, Dirs: s.sched.Dirs, Retention: s.sched.Retention, Interval: s.sched.Interval}, nil
}

// Drills lists the latest restore drills.
func (s *Service) Drills(ctx context.Context, limit int) ([]*Drill, error) {
	if _, err := mamori.Require(ctx, mamori.PermBackupManage); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.store.Drills(ctx, limit)
}

// RunNow starts a backup with its drill in the background.
func (s *Service) RunNow(ctx context.Context) error {
	if _, err := mamori.Require(ctx, mamori.PermBackupManage); err != nil {
		return err
	}
	if s.sched == nil {
		return mamori.Errorf(mamori.ECONFLICT, "Scheduled backups are off: set backup.dirs to one or two directories.")
	}
	s.sched.mu.Lock()
	running := s.sched.running
	s.sched.mu.Unlock()
	if running {
		return ErrRunning
	}
	go func() {
		if _, err := s.sched.RunOnce(context.WithoutCancel(ctx), Manual); err != nil {
			s.sched.log().Error("manual backup", "error", err)
		}
	}()
	return nil
}
