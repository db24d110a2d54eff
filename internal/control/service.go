package control

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
)

// Store is what the control service needs from storage. Every method that
// changes data takes the audit events recording the change and writes them
// in the same transaction.
type Store interface {
	StoredCatalogs(ctx context.Context) ([]*StoredCatalog, error)
	StoredCatalogDocument(ctx context.Context, key string) ([]byte, error)
	CreateCatalog(ctx context.Context, sc *StoredCatalog, doc []byte, evs ...audit.Event) error
	DeleteCatalog(ctx context.Context, key string, evs ...audit.Event) error

	CreateAssessment(ctx context.Context, a *Assessment, items []*Item, evidence []*Evidence, evs ...audit.Event) error
	Assessment(ctx context.Context, id string) (*Assessment, error)
	Assessments(ctx context.Context, f AssessmentFilter) ([]*Assessment, error)
	UpdateAssessment(ctx context.Context, a *Assessment, evs ...audit.Event) error
	// SetAssessmentState changes the state if the assessment's revision
	// is still rev (nothing was changed since the caller looked).
	SetAssessmentState(ctx context.Context, a *Assessment, rev int, evs ...audit.Event) error

	Items(ctx context.Context, assessmentID string) ([]*Item, error)
	Item(ctx context.Context, assessmentID, nodeID string) (*Item, error)
	ItemByID(ctx context.Context, id string) (*Item, error)
	// LapsedItems returns items still risk-accepted or excluded on an
	// approval that has expired.
	LapsedItems(ctx context.Context) ([]*Item, error)
	// UpdateItem writes an item if its version is still it.Version and
	// the assessment is not signed off (unless force, used when the system
	// reopens a lapsed acceptance).
	UpdateItem(ctx context.Context, it *Item, force bool, evs ...audit.Event) error

	Evidence(ctx context.Context, assessmentID string) ([]*Evidence, error)
	EvidenceByID(ctx context.Context, assessmentID, id string) (*Evidence, error)
	AddEvidence(ctx context.Context, e *Evidence, evs ...audit.Event) error
	UpdateEvidence(ctx context.Context, e *Evidence, evs ...audit.Event) error
	RemoveEvidence(ctx context.Context, assessmentID, id string, evs ...audit.Event) error
	FileKnown(ctx context.Context, sha256 string) (*FileRef, error)

	Tasks(ctx context.Context, f TaskFilter) ([]*Task, error)
	Task(ctx context.Context, assessmentID, id string) (*Task, error)
	CreateTask(ctx context.Context, t *Task, evs ...audit.Event) error
	UpdateTask(ctx context.Context, t *Task, evs ...audit.Event) error

	// ApplyImport writes an imported workbook in one transaction: the
	// assessment (created when isNew), changed items, new evidence, and
	// new or changed tasks.
	ApplyImport(ctx context.Context, a *Assessment, isNew bool, items []*Item, evidence []*Evidence, tasks []*Task, evs ...audit.Event) error

	History(ctx context.Context, targetType, targetID string, limit int) ([]audit.Event, error)
	AppendAudit(ctx context.Context, evs ...audit.Event) error
	People(ctx context.Context) ([]Person, error)

	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value, by string, evs ...audit.Event) error
	ObligationRecords(ctx context.Context, catalogID string) ([]*ObligationRecord, error)
	SaveObligation(ctx context.Context, r *ObligationRecord, evs ...audit.Event) error
}

// Approver is the separation-of-duties mechanism and the notifications of
// the identity module (auth.Service provides it).
type Approver interface {
	RequestApproval(ctx context.Context, in auth.ApprovalRequest) (*auth.Approval, error)
	WithdrawApproval(ctx context.Context, id string) error
	Notify(ctx context.Context, userID, kind, subject, body, link string) error
}

// Files stores evidence files by content and gives them back verified
// against their hash. A nil Files disables uploads.
type Files interface {
	Put(ctx context.Context, r io.Reader, name, mediaType string) (FileRef, error)
	Open(ctx context.Context, ref FileRef) (io.ReadCloser, error)
}

// StoredCatalog describes a catalog imported into the database.
type StoredCatalog struct {
	Key         string    `json:"key"`
	FrameworkID string    `json:"framework_id"`
	Edition     string    `json:"edition"`
	Name        Text      `json:"name"`
	Items       int       `json:"items"`
	Basic       int       `json:"basic"`
	Desirable   int       `json:"desirable"`
	Format      string    `json:"format"`
	FileName    string    `json:"file_name"`
	SHA256      string    `json:"sha256"`
	ImportedBy  string    `json:"imported_by"`
	ImportedAt  time.Time `json:"imported_at"`
}

