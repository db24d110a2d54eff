package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/control"
)

var _ control.Store = (*DB)(nil)

const catalogColumns = `key, framework_id, edition, name, items, basic, desirable, format, file_name, sha256, imported_by, imported_at`

// StoredCatalogs lists the imported catalogs (without their documents).
func (db *DB) StoredCatalogs(ctx context.Context) (out []*control.StoredCatalog, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+catalogColumns+` FROM catalogs ORDER BY key`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			sc := &control.StoredCatalog{}
			var name string
			if err := rows.Scan(&sc.Key, &sc.FrameworkID, &sc.Edition, &name, &sc.Items, &sc.Basic, &sc.Desirable, &sc.Format,
				&sc.FileName, &sc.SHA256, &sc.ImportedBy, tm(&sc.ImportedAt)); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(name), &sc.Name); err != nil {
				return fmt.Errorf("catalog %s: name: %w", sc.Key, err)
			}
			out = append(out, sc)
		}
		return rows.Err()
	})
	return out, err
}

// StoredCatalogDocument returns an imported catalog in mamori's JSON shape.
func (db *DB) StoredCatalogDocument(ctx context.Context, key string) (doc []byte, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		var s string
		err := tx.queryRow(ctx, `SELECT document FROM catalogs WHERE key = ?`, key).Scan(&s)
		if err == sql.ErrNoRows {
			return mamori.Errorf(mamori.ENOTFOUND, "There is no catalog %q.", key)
		}
		doc = []byte(s)
		return err
	})
	return doc, err
}

// CreateCatalog stores an imported catalog.
func (db *DB) CreateCatalog(ctx context.Context, sc *control.StoredCatalog, doc []byte, evs ...audit.Event) error {
	name, err := json.Marshal(sc.Name)
	if err != nil {
		return err
	}
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO catalogs (`+catalogColumns+`, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sc.Key, sc.FrameworkID, sc.Edition, string(name), sc.Items, sc.Basic, sc.Desirable, sc.Format, sc.FileName, sc.SHA256,
			sc.ImportedBy, sc.ImportedAt, string(doc)); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// DeleteCatalog removes an imported catalog that no assessment uses.
func (db *DB) DeleteCatalog(ctx context.Context, key string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.queryRow(ctx, `SELECT count(*) FROM assessments WHERE catalog_key = ?`, key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return mamori.Errorf(mamori.ECONFLICT, "Assessments use this catalog; it cannot be deleted.")
		}
		if err := tx.execOne(ctx, "There is no such catalog.", `DELETE FROM catalogs WHERE key = ?`, key); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}
