package store

import (
	"context"
	"encoding/base64"
	"fmt"
)

// EncryptedColumn is a column whose values are sealed by envelope
// encryption: a fresh data key per value, wrapped by the key-encryption
// key, with the associated data binding the value to (Table, Column, the
// row's value of Row). Every such column is listed here, so that key
// rotation re-wraps all of them and backups can prove they still open.
type EncryptedColumn struct {
	Table  string
	Column string
	Key    string // primary key column, to update one row
	Row    string // column whose value is the row in the associated data
	Where  string // condition selecting the sealed rows ("" for all)
	Base64 bool   // stored as base64 text rather than bytes
}

// encryptedColumns is THE registry of encrypted columns. A new module that
// seals a column adds it here (a test fails for a sealed column that is not
// listed: see TestEveryEncryptedColumnIsRegistered).
var encryptedColumns = []EncryptedColumn{
	{Table: "totp_credentials", Column: "secret", Key: "user_id", Row: "user_id"},
	{Table: "pending_logins", Column: "data", Key: "id_hash", Row: "user_id", Where: "purpose = 'totp_enrol'", Base64: true},
	{Table: "files", Column: "file_key", Key: "sha256", Row: "sha256"},
}

// EncryptedColumns returns the registry.
func EncryptedColumns() []EncryptedColumn { return append([]EncryptedColumn(nil), encryptedColumns...) }

// Name is "table.column".
func (c EncryptedColumn) Name() string { return c.Table + "." + c.Column }

// SealedValue is one encrypted value and where it is bound.
type SealedValue struct {
	Column EncryptedColumn
	Key    string // primary key value
	Row    string // the row in the associated data
	Value  []byte // the ciphertext
}

func (c EncryptedColumn) decode(raw any) ([]byte, error) {
	var b []byte
	switch v := raw.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	case nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("%s: unexpected type %T", c.Name(), raw)
	}
	if !c.Base64 {
		return append([]byte(nil), b...), nil
	}
	return base64.StdEncoding.DecodeString(string(b))
}

func (c EncryptedColumn) encode(ct []byte) any {
	if c.Base64 {
		return base64.StdEncoding.EncodeToString(ct)
	}
	return ct
}

// sealedPage reads up to limit values of c with a primary key after after.
func (tx *Tx) sealedPage(ctx context.Context, c EncryptedColumn, after string, limit int) ([]SealedValue, error) {
	q := fmt.Sprintf(`SELECT %s, COALESCE(%s, ''), %s FROM %s WHERE %s > ?`, c.Key, c.Row, c.Column, c.Table, c.Key)
	if c.Where != "" {
		q += ` AND ` + c.Where
	}
	q += fmt.Sprintf(` ORDER BY %s LIMIT ?`, c.Key)
	rows, err := tx.query(ctx, q, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Name(), err)
	}
	defer rows.Close()
	var out []SealedValue
	for rows.Next() {
		v := SealedValue{Column: c}
		var raw any
		if err := rows.Scan(&v.Key, &v.Row, &raw); err != nil {
			return nil, err
		}
		if v.Value, err = c.decode(raw); err != nil {
			return nil, fmt.Errorf("%s of %s: %w", c.Name(), v.Key, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// EachSealed calls fn for every encrypted value of every registered column,
// reading in pages of batch rows (each page its own short read transaction,
// so a large table never holds a long one open).
func (db *DB) EachSealed(ctx context.Context, batch int, fn func(SealedValue) error) error {
	if batch <= 0 {
		batch = 500
	}
	for _, c := range encryptedColumns {
		after := ""
		for {
			var page []SealedValue
			if err := db.View(ctx, func(tx *Tx) (err error) {
				page, err = tx.sealedPage(ctx, c, after, batch)
				return err
			}); err != nil {
				return err
			}
			for _, v := range page {
				if err := fn(v); err != nil {
					return err
				}
			}
			if len(page) < batch {
				break
			}
			after = page[len(page)-1].Key
		}
	}
	return nil
}

// RewrapStats counts the work of a re-wrap pass over one column.
type RewrapStats struct {
	Column    string
	Values    int // sealed values read
	Rewrapped int // data keys moved to the primary key
	Changed   int // values changed by someone else meanwhile (left as they are)
}

// Rewrap moves the data key of every encrypted value under the primary
// key-encryption key, in batches, while the server runs: each batch is one
// short write transaction, and a value is replaced only if it is still the
// one read (a value re-sealed meanwhile is left alone). rewrap is
// envelope.Sealer.Rewrap; progress, if not nil, is called after each batch.
func (db *DB) Rewrap(ctx context.Context, rewrap func([]byte) ([]byte, bool, error), batch int,
	progress func(RewrapStats)) ([]RewrapStats, error) {
	if batch <= 0 {
		batch = 500
	}
	var all []RewrapStats
	for _, c := range encryptedColumns {
		st := RewrapStats{Column: c.Name()}
		after := ""
		for {
			var page []SealedValue
			if err := db.View(ctx, func(tx *Tx) (err error) {
				page, err = tx.sealedPage(ctx, c, after, batch)
				return err
			}); err != nil {
				return all, err
			}
			type change struct {
				key      string
				old, new []byte
			}
			var changes []change
			for _, v := range page {
				nv, changed, err := rewrap(v.Value)
				if err != nil {
					return all, fmt.Errorf("re-wrap %s of %s: %w", c.Name(), v.Key, err)
				}
				if changed {
					changes = append(changes, change{v.Key, v.Value, nv})
				}
			}
			st.Values += len(page)
			if len(changes) > 0 {
				err := db.Update(ctx, func(tx *Tx) error {
					for _, ch := range changes {
						r, err := tx.exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s = ? AND %s = ?`, c.Table, c.Column, c.Key, c.Column),
							c.encode(ch.new), ch.key, c.encode(ch.old))
						if err != nil {
							return fmt.Errorf("re-wrap %s of %s: %w", c.Name(), ch.key, err)
						}
						if n, _ := r.RowsAffected(); n == 1 {
							st.Rewrapped++
						} else {
							st.Changed++
						}
					}
					return nil
				})
				if err != nil {
					return all, err
				}
			}
			if progress != nil {
				progress(st)
			}
			if len(page) < batch {
				break
			}
			after = page[len(page)-1].Key
		}
		all = append(all, st)
	}
	return all, nil
}
