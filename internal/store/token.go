package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
)

const tokenColumns = `id, user_id, name, token_hash, scope, expires_at, created_at, last_used_at, last_used_addr, revoked_at`

func scanToken(sc interface{ Scan(...any) error }) (*auth.Token, error) {
	t := &auth.Token{}
	err := sc.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &t.Scope, tm(&t.ExpiresAt), tm(&t.CreatedAt), tm(&t.LastUsedAt), &t.LastUsedAddr, tm(&t.RevokedAt))
	return t, err
}

// CreateToken stores an API token (its hash).
func (db *DB) CreateToken(ctx context.Context, t *auth.Token, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO api_tokens (id, user_id, name, token_hash, scope, expires_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, t.UserID, t.Name, t.Hash, t.Scope, t.ExpiresAt, t.CreatedAt); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// TokenByHash finds a token by the hash of its secret.
func (db *DB) TokenByHash(ctx context.Context, hash string) (t *auth.Token, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		t, err = scanToken(tx.queryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash = ?`, hash))
		if err == sql.ErrNoRows {
			return mamori.Errorf(mamori.ENOTFOUND, "The token was not found.")
		}
		return err
	})
	return t, err
}

// Tokens lists a user's tokens, newest first.
func (db *DB) Tokens(ctx context.Context, userID string) (out []*auth.Token, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// RevokeToken revokes one of a user's tokens.
func (db *DB) RevokeToken(ctx context.Context, userID, id string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.execOne(ctx, "The token was not found.", `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`,
			tx.now, id, userID); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// TouchToken records a token's use.
func (db *DB) TouchToken(ctx context.Context, id string, at time.Time, addr string) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE api_tokens SET last_used_at = ?, last_used_addr = ? WHERE id = ?`, at, addr, id)
		return err
	})
}

const throttleColumns = `key, failures, window_start, locked_until, lockouts, updated_at`

func scanThrottle(sc interface{ Scan(...any) error }) (*auth.Throttle, error) {
	t := &auth.Throttle{}
	err := sc.Scan(&t.Key, &t.Failures, tm(&t.WindowStart), tm(&t.LockedUntil), &t.Lockouts, tm(&t.UpdatedAt))
	return t, err
}

// Throttle returns the failure counter of a key.
func (db *DB) Throttle(ctx context.Context, key string) (t *auth.Throttle, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		t, err = scanThrottle(tx.queryRow(ctx, `SELECT `+throttleColumns+` FROM throttles WHERE key = ?`, key))
		if err == sql.ErrNoRows {
			return mamori.Errorf(mamori.ENOTFOUND, "No throttle.")
		}
		return err
	})
	return t, err
}

// SaveThrottle stores a failure counter.
func (db *DB) SaveThrottle(ctx context.Context, t *auth.Throttle, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO throttles (`+throttleColumns+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start,
			locked_until = excluded.locked_until, lockouts = excluded.lockouts, updated_at = excluded.updated_at`,
			t.Key, t.Failures, t.WindowStart, t.LockedUntil, t.Lockouts, t.UpdatedAt); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// DeleteThrottle forgets a key's failures and lock (administrator unlock).
func (db *DB) DeleteThrottle(ctx context.Context, key string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.execOne(ctx, "Nothing is locked under this name.", `DELETE FROM throttles WHERE key = ?`, key); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// LockedThrottles lists keys locked at now.
func (db *DB) LockedThrottles(ctx context.Context, now time.Time) (out []*auth.Throttle, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+throttleColumns+` FROM throttles WHERE locked_until > ? ORDER BY locked_until DESC LIMIT 500`, now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanThrottle(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// CreateOneTimeToken stores a reset or invitation token (its hash). Older
// unused tokens of the same purpose for the user stop working.
func (db *DB) CreateOneTimeToken(ctx context.Context, t *auth.OneTimeToken, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `UPDATE one_time_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL`,
			tx.now, t.UserID, t.Purpose); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO one_time_tokens (token_hash, purpose, user_id, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, t.Hash, t.Purpose, t.UserID, t.CreatedBy, t.CreatedAt, t.ExpiresAt); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

func (tx *Tx) oneTimeToken(ctx context.Context, hash, purpose string) (*auth.OneTimeToken, error) {
	t := &auth.OneTimeToken{}
	err := tx.queryRow(ctx, `SELECT token_hash, purpose, user_id, created_by, created_at, expires_at, used_at FROM one_time_tokens
		WHERE token_hash = ? AND purpose = ?`, hash, purpose).Scan(&t.Hash, &t.Purpose, &t.UserID, &t.CreatedBy, tm(&t.CreatedAt), tm(&t.ExpiresAt), tm(&t.UsedAt))
	if err == sql.ErrNoRows {
		return nil, mamori.Errorf(mamori.ENOTFOUND, "The link is invalid.")
	}
	return t, err
}

// OneTimeToken reads a token without using it.
func (db *DB) OneTimeToken(ctx context.Context, hash, purpose string) (t *auth.OneTimeToken, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		t, err = tx.oneTimeToken(ctx, hash, purpose)
		return err
	})
	return t, err
}

// ConsumeOneTimeToken marks an unused, unexpired token used and returns it.
func (db *DB) ConsumeOneTimeToken(ctx context.Context, hash, purpose string, now time.Time) (t *auth.OneTimeToken, err error) {
	err = db.Update(ctx, func(tx *Tx) error {
		if err := tx.execOne(ctx, "The link is invalid, expired or already used.", `UPDATE one_time_tokens SET used_at = ?
			WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`, now, hash, purpose, now); err != nil {
			return err
		}
		t, err = tx.oneTimeToken(ctx, hash, purpose)
		return err
	})
	return t, err
}
