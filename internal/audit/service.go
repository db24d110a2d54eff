package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mamori-dev/mamori"
)

// Filter selects events for the audit page, the API and exports.
type Filter struct {
	Since, Until time.Time // Until is exclusive
	// Actor is a user ID, "system", or part of the actor's e-mail address.
	Actor string
	// Type is an event type, a type prefix ("auth" or "auth.sign_in") or a
	// code ("M1000W").
	Type       string
	TargetType string
	TargetID   string
	Outcome    Outcome
	Limit      int
	Offset     int
}

// Record is a stored event with its actor's address, for display.
type Record struct {
	StoredEvent
	ActorEmail string
}

// DetailsMap returns the details as a map (nil if they do not parse).
func (r *Record) DetailsMap() map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(r.DetailsText), &m)
	return m
}

// Store is what the audit service needs from storage.
type Store interface {
	NodeReader
	Trail
	AppendAudit(ctx context.Context, evs ...Event) error
	AuditSize(ctx context.Context) (uint64, error)
	AuditEvents(ctx context.Context, f Filter) ([]*Record, int, error)
	EachAuditEvent(ctx context.Context, f Filter, fn func(*Record) error) error
	AuditEvent(ctx context.Context, id string) (*Record, error)
	AddCheckpoint(ctx context.Context, cp *Checkpoint) (*Checkpoint, error)
	LatestCheckpoint(ctx context.Context) (*Checkpoint, error)
	CheckpointAt(ctx context.Context, size uint64) (*Checkpoint, error)
	Checkpoints(ctx context.Context, limit int) ([]*Checkpoint, error)
}

// Publisher sends a signed checkpoint to a place the database
// administrator does not control.
type Publisher interface {
	Publish(ctx context.Context, cp *Checkpoint) error
	String() string
}

// Service is the audit trail: listing and exporting events, signing and
// publishing checkpoints, and proofs.
type Service struct {
	store      Store
	signer     *Signer
	publishers []Publisher
	now        mamori.Clock
	log        *slog.Logger

	mu        sync.Mutex
	published []int64 // per publisher, the largest tree size published (-1: none yet)
}

// NewService returns the audit service. signer may be nil for read-only
// uses (no checkpoints are signed then).
func NewService(store Store, signer *Signer, publishers []Publisher, now mamori.Clock, log *slog.Logger) *Service {
	if now == nil {
		now = mamori.SystemClock
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: store, signer: signer, publishers: publishers, now: now, log: log,
		published: make([]int64, len(publishers))}
	for i := range s.published {
		s.published[i] = -1
	}
	return s
}

// Signer returns the checkpoint signer (nil when none).
func (s *Service) Signer() *Signer { return s.signer }

// Events returns a page of events, newest first, and the total matching.
func (s *Service) Events(ctx context.Context, f Filter) ([]*Record, int, error) {
	if _, err := mamori.Require(ctx, mamori.PermAuditRead); err != nil {
		return nil, 0, err
	}
	if err := f.validate(); err != nil {
		return nil, 0, err
	}
	return s.store.AuditEvents(ctx, f)
}

// Event returns one event.
func (s *Service) Event(ctx context.Context, id string) (*Record, error) {
	if _, err := mamori.Require(ctx, mamori.PermAuditRead); err != nil {
		return nil, err
	}
	return s.store.AuditEvent(ctx, id)
}

func (f *Filter) validate() error {
	fe := mamori.FieldErrors{}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		fe.Add("until", "The end must be after the start.")
	}
	switch f.Outcome {
	case "", Success, Failure, Denied:
	default:
		fe.Add("outcome", "Choose success, failure or denied.")
	}
	if len(f.Actor) > 200 || len(f.Type) > 100 || len(f.TargetType) > 100 || len(f.TargetID) > 200 {
		fe.Add("q", "A search term is too long.")
	}
	return fe.Err()
}

// CSVHeader is the first row of an audit export.
var CSVHeader = []string{"seq", "id", "time", "code", "type", "outcome", "actor_id", "actor_email", "remote_addr",
	"request_id", "target_type", "target_id", "details", "leaf_hash"}

