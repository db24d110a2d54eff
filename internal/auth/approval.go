package auth

import (
	"context"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// Approval is a request that someone else must approve: a risk acceptance,
// an exception to a deadline, the exclusion of an assessment item. It is the
// separation-of-duties mechanism: a request is never decided by its
// requester (checked here and by a database constraint).
type Approval struct {
	ID           string
	Kind         string // e.g. "assessment.risk_acceptance", "vuln.exception"
	TargetType   string
	TargetID     string
	Summary      string
	Reason       string
	RequiredPerm mamori.Permission
	RequestedBy  string
	RequestedAt  time.Time
	Status       string // pending, approved, rejected, withdrawn, expired
	DecidedBy    string
	DecidedAt    time.Time
	DecisionNote string
	ExpiresAt    time.Time // when an approved exception lapses; zero for none
}

// Approval states.
const (
	ApprovalPending   = "pending"
	ApprovalApproved  = "approved"
	ApprovalRejected  = "rejected"
	ApprovalWithdrawn = "withdrawn"
	ApprovalExpired   = "expired"
)

// ApprovalFilter selects approvals.
type ApprovalFilter struct {
	Status     string
	TargetType string
	TargetID   string
	Limit      int
}

// ApprovalRequest is what a requester submits.
type ApprovalRequest struct {
	Kind, TargetType, TargetID, Summary, Reason string
	RequiredPerm                                mamori.Permission
	ExpiresAt                                   time.Time
}

// RequestApproval records a request. Domain services call it inside their
// own checks (the requester needs the permission to ask for the change).
func (s *Service) RequestApproval(ctx context.Context, in ApprovalRequest) (*Approval, error) {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return nil, err
	}
	if a.System || a.UserID == "" {
		return nil, mamori.Errorf(mamori.EFORBIDDEN, "Approvals are requested by people.")
	}
	f := mamori.FieldErrors{}
	if strings.TrimSpace(in.Reason) == "" {
		f.Add("reason", "State the reason and the risk being accepted.")
	}
	if !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(s.Now()) {
		f.Add("expires_at", "The expiry must be in the future.")
	}
	if in.RequiredPerm == "" || in.Kind == "" || in.TargetType == "" || in.TargetID == "" {
		f.Add("kind", "The request is incomplete.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	ap := &Approval{ID: mamori.NewID(), Kind: in.Kind, TargetType: in.TargetType, TargetID: in.TargetID,
		Summary: strings.TrimSpace(in.Summary), Reason: strings.TrimSpace(in.Reason), RequiredPerm: in.RequiredPerm,
		RequestedBy: a.UserID, RequestedAt: s.Now(), Status: ApprovalPending, ExpiresAt: in.ExpiresAt}
	if err := s.store.CreateApproval(ctx, ap, audit.New(ctx, audit.ApprovalRequested, ap.TargetType, ap.TargetID).
		With("approval", ap.ID).With("kind", ap.Kind)); err != nil {
		return nil, err
	}
	return ap, nil
}

// DecideApproval approves or rejects a pending request. The decider must
// hold the request's permission and must not be its requester.
func (s *Service) DecideApproval(ctx context.Context, id string, approve bool, note string) (*Approval, error) {
	ap, err := s.store.Approval(ctx, id)
	if err != nil {
		return nil, err
	}
	a, err := mamori.Require(ctx, ap.RequiredPerm)
	if err != nil {
		return nil, err
	}
	if a.UserID == ap.RequestedBy {
		return nil, mamori.Errorf(mamori.EFORBIDDEN, "A request cannot be approved or rejected by the person who made it.")
	}
	if ap.Status != ApprovalPending {
		return nil, mamori.Errorf(mamori.ECONFLICT, "This request has already been decided.")
	}
	if !approve && strings.TrimSpace(note) == "" {
		return nil, mamori.Invalid("note", "Say why the request is rejected.")
	}
	typ := audit.ApprovalRejected
	ap.Status = ApprovalRejected
	if approve {
		typ, ap.Status = audit.ApprovalApproved, ApprovalApproved
		if !ap.ExpiresAt.IsZero() && !ap.ExpiresAt.After(s.Now()) {
			return nil, mamori.Errorf(mamori.ECONFLICT, "This request's expiry date has passed. Ask for a new request.")
		}
	}
	ap.DecidedBy, ap.DecidedAt, ap.DecisionNote = a.UserID, s.Now(), strings.TrimSpace(note)
	if err := s.store.DecideApproval(ctx, ap, audit.New(ctx, typ, ap.TargetType, ap.TargetID).With("approval", ap.ID)); err != nil {
		return nil, err
	}
	return ap, nil
}

// WithdrawApproval lets the requester take back a pending request.
func (s *Service) WithdrawApproval(ctx context.Context, id string) error {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return err
	}
	ap, err := s.store.Approval(ctx, id)
	if err != nil {
		return err
	}
	if ap.RequestedBy != a.UserID {
		return mamori.Errorf(mamori.EFORBIDDEN, "Only the requester can withdraw a request.")
	}
	if ap.Status != ApprovalPending {
		return mamori.Errorf(mamori.ECONFLICT, "This request has already been decided.")
	}
	ap.Status = ApprovalWithdrawn
	return s.store.DecideApproval(ctx, ap, audit.New(ctx, audit.ApprovalWithdrawn, ap.TargetType, ap.TargetID).With("approval", ap.ID))
}

// ApprovalByID returns one approval to anyone who may read approvals.
func (s *Service) ApprovalByID(ctx context.Context, id string) (*Approval, error) {
	if _, err := mamori.Require(ctx, mamori.Authenticated); err != nil {
		return nil, err
	}
	return s.store.Approval(ctx, id)
}

// Approvals lists approvals.
func (s *Service) Approvals(ctx context.Context, f ApprovalFilter) ([]*Approval, error) {
	if _, err := mamori.Require(ctx, mamori.Authenticated); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	return s.store.Approvals(ctx, f)
}

// ExpireApprovals marks approved requests past their expiry as expired and
// returns them, so the owning module can reopen what they covered.
func (s *Service) ExpireApprovals(ctx context.Context) ([]*Approval, error) {
	ctx = mamori.WithActor(ctx, mamori.SystemActor())
	list, err := s.store.Approvals(ctx, ApprovalFilter{Status: ApprovalApproved, Limit: 100000})
	if err != nil {
		return nil, err
	}
	now := s.Now()
	var out []*Approval
	for _, ap := range list {
		if ap.ExpiresAt.IsZero() || now.Before(ap.ExpiresAt) {
			continue
		}
		ap.Status = ApprovalExpired
		if err := s.store.DecideApproval(ctx, ap, audit.New(ctx, audit.ApprovalExpired, ap.TargetType, ap.TargetID).With("approval", ap.ID)); err != nil {
			return out, err
		}
		out = append(out, ap)
	}
	return out, nil
}
