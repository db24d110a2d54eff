package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
)

const approvalColumns = `id, kind, target_type, target_id, summary, reason, required_perm, requested_by, requested_at,
	status, decided_by, decided_at, decision_note, expires_at`

func scanApproval(sc interface{ Scan(...any) error }) (*auth.Approval, error) {
	a := &auth.Approval{}
	var perm string
	var decidedBy sql.NullString
	err := sc.Scan(&a.ID, &a.Kind, &a.TargetType, &a.TargetID, &a.Summary, &a.Reason, &perm, &a.RequestedBy, tm(&a.RequestedAt),
		&a.Status, &decidedBy, tm(&a.DecidedAt), &a.DecisionNote, tm(&a.ExpiresAt))
	a.RequiredPerm, a.DecidedBy = mamori.Permission(perm), decidedBy.String
	return a, err
}

// CreateApproval stores a pending request.
func (db *DB) CreateApproval(ctx context.Context, a *auth.Approval, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO approvals (`+approvalColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Kind, a.TargetType, a.TargetID, a.Summary, a.Reason, string(a.RequiredPerm), a.RequestedBy, a.RequestedAt,
			a.Status, nullable(a.DecidedBy), a.DecidedAt, a.DecisionNote, a.ExpiresAt); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// Approval returns one request.
func (db *DB) Approval(ctx context.Context, id string) (a *auth.Approval, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		a, err = scanApproval(tx.queryRow(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = ?`, id))
		if err == sql.ErrNoRows {
			return mamori.Errorf(mamori.ENOTFOUND, "The approval request was not found.")
		}
		return err
	})
	return a, err
}

// DecideApproval stores a decision on a request that is still pending
// (approve, reject, withdraw) or approved (expire); a concurrent decision
// makes this one fail.
func (db *DB) DecideApproval(ctx context.Context, a *auth.Approval, evs ...audit.Event) error {
	from := auth.ApprovalPending
	if a.Status == auth.ApprovalExpired {
		from = auth.ApprovalApproved
	}
	return db.Update(ctx, func(tx *Tx) error {
		r, err := tx.exec(ctx, `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, decision_note = ?
			WHERE id = ? AND status = ?`, a.Status, nullable(a.DecidedBy), a.DecidedAt, a.DecisionNote, a.ID, from)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return mamori.Errorf(mamori.ECONFLICT, "This request has already been decided.")
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// Approvals lists requests, newest first.
func (db *DB) Approvals(ctx context.Context, f auth.ApprovalFilter) (out []*auth.Approval, err error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.TargetType != "" {
		where, args = append(where, "target_type = ?"), append(args, f.TargetType)
	}
	if f.TargetID != "" {
		where, args = append(where, "target_id = ?"), append(args, f.TargetID)
	}
	args = append(args, max(f.Limit, 1))
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE `+strings.Join(where, " AND ")+
			` ORDER BY requested_at DESC LIMIT ?`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanApproval(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

// AddNotifications stores notifications.
func (db *DB) AddNotifications(ctx context.Context, ns []*auth.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	return db.Update(ctx, func(tx *Tx) error {
		for _, n := range ns {
			if _, err := tx.exec(ctx, `INSERT INTO notifications (id, user_id, at, kind, subject, body, link) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				n.ID, n.UserID, n.At, n.Kind, n.Subject, n.Body, n.Link); err != nil {
				return err
			}
		}
		return nil
	})
}

// Notifications lists a user's notifications, newest first.
func (db *DB) Notifications(ctx context.Context, userID string, limit int) (out []*auth.Notification, err error) {
	if limit <= 0 {
		limit = 50
	}
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT id, user_id, at, kind, subject, body, link, read_at FROM notifications
			WHERE user_id = ? ORDER BY at DESC LIMIT ?`, userID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n := &auth.Notification{}
			if err := rows.Scan(&n.ID, &n.UserID, tm(&n.At), &n.Kind, &n.Subject, &n.Body, &n.Link, tm(&n.ReadAt)); err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, err
}

// MarkNotificationsRead marks a user's unread notifications read.
func (db *DB) MarkNotificationsRead(ctx context.Context, userID string, at time.Time) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL`, at, userID)
		return err
	})
}
