package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/backup"
)

var _ backup.DrillStore = (*DB)(nil)

// AddDrill records a backup run and its audit event in one transaction.
func (db *DB) AddDrill(ctx context.Context, d *backup.Drill, ev audit.Event) error {
	locs, err := json.Marshal(d.Locations)
	if err != nil {
		return err
	}
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO backup_drills (id, started_at, finished_at, kind, file_name, locations, size, sha256,
			audit_events, create_ms, verify_ms, restore_ms, verified, restored, audit_verified, outcome, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.StartedAt, d.FinishedAt, d.Kind, d.FileName, string(locs), d.Size, d.SHA256, d.AuditEvents,
			d.CreateMS, d.VerifyMS, d.RestoreMS, d.Verified, d.Restored, d.AuditVerified, d.Outcome, d.Error); err != nil {
			return fmt.Errorf("record restore drill: %w", err)
		}
		return tx.appendAudit(ctx, ev)
	})
}

const drillColumns = `id, started_at, finished_at, kind, file_name, locations, size, sha256, audit_events,
	create_ms, verify_ms, restore_ms, verified, restored, audit_verified, outcome, error`

func scanDrill(sc interface{ Scan(...any) error }) (*backup.Drill, error) {
	d := &backup.Drill{}
	var locs string
	if err := sc.Scan(&d.ID, tm(&d.StartedAt), tm(&d.FinishedAt), &d.Kind, &d.FileName, &locs, &d.Size, &d.SHA256,
		&d.AuditEvents, &d.CreateMS, &d.VerifyMS, &d.RestoreMS, &d.Verified, &d.Restored, &d.AuditVerified,
		&d.Outcome, &d.Error); err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(locs), &d.Locations)
	return d, nil
}

// Drills lists the latest backup runs, newest first.
func (db *DB) Drills(ctx context.Context, limit int) (out []*backup.Drill, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+drillColumns+` FROM backup_drills ORDER BY started_at DESC LIMIT ?`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDrill(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

// LatestDrill returns the latest backup run of a kind.
func (db *DB) LatestDrill(ctx context.Context, kind string) (d *backup.Drill, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		d, err = scanDrill(tx.queryRow(ctx, `SELECT `+drillColumns+` FROM backup_drills WHERE kind = ? ORDER BY started_at DESC LIMIT 1`, kind))
		if err == sql.ErrNoRows {
			return mamori.Errorf(mamori.ENOTFOUND, "No backup has been made yet.")
		}
		return err
	})
	return d, err
}
