package store

import (
	"context"
	"fmt"

	"github.com/mamori-dev/mamori/internal/audit"
)

// auditLockKey serialises audit appends on PostgreSQL, where several
// connections write at once; SQLite's single writer already does.
const auditLockKey = 7283916

// appendAudit writes events in tx, the same transaction as the change they
// record, as the next leaves of the Merkle tree.
func (tx *Tx) appendAudit(ctx context.Context, evs ...audit.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if tx.db.dialect == Postgres {
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, auditLockKey); err != nil {
			return fmt.Errorf("lock audit trail: %w", err)
		}
	}
	var next int64
	if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_events`).Scan(&next); err != nil {
		return fmt.Errorf("read audit size: %w", err)
	}
	for i := range evs {
		e := &evs[i]
		if err := e.Prepare(next, tx.now); err != nil {
			return err
		}
		details, err := e.DetailsJSON()
		if err != nil {
			return err
		}
		leaf := audit.LeafHash(e.Canonical(details))
		if _, err := tx.exec(ctx, `INSERT INTO audit_events (seq, id, at, type, code, actor_id, remote_addr, request_id,
			target_type, target_id, outcome, details, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.ID, e.Time, string(e.Type), e.Code, e.ActorID, e.RemoteAddr, e.RequestID,
			e.TargetType, e.TargetID, string(e.Outcome), details, leaf); err != nil {
			return fmt.Errorf("append audit event %s: %w", e.Type, err)
		}
		next++
	}
	return nil
}

// AppendAudit records events that go with no data change (a failed sign-in,
// a denied request, an export). Callers pass a context that outlives the
// client (context.WithoutCancel) so a disconnect cannot drop the record.
func (db *DB) AppendAudit(ctx context.Context, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.appendAudit(ctx, evs...) })
}
