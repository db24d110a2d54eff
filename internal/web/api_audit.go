package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/backup"
)

// Audit API: events, signed checkpoints and Merkle proofs. Hashes are
// base64 (standard, padded), as in the signed checkpoints themselves, and
// are SHA-256 per RFC 6962: leaf = SHA-256(0x00 || leaf data), node =
// SHA-256(0x01 || left || right).

type apiAuditEvent struct {
	Seq        int64          `json:"seq"`
	ID         string         `json:"id"`
	Time       time.Time      `json:"time"`
	Type       string         `json:"type"`
	Code       string         `json:"code"`
	Outcome    string         `json:"outcome"`
	ActorID    string         `json:"actor_id"`
	ActorEmail string         `json:"actor_email"`
	RemoteAddr string         `json:"remote_addr"`
	RequestID  string         `json:"request_id"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id"`
	Details    map[string]any `json:"details"`
	// LeafData is the exact text hashed into the Merkle leaf.
	LeafData string `json:"leaf_data"`
	LeafHash []byte `json:"leaf_hash"`
}

func toAPIAuditEvent(a *mamori.Actor, r *audit.Record) apiAuditEvent {
	d := r.DetailsMap()
	if d == nil {
		d = map[string]any{}
	}
	return apiAuditEvent{Seq: r.Seq, ID: r.ID, Time: r.Time, Type: string(r.Type), Code: r.Code, Outcome: string(r.Outcome),
		ActorID: r.ActorID, ActorEmail: maskPersonal(a, r.ActorEmail), RemoteAddr: r.RemoteAddr, RequestID: r.RequestID,
		TargetType: r.TargetType, TargetID: r.TargetID, Details: d, LeafData: string(r.Canonical(r.DetailsText)), LeafHash: r.LeafHash}
}