// ExportCSV writes every event matching f (oldest first) as CSV, and
// records the export itself in the trail before any row leaves. Actor
// addresses are masked for readers without the personal-data permission.
func (s *Service) ExportCSV(ctx context.Context, f Filter, w io.Writer) (int, error) {
	a, err := mamori.Require(ctx, mamori.PermAuditRead)
	if err != nil {
		return 0, err
	}
	if err := f.validate(); err != nil {
		return 0, err
	}
	ev := New(ctx, DataExported, "audit_events", "").With("format", "csv").With("filter", f.describe())
	if err := s.store.AppendAudit(context.WithoutCancel(ctx), ev); err != nil {
		return 0, fmt.Errorf("record the export: %w", err)
	}
	personal := a.Can(mamori.PermPersonalRead)
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return 0, err
	}
	n := 0
	err = s.store.EachAuditEvent(ctx, f, func(r *Record) error {
		email := r.ActorEmail
		if !personal && email != "" {
			email = "***"
		}
		row := []string{strconv.FormatInt(r.Seq, 10), r.ID, r.Time.UTC().Format(TimeLayout), r.Code, string(r.Type),
			string(r.Outcome), r.ActorID, email, r.RemoteAddr, r.RequestID, r.TargetType, r.TargetID, r.DetailsText,
			hex.EncodeToString(r.LeafHash)}
		for i := range row {
			row[i] = csvSafe(row[i])
		}
		n++
		return cw.Write(row)
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return n, err
}

// csvSafe keeps spreadsheets from running a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// describe is the filter as recorded in the export's audit event: the
// search terms, except the actor (which may be part of an address).
func (f Filter) describe() map[string]any {
	m := map[string]any{}
	if !f.Since.IsZero() {
		m["since"] = f.Since.UTC().Format(time.RFC3339)
	}
	if !f.Until.IsZero() {
		m["until"] = f.Until.UTC().Format(time.RFC3339)
	}
	if f.Actor != "" {
		m["actor"] = "(set)"
	}
	for k, v := range map[string]string{"type": f.Type, "target_type": f.TargetType, "target_id": f.TargetID, "outcome": string(f.Outcome)} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// ErrNoSigner is returned when a checkpoint is needed but no key is loaded.
var ErrNoSigner = mamori.Errorf(mamori.EUNAVAILABLE, "Audit checkpoints are not signed by this process.")

// Checkpoint signs a checkpoint of the current tree, unless the latest one
// already covers it, stores it and publishes it. Before signing, it proves
// that the tree extends the last signed one: mamori never signs a history
// that was rewritten. It reports whether a new checkpoint was made.
func (s *Service) Checkpoint(ctx context.Context) (*Checkpoint, bool, error) {
	if s.signer == nil {
		return nil, false, ErrNoSigner
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	size, err := s.store.AuditSize(ctx)
	if err != nil {
		return nil, false, err
	}
	latest, err := s.store.LatestCheckpoint(ctx)
	if err != nil && mamori.ErrorCode(err) != mamori.ENOTFOUND {
		return nil, false, err
	}
	if latest != nil && latest.Size == size {
		s.publish(ctx, latest)
		return latest, false, nil
	}
	root, err := Root(ctx, s.store, size)
	if err != nil {
		return nil, false, fmt.Errorf("compute the audit root: %w", err)
	}
	if latest != nil {
		if err := s.extends(ctx, latest, size, root); err != nil {
			s.log.Error("audit checkpoint refused", "error", err)
			_ = s.store.AppendAudit(context.WithoutCancel(mamori.WithActor(ctx, mamori.SystemActor())),
				New(ctx, CheckpointRefused, "audit_checkpoint", strconv.FormatUint(latest.Size, 10)).WithOutcome(Failure))
			return nil, false, err
		}
	}
	cp, err := s.signer.SignCheckpoint(size, root, s.now())
	if err != nil {
		return nil, false, err
	}
	stored, err := s.store.AddCheckpoint(ctx, cp)
	if err != nil {
		return nil, false, err
	}
	s.publish(ctx, stored)
	return stored, stored.Note == cp.Note, nil
}

// SignNow signs a checkpoint at an auditor's request (before an export,
// say). A checkpoint changes no data: it seals what is there.
func (s *Service) SignNow(ctx context.Context) (*Checkpoint, error) {
	if _, err := mamori.Require(ctx, mamori.PermAuditRead); err != nil {
		return nil, err
	}
	cp, _, err := s.Checkpoint(ctx)
	return cp, err
}

// extends checks, with a consistency proof from the stored tree, that the
// tree of size leaves and root grew from the checkpoint prev.
func (s *Service) extends(ctx context.Context, prev *Checkpoint, size uint64, root []byte) error {
	if size < prev.Size {
		return mamori.Errorf(mamori.ECONFLICT, "The audit trail has %d events but the last signed checkpoint covers %d: events were removed.", size, prev.Size)
	}
	p, err := ProveConsistency(ctx, s.store, prev.Size, size)
	if err == nil {
		err = VerifyConsistency(prev.Size, size, p, prev.Root, root)
	}
	if err != nil {
		return mamori.Wrap(mamori.ECONFLICT, err, "The audit trail no longer extends the last signed checkpoint: it was changed. Run mamori audit verify.")
	}
	return nil
}

// publish sends cp to every publisher that has not had it (or a larger
// one). Failures are logged and retried with the next checkpoint.
func (s *Service) publish(ctx context.Context, cp *Checkpoint) {
	for i, p := range s.publishers {
		if s.published[i] >= int64(cp.Size) {
			continue
		}
		if err := p.Publish(ctx, cp); err != nil {
			s.log.Error("publish audit checkpoint", "to", p.String(), "size", cp.Size, "error", err)
			continue
		}
		s.published[i] = int64(cp.Size)
	}
}

// LatestCheckpoint returns the latest signed checkpoint.
func (s *Service) LatestCheckpoint(ctx context.Context) (*Checkpoint, error) {
	if _, err := mamori.Require(ctx, mamori.PermAuditRead); err != nil {
		return nil, err
	}
	return s.store.LatestCheckpoint(ctx)
}

// Checkpoints lists the signed checkpoints, latest first.
func (s *Service) Checkpoints(ctx context.Context, limit int) ([]*Checkpoint, error) {
	if _, err := mamori.Require(ctx, mamori.PermAuditRead); err != nil {
		return nil, err
	}
	return s.store.Checkpoints(ctx, limit)
}

// InclusionProof proves that an event is in the tree of a signed checkpoint.
type InclusionProof struct {
	EventID    string
	LeafIndex  uint64
	LeafHash   []byte
	TreeSize   uint64
	Root       []byte
	Hashes     [][]byte
	Checkpoint *Checkpoint // signed; nil when size named an unsigned tree
}

// Inclusion proves that event id is in the tree of size leaves; size 0
// means the latest signed checkpoint (signing a new one if the event is
// newer than it).
func (s *Service) Inclusion(ctx context.Context, id string, size uint64) (*InclusionProof, error) {
	if _, err := mamori.Require(ctx, mamori.PermAuditRead); err != nil {
		return nil, err
	}
	r, err := s.store.AuditEvent(ctx, id)
	if err != nil {
		return nil, err
	}
	cp, size, err := s.signedSize(ctx, size, uint64(r.Seq)+1)
	if err != nil {
		return nil, err
	}
	if uint64(r.Seq) >= size {
		return nil, mamori.Invalid("size", "The event is not in a tree of this size.")
	}
	root, err := Root(ctx, s.store, size)
	if err != nil {
		return nil, err
	}
	p, err := ProveInclusion(ctx, s.store, uint64(r.Seq), size)
	if err != nil {
		return nil, err
	}
	return &InclusionProof{EventID: r.ID, LeafIndex: uint64(r.Seq), LeafHash: r.Leaf(), TreeSize: size, Root: root,
		Hashes: p, Checkpoint: cp}, nil
}

// signedSize resolves a requested tree size: 0 means the latest signed
// checkpoint, which must cover at least need leaves (a new one is signed if
// it does not). It returns the stored checkpoint of that size, if any.
func (s *Service) signedSize(ctx context.Context, size, need uint64) (*Checkpoint, uint64, error) {
	current, err := s.store.AuditSize(ctx)
	if err != nil {
		return nil, 0, err
	}
	if size > current {
		return nil, 0, mamori.Invalid("size", fmt.Sprintf("The trail has only %d events.", current))
	}
	if size == 0 {
		cp, err := s.store.LatestCheckpoint(ctx)
		if (err != nil && mamori.ErrorCode(err) == mamori.ENOTFOUND) || (err == nil && cp.Size < need) {
			cp, _, err = s.Checkpoint(ctx)
		}
		if err != nil {
			return nil, 0, err
		}
		return cp, cp.Size, nil
	}
	cp, err := s.store.CheckpointAt(ctx, size)
	if err != nil {
		if mamori.ErrorCode(err) != mamori.ENOTFOUND {
			return nil, 0, err
		}
		cp = nil
	}
	return cp, size, nil
}

// ConsistencyProof proves that the tree of size To extends the tree of
// size From.
type ConsistencyProof struct {
	From, To     uint64
	FromRoot     []byte
	ToRoot       []byte
	Hashes       [][]byte
	FromSigned   *Checkpoint
	ToCheckpoint *Checkpoint
}

// Consistency proves that the trail of to events extends the trail of from
// events; to 0 means the latest signed checkpoint.
func (s *Service) Consistency(ctx context.Context, from, to uint64) (*ConsistencyProof, error) {
	if _, err := mamori.Require(ctx, mamori.PermAuditRead); err != nil {
		return nil, err
	}
	toCP, to, err := s.signedSize(ctx, to, from)
	if err != nil {
		return nil, err
	}
	if from > to {
		return nil, mamori.Invalid("from", "The first size must not be larger than the second.")
	}
	var fromCP *Checkpoint
	if from > 0 {
		if fromCP, _, err = s.signedSize(ctx, from, 0); err != nil {
			return nil, err
		}
	}
	out := &ConsistencyProof{From: from, To: to, FromSigned: fromCP, ToCheckpoint: toCP}
	if out.FromRoot, err = Root(ctx, s.store, from); err != nil {
		return nil, err
	}
	if out.ToRoot, err = Root(ctx, s.store, to); err != nil {
		return nil, err
	}
	if out.Hashes, err = ProveConsistency(ctx, s.store, from, to); err != nil {
		return nil, err
	}
	return out, nil
}

// Verify checks the stored trail against every signed checkpoint in the
// database and the extra ones given (published copies, files auditors
// kept), trusting the given keys.
func (s *Service) Verify(ctx context.Context, trusted *Verifiers, extra []SourcedCheckpoint) (*Report, error) {
	stored, err := s.store.Checkpoints(ctx, 0)
	if err != nil {
		return nil, err
	}
	cps := make([]SourcedCheckpoint, 0, len(stored)+len(extra))
	for _, c := range stored {
		cps = append(cps, SourcedCheckpoint{Source: "database", Note: []byte(c.Note)})
	}
	cps = append(cps, extra...)
	return Verify(ctx, s.store, s.store, trusted, cps)
}

// DirPublisher writes each checkpoint to a directory as
// checkpoint-<size>.txt (never overwriting one) and keeps "checkpoint"
// pointing at the latest, as transparency logs publish theirs.
type DirPublisher struct{ Dir string }

func (d DirPublisher) String() string { return "directory " + d.Dir }

// CheckpointFileName is the file a checkpoint of size is published as.
func CheckpointFileName(size uint64) string { return fmt.Sprintf("checkpoint-%020d.txt", size) }

// Publish writes the checkpoint files.
func (d DirPublisher) Publish(_ context.Context, cp *Checkpoint) error {
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(d.Dir, CheckpointFileName(cp.Size))
	if b, err := os.ReadFile(path); err == nil {
		if !bytes.Equal(b, []byte(cp.Note)) {
			return fmt.Errorf("%s exists with another checkpoint of the same size", path)
		}
	} else if err := writeFileAtomic(path, []byte(cp.Note), 0o644); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(d.Dir, "checkpoint"), []byte(cp.Note), 0o644)
}

// ReadPublished reads the latest n checkpoints published in dir (all when
// n <= 0), for verification.
func ReadPublished(dir string, n int) ([]SourcedCheckpoint, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if name := e.Name(); strings.HasPrefix(name, "checkpoint-") && strings.HasSuffix(name, ".txt") {
			names = append(names, name)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	if n > 0 && len(names) > n {
		names = names[:n]
	}
	out := make([]SourcedCheckpoint, 0, len(names))
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, SourcedCheckpoint{Source: filepath.Join(dir, name), Note: b})
	}
	return out, nil
}