// CatalogInfo describes any catalog mamori knows.
type CatalogInfo struct {
	Key        string    `json:"key"`
	ID         string    `json:"id"`
	Edition    string    `json:"edition"`
	Name       Text      `json:"name"`
	Counts     Counts    `json:"counts"`
	Shipped    bool      `json:"shipped"`
	Format     string    `json:"format,omitempty"`
	FileName   string    `json:"file_name,omitempty"`
	ImportedBy string    `json:"imported_by,omitempty"`
	ImportedAt time.Time `json:"imported_at,omitzero"`
}

// AssessmentFilter selects assessments.
type AssessmentFilter struct {
	State   State
	Catalog string // framework ID
	Limit   int
}

// TaskFilter selects tasks.
type TaskFilter struct {
	AssessmentID string
	ItemID       string
	OwnerID      string
	State        string
	DueBefore    time.Time // open tasks due before this day
	Limit        int
}

// Service runs catalogs, assessments, remediation and recurring
// obligations.
type Service struct {
	store    Store
	approver Approver
	files    Files
	now      mamori.Clock
	log      *slog.Logger

	mu      sync.Mutex
	lib     *Library
	libSums string // the stored catalogs the cached library was built from
	stored  map[string]*StoredCatalog
}

// NewService returns the service. files may be nil (no uploads).
func NewService(store Store, approver Approver, files Files, now mamori.Clock, log *slog.Logger) *Service {
	if now == nil {
		now = mamori.SystemClock
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, approver: approver, files: files, now: now, log: log}
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now().UTC() }

// FilesEnabled reports whether evidence files can be uploaded.
func (s *Service) FilesEnabled() bool { return s.files != nil }