func (s *Server) apiAuditEvents(w http.ResponseWriter, r *http.Request) {
	f, _, err := auditFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	recs, total, err := s.svc.Audit.Events(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	a := mamori.ActorFrom(r.Context())
	out := Page[apiAuditEvent]{Items: []apiAuditEvent{}, Total: total, Limit: f.Limit, Offset: f.Offset}
	for _, rec := range recs {
		out.Items = append(out.Items, toAPIAuditEvent(a, rec))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiAuditEvent(w http.ResponseWriter, r *http.Request) {
	rec, err := s.svc.Audit.Event(r.Context(), r.PathValue("id"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIAuditEvent(mamori.ActorFrom(r.Context()), rec))
}

type apiCheckpoint struct {
	Origin   string    `json:"origin"`
	TreeSize uint64    `json:"tree_size"`
	RootHash []byte    `json:"root_hash"`
	SignedAt time.Time `json:"signed_at"`
	KeyID    string    `json:"key_id"`
	// Note is the signed checkpoint (C2SP tlog-checkpoint, signed-note
	// format), verifiable with the verifier key alone.
	Note string `json:"note"`
	// VerifierKey is this installation's public key; trust it only if it
	// matches the one you were given out of band.
	VerifierKey string `json:"verifier_key"`
}

func (s *Server) toAPICheckpoint(cp *audit.Checkpoint) *apiCheckpoint {
	if cp == nil {
		return nil
	}
	out := &apiCheckpoint{Origin: cp.Origin, TreeSize: cp.Size, RootHash: cp.Root, SignedAt: cp.Time, KeyID: cp.KeyID(), Note: cp.Note}
	if out.Origin == "" {
		out.Origin = cp.KeyName
	}
	if sg := s.svc.Audit.Signer(); sg != nil {
		out.VerifierKey = sg.VerifierKey()
	}
	return out
}

func (s *Server) apiAuditCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := s.svc.Audit.LatestCheckpoint(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toAPICheckpoint(cp))
}

func (s *Server) apiAuditCheckpoints(w http.ResponseWriter, r *http.Request) {
	limit, _ := pagination(r)
	cps, err := s.svc.Audit.Checkpoints(r.Context(), limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := []*apiCheckpoint{}
	for _, cp := range cps {
		out = append(out, s.toAPICheckpoint(cp))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiAuditSign(w http.ResponseWriter, r *http.Request) {
	cp, err := s.svc.Audit.SignNow(checkpointCtx(r))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toAPICheckpoint(cp))
}

type apiInclusion struct {
	EventID   string `json:"event_id"`
	LeafIndex uint64 `json:"leaf_index"`
	LeafHash  []byte `json:"leaf_hash"`
	TreeSize  uint64 `json:"tree_size"`
	RootHash  []byte `json:"root_hash"`
	// Hashes is the RFC 6962 audit path, from the leaf up.
	Hashes     [][]byte       `json:"hashes"`
	Checkpoint *apiCheckpoint `json:"checkpoint"`
}

// sizeParam reads an optional tree size; 0 means "the latest signed".
func sizeParam(r *http.Request, name string) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > 1<<62 {
		return 0, mamori.Invalid(name, "Give a tree size as a whole number.")
	}
	return n, nil
}

func (s *Server) apiAuditInclusion(w http.ResponseWriter, r *http.Request) {
	size, err := sizeParam(r, "size")
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	p, err := s.svc.Audit.Inclusion(checkpointCtx(r), r.PathValue("id"), size)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiInclusion{EventID: p.EventID, LeafIndex: p.LeafIndex, LeafHash: p.LeafHash, TreeSize: p.TreeSize,
		RootHash: p.Root, Hashes: nonNil(p.Hashes), Checkpoint: s.toAPICheckpoint(p.Checkpoint)})
}

type apiConsistency struct {
	From     uint64 `json:"from"`
	To       uint64 `json:"to"`
	FromRoot []byte `json:"from_root"`
	ToRoot   []byte `json:"to_root"`
	// Hashes is the RFC 6962 consistency proof.
	Hashes         [][]byte       `json:"hashes"`
	FromCheckpoint *apiCheckpoint `json:"from_checkpoint"`
	ToCheckpoint   *apiCheckpoint `json:"to_checkpoint"`
}

func (s *Server) apiAuditConsistency(w http.ResponseWriter, r *http.Request) {
	from, err := sizeParam(r, "from")
	if err == nil && r.URL.Query().Get("from") == "" {
		err = mamori.Invalid("from", "Give the tree size of the checkpoint you kept.")
	}
	var to uint64
	if err == nil {
		to, err = sizeParam(r, "to")
	}
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	p, err := s.svc.Audit.Consistency(checkpointCtx(r), from, to)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiConsistency{From: p.From, To: p.To, FromRoot: p.FromRoot, ToRoot: p.ToRoot,
		Hashes: nonNil(p.Hashes), FromCheckpoint: s.toAPICheckpoint(p.FromSigned), ToCheckpoint: s.toAPICheckpoint(p.ToCheckpoint)})
}

func nonNil(h [][]byte) [][]byte {
	if h == nil {
		return [][]byte{}
	}
	return h
}

type apiDrill struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"`
	StartedAt     time.Time `json:"started_at"`
	FinishedAt    time.Time `json:"finished_at"`
	FileName      string    `json:"file_name"`
	Locations     []string  `json:"locations"`
	Size          int64     `json:"size"`
	SHA256        string    `json:"sha256"`
	AuditEvents   int64     `json:"audit_events"`
	CreateMS      int64     `json:"create_ms"`
	VerifyMS      int64     `json:"verify_ms"`
	RestoreMS     int64     `json:"restore_ms"`
	Verified      bool      `json:"verified"`
	Restored      bool      `json:"restored"`
	AuditVerified bool      `json:"audit_verified"`
	Outcome       string    `json:"outcome"`
	Error         string    `json:"error"`
}

func (s *Server) apiDrills(w http.ResponseWriter, r *http.Request) {
	limit, _ := pagination(r)
	drills, err := s.svc.Backup.Drills(r.Context(), limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := []apiDrill{}
	for _, d := range drills {
		out = append(out, toAPIDrill(d))
	}
	writeJSON(w, http.StatusOK, out)
}

func toAPIDrill(d *backup.Drill) apiDrill {
	locs := d.Locations
	if locs == nil {
		locs = []string{}
	}
	return apiDrill{ID: d.ID, Kind: d.Kind, StartedAt: d.StartedAt, FinishedAt: d.FinishedAt, FileName: d.FileName, Locations: locs,
		Size: d.Size, SHA256: d.SHA256, AuditEvents: d.AuditEvents, CreateMS: d.CreateMS, VerifyMS: d.VerifyMS, RestoreMS: d.RestoreMS,
		Verified: d.Verified, Restored: d.Restored, AuditVerified: d.AuditVerified, Outcome: d.Outcome, Error: d.Error}
}
