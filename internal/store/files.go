package store

import (
	"context"
	"database/sql"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/files"
)

var _ files.Store = (*DB)(nil)

// File returns the record of stored content.
func (db *DB) File(ctx context.Context, sha string) (*files.Stored, error) {
	f := &files.Stored{}
	err := db.View(ctx, func(tx *Tx) error {
		err := tx.queryRow(ctx, `SELECT sha256, size, media_type, blob, file_key, created_at, created_by FROM files WHERE sha256 = ?`, sha).
			Scan(&f.SHA256, &f.Size, &f.MediaType, &f.Blob, &f.Key, tm(&f.CreatedAt), &f.CreatedBy)
		if err == sql.ErrNoRows {
			return mamori.Errorf(mamori.ENOTFOUND, "The file was not found.")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// AddFile records stored content and its audit event in one transaction;
// content recorded already is kept (added is false, and no event is written).
func (db *DB) AddFile(ctx context.Context, f *files.Stored, ev audit.Event) (added bool, err error) {
	err = db.Update(ctx, func(tx *Tx) error {
		r, err := tx.exec(ctx, `INSERT INTO files (sha256, size, media_type, blob, file_key, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
			f.SHA256, f.Size, f.MediaType, f.Blob, f.Key, tx.now, f.CreatedBy)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil
		}
		added = true
		return tx.appendAudit(ctx, ev)
	})
	return added, err
}

// EachFile calls fn with the SHA-256 of every stored file.
func (db *DB) EachFile(ctx context.Context, fn func(sha string) error) error {
	var shas []string
	err := db.View(ctx, func(tx *Tx) (err error) {
		shas, err = tx.strings(ctx, `SELECT sha256 FROM files ORDER BY sha256`)
		return err
	})
	if err != nil {
		return err
	}
	for _, s := range shas {
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}