// library returns the shipped catalogs and those imported into the
// database, rebuilt only when the stored set changed. A stored catalog that
// no longer loads is logged and left out, so one bad row cannot take the
// shipped catalogs down with it.
func (s *Service) library(ctx context.Context) (*Library, map[string]*StoredCatalog, error) {
	shipped, err := Shipped()
	if err != nil {
		return nil, nil, err
	}
	list, err := s.store.StoredCatalogs(ctx)
	if err != nil {
		return nil, nil, err
	}
	var sums strings.Builder
	for _, sc := range list {
		sums.WriteString(sc.Key + "=" + sc.SHA256 + ";")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lib != nil && s.libSums == sums.String() {
		return s.lib, s.stored, nil
	}
	if len(list) == 0 {
		s.lib, s.libSums, s.stored = shipped, "", map[string]*StoredCatalog{}
		return s.lib, s.stored, nil
	}
	cats := append([]*Catalog(nil), shipped.List()...)
	stored := map[string]*StoredCatalog{}
	for _, sc := range list {
		doc, err := s.store.StoredCatalogDocument(ctx, sc.Key)
		if err != nil {
			return nil, nil, err
		}
		c, err := DecodeJSON(doc)
		if err != nil {
			s.log.ErrorContext(ctx, "stored catalog does not load", "catalog", sc.Key, "error", err)
			continue
		}
		cats = append(cats, c)
		stored[sc.Key] = sc
	}
	lib, err := NewLibrary(cats...)
	if err != nil {
		s.log.ErrorContext(ctx, "stored catalogs do not form a library; using the shipped catalogs only", "error", err)
		lib, stored = shipped, map[string]*StoredCatalog{}
	}
	s.lib, s.libSums, s.stored = lib, sums.String(), stored
	return lib, stored, nil
}

// Library returns every catalog mamori knows (shipped and imported).
func (s *Service) Library(ctx context.Context) (*Library, error) {
	if _, err := mamori.Require(ctx, mamori.PermCatalogRead); err != nil {
		if _, err2 := mamori.Require(ctx, mamori.PermAssessmentRead); err2 != nil {
			return nil, err
		}
	}
	lib, _, err := s.library(ctx)
	return lib, err
}

// Catalogs lists every catalog with its counts and origin.
func (s *Service) Catalogs(ctx context.Context) ([]CatalogInfo, error) {
	if _, err := mamori.Require(ctx, mamori.PermCatalogRead); err != nil {
		return nil, err
	}
	lib, stored, err := s.library(ctx)
	if err != nil {
		return nil, err
	}
	var out []CatalogInfo
	for _, c := range lib.List() {
		ci := CatalogInfo{Key: c.Key(), ID: c.Framework.ID, Edition: c.Edition.Date, Name: c.Framework.Name, Counts: c.Count(), Shipped: true}
		if sc, ok := stored[c.Key()]; ok {
			ci.Shipped, ci.Format, ci.FileName, ci.ImportedBy, ci.ImportedAt = false, sc.Format, sc.FileName, sc.ImportedBy, sc.ImportedAt
		}
		out = append(out, ci)
	}
	return out, nil
}

// Catalog returns a catalog by framework ID (newest edition) or key.
func (s *Service) Catalog(ctx context.Context, id string) (*Catalog, error) {
	lib, err := s.Library(ctx)
	if err != nil {
		return nil, err
	}
	return lib.Catalog(id)
}

// ImportSource says where an imported catalog came from.
type ImportSource struct {
	Format   string // mamori-json, oscal, ciso-assistant …
	FileName string
}

// ImportCatalog stores a decoded catalog, all or nothing: it must be
// valid, new (not shipped, not imported before) and its mappings must
// resolve. Editions are immutable: a changed text is a new edition.
func (s *Service) ImportCatalog(ctx context.Context, c *Catalog, src ImportSource) (*StoredCatalog, error) {
	a, err := mamori.Require(ctx, mamori.PermCatalogManage)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	lib, _, err := s.library(ctx)
	if err != nil {
		return nil, err
	}
	if existing, err := lib.Catalog(c.Key()); err == nil && existing.Key() == c.Key() {
		return nil, mamori.Errorf(mamori.ECONFLICT, "Catalog %s already exists. Give a changed text a new edition date.", c.Key())
	}
	if err := ValidateMappings(c, withCatalog(lib, c)); err != nil {
		return nil, err
	}
	var doc bytes.Buffer
	if err := EncodeJSON(&doc, c); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(doc.Bytes())
	k := c.Count()
	name := strings.TrimSpace(src.FileName)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	sc := &StoredCatalog{Key: c.Key(), FrameworkID: c.Framework.ID, Edition: c.Edition.Date, Name: c.Framework.Name,
		Items: k.Items, Basic: k.ByTier[TierBasic], Desirable: k.ByTier[TierDesirable], Format: src.Format,
		FileName: truncate(name, 200), SHA256: hex.EncodeToString(sum[:]), ImportedBy: a.ID(), ImportedAt: s.Now()}
	ev := audit.New(ctx, audit.CatalogImported, TargetCatalog, sc.Key).With("items", sc.Items).With("format", sc.Format).
		With("sha256", sc.SHA256).With("mappings", len(c.Mappings))
	if err := s.store.CreateCatalog(ctx, sc, doc.Bytes(), ev); err != nil {
		if mamori.ErrorCode(err) == mamori.ECONFLICT {
			return nil, mamori.Errorf(mamori.ECONFLICT, "Catalog %s already exists. Give a changed text a new edition date.", c.Key())
		}
		return nil, err
	}
	return sc, nil
}

// withCatalog resolves mappings against lib plus c itself.
type libraryPlus struct {
	lib *Library
	c   *Catalog
}

func withCatalog(lib *Library, c *Catalog) libraryPlus { return libraryPlus{lib, c} }

func (l libraryPlus) Catalog(id string) (*Catalog, error) {
	if id == l.c.Key() || id == l.c.Framework.ID {
		return l.c, nil
	}
	return l.lib.Catalog(id)
}

// DeleteCatalog removes an imported catalog that no assessment uses and no
// other catalog maps into.
func (s *Service) DeleteCatalog(ctx context.Context, key string) error {
	if _, err := mamori.Require(ctx, mamori.PermCatalogManage); err != nil {
		return err
	}
	lib, stored, err := s.library(ctx)
	if err != nil {
		return err
	}
	if _, ok := stored[key]; !ok {
		if _, err := lib.Catalog(key); err == nil {
			return mamori.Errorf(mamori.ECONFLICT, "Catalogs shipped with mamori cannot be deleted.")
		}
		return mamori.Errorf(mamori.ENOTFOUND, "There is no catalog %q.", key)
	}
	var rest []*Catalog
	for _, c := range lib.List() {
		if c.Key() != key {
			rest = append(rest, c)
		}
	}
	if _, err := NewLibrary(rest...); err != nil {
		return mamori.Errorf(mamori.ECONFLICT, "Other catalogs map into %s; delete them first.", key)
	}
	return s.store.DeleteCatalog(ctx, key, audit.New(ctx, audit.CatalogDeleted, TargetCatalog, key))
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// People lists the people items and tasks can be assigned to.
func (s *Service) People(ctx context.Context) ([]Person, error) {
	if _, err := mamori.Require(ctx, mamori.PermAssessmentRead); err != nil {
		return nil, err
	}
	return s.store.People(ctx)
}

func (s *Service) peopleMap(ctx context.Context) (map[string]Person, error) {
	list, err := s.store.People(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Person, len(list))
	for _, p := range list {
		m[p.ID] = p
	}
	return m, nil
}

// checkOwner refuses an owner who is not an active person.
func checkOwner(people map[string]Person, id, field string, f mamori.FieldErrors) {
	if id == "" {
		return
	}
	if p, ok := people[id]; !ok || !p.Active {
		f.Add(field, "Choose an active person.")
	}
}

// sortedKeys returns a map's keys, sorted, for stable audit details.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
