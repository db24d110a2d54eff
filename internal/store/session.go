package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
)

const sessionColumns = `id_hash, user_id, created_at, last_seen_at, expires_at, auth_time, mfa_at, factors,
	remote_addr, user_agent, csrf_token, revoked_at`

func scanSession(sc interface{ Scan(...any) error }) (*auth.Session, error) {
	s := &auth.Session{}
	err := sc.Scan(&s.IDHash, &s.UserID, tm(&s.CreatedAt), tm(&s.LastSeenAt), tm(&s.ExpiresAt), tm(&s.AuthTime), tm(&s.MFAAt),
		&s.Factors, &s.RemoteAddr, &s.UserAgent, &s.CSRFToken, tm(&s.RevokedAt))
	return s, err
}

// CreateSession stores a new session; replaces, if set, is revoked in the
// same transaction (session rotation).
func (db *DB) CreateSession(ctx context.Context, s *auth.Session, replaces string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if replaces != "" {
			if _, err := tx.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE id_hash = ? AND revoked_at IS NULL`, tx.now, replaces); err != nil {
				return err
			}
		}
		if _, err := tx.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.IDHash, s.UserID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.AuthTime, s.MFAAt, s.Factors,
			s.RemoteAddr, s.UserAgent, s.CSRFToken, s.RevokedAt); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// SessionByHash returns a session.
func (db *DB) SessionByHash(ctx context.Context, hash string) (s *auth.Session, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		s, err = scanSession(tx.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id_hash = ?`, hash))
		if err == sql.ErrNoRows {
			return mamori.Errorf(mamori.ENOTFOUND, "The session was not found.")
		}
		return err
	})
	return s, err
}

// TouchSession records use of a session.
func (db *DB) TouchSession(ctx context.Context, hash string, at time.Time) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, at, hash)
		return err
	})
}

// SetSessionAuth records a fresh authentication in a session (step-up, MFA).
func (db *DB) SetSessionAuth(ctx context.Context, hash string, authTime time.Time, mfa bool, factors string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		q := `UPDATE sessions SET auth_time = ?, factors = ? WHERE id_hash = ? AND revoked_at IS NULL`
		args := []any{authTime, factors, hash}
		if mfa {
			q = `UPDATE sessions SET auth_time = ?, factors = ?, mfa_at = ? WHERE id_hash = ? AND revoked_at IS NULL`
			args = []any{authTime, factors, authTime, hash}
		}
		if err := tx.execOne(ctx, "The session has ended.", q, args...); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// RevokeSession ends one session of a user.
func (db *DB) RevokeSession(ctx context.Context, userID, hash string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.execOne(ctx, "The session was not found.", `UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?)
			WHERE id_hash = ? AND user_id = ?`, tx.now, hash, userID); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// RevokeUserSessions ends every session of a user except one.
func (db *DB) RevokeUserSessions(ctx context.Context, userID, except string, evs ...audit.Event) (n int, err error) {
	err = db.Update(ctx, func(tx *Tx) error {
		r, err := tx.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id_hash <> ? AND revoked_at IS NULL`,
			tx.now, userID, except)
		if err != nil {
			return err
		}
		m, _ := r.RowsAffected()
		n = int(m)
		return tx.appendAudit(ctx, evs...)
	})
	return n, err
}

// Sessions lists a user's sessions, newest first.
func (db *DB) Sessions(ctx context.Context, userID string) (out []*auth.Session, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? AND revoked_at IS NULL
			ORDER BY last_seen_at DESC LIMIT 100`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			s, err := scanSession(rows)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	return out, err
}

// CreatePending stores a short-lived state.
func (db *DB) CreatePending(ctx context.Context, p *auth.Pending) error {
	return db.Update(ctx, func(tx *Tx) error {
		// Expired states of any user are cleared on the way.
		if _, err := tx.exec(ctx, `DELETE FROM pending_logins WHERE expires_at < ?`, tx.now); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO pending_logins (id_hash, user_id, purpose, data, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, p.IDHash, nullable(p.UserID), p.Purpose, p.Data, p.CreatedAt, p.ExpiresAt)
		return err
	})
}

// nullable stores "" as NULL (for optional foreign keys).
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (tx *Tx) pending(ctx context.Context, hash, purpose string) (*auth.Pending, error) {
	p := &auth.Pending{}
	var user sql.NullString
	err := tx.queryRow(ctx, `SELECT id_hash, user_id, purpose, data, created_at, expires_at FROM pending_logins
		WHERE id_hash = ? AND purpose = ?`, hash, purpose).Scan(&p.IDHash, &user, &p.Purpose, &p.Data, tm(&p.CreatedAt), tm(&p.ExpiresAt))
	if err == sql.ErrNoRows {
		return nil, mamori.Errorf(mamori.ENOTFOUND, "The request has expired.")
	}
	p.UserID = user.String
	return p, err
}

// Pending reads a short-lived state.
func (db *DB) Pending(ctx context.Context, hash, purpose string) (p *auth.Pending, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		p, err = tx.pending(ctx, hash, purpose)
		return err
	})
	return p, err
}

// TakePending reads and deletes a short-lived state (single use).
func (db *DB) TakePending(ctx context.Context, hash, purpose string) (p *auth.Pending, err error) {
	err = db.Update(ctx, func(tx *Tx) error {
		if p, err = tx.pending(ctx, hash, purpose); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `DELETE FROM pending_logins WHERE id_hash = ?`, hash)
		return err
	})
	return p, err
}

// TOTP returns a user's confirmed authenticator secret (sealed).
func (db *DB) TOTP(ctx context.Context, userID string) (c *auth.TOTPCredential, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		c = &auth.TOTPCredential{}
		err := tx.queryRow(ctx, `SELECT user_id, secret, confirmed, last_step, created_at FROM totp_credentials WHERE user_id = ?`, userID).
			Scan(&c.UserID, &c.Secret, &c.Confirmed, &c.LastStep, tm(&c.CreatedAt))
		if err == sql.ErrNoRows {
			return mamori.Errorf(mamori.ENOTFOUND, "No authenticator app is enrolled.")
		}
		return err
	})
	return c, err
}

// SaveTOTP stores (or replaces) a user's authenticator secret.
func (db *DB) SaveTOTP(ctx context.Context, c *auth.TOTPCredential, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO totp_credentials (user_id, secret, confirmed, last_step, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed = excluded.confirmed,
			last_step = excluded.last_step, created_at = excluded.created_at`,
			c.UserID, c.Secret, c.Confirmed, c.LastStep, c.CreatedAt); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// UseTOTPStep records step as used if it is later than the last one; it
// reports false when another request already used it (or a later one).
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (ok bool, err error) {
	err = db.Update(ctx, func(tx *Tx) error {
		r, err := tx.exec(ctx, `UPDATE totp_credentials SET last_step = ? WHERE user_id = ? AND last_step < ?`, step, userID, step)
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		ok = n == 1
		return nil
	})
	return ok, err
}

// DeleteTOTP removes a user's authenticator secret.
func (db *DB) DeleteTOTP(ctx context.Context, userID string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.execOne(ctx, "No authenticator app is enrolled.", `DELETE FROM totp_credentials WHERE user_id = ?`, userID); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// ReplaceRecoveryCodes replaces a user's recovery codes.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := tx.exec(ctx, `INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES (?, ?, ?, ?)`,
				mamori.NewID(), userID, h, tx.now); err != nil {
				return err
			}
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// UseRecoveryCode marks an unused code as used; false when it is unknown or used.
func (db *DB) UseRecoveryCode(ctx context.Context, userID, hash string, evs ...audit.Event) (ok bool, err error) {
	err = db.Update(ctx, func(tx *Tx) error {
		r, err := tx.exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`, tx.now, userID, hash)
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		if ok = n > 0; !ok {
			return nil
		}
		return tx.appendAudit(ctx, evs...)
	})
	return ok, err
}

// RecoveryCodesLeft counts unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID string) (n int, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		return tx.queryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	})
	return n, err
}

// AddPasskey stores a WebAuthn credential.
func (db *DB) AddPasskey(ctx context.Context, p *auth.Passkey, evs ...audit.Event) error {
	cred, err := json.Marshal(p.Credential)
	if err != nil {
		return fmt.Errorf("encode passkey: %w", err)
	}
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO webauthn_credentials (id, user_id, name, credential, created_at) VALUES (?, ?, ?, ?, ?)`,
			p.ID, p.UserID, p.Name, string(cred), p.CreatedAt); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// Passkeys lists a user's passkeys.
func (db *DB) Passkeys(ctx context.Context, userID string) (out []*auth.Passkey, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT id, user_id, name, credential, created_at, last_used_at FROM webauthn_credentials
			WHERE user_id = ? ORDER BY created_at`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := &auth.Passkey{}
			var cred string
			if err := rows.Scan(&p.ID, &p.UserID, &p.Name, &cred, tm(&p.CreatedAt), tm(&p.LastUsedAt)); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(cred), &p.Credential); err != nil {
				return fmt.Errorf("decode passkey %s: %w", p.ID, err)
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// UpdatePasskeyUse stores the sign counter and flags after a use.
func (db *DB) UpdatePasskeyUse(ctx context.Context, p *auth.Passkey) error {
	cred, err := json.Marshal(p.Credential)
	if err != nil {
		return err
	}
	return db.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE webauthn_credentials SET credential = ?, last_used_at = ? WHERE id = ?`, string(cred), p.LastUsedAt, p.ID)
		return err
	})
}

// DeletePasskey removes one of a user's passkeys.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.execOne(ctx, "The passkey was not found.", `DELETE FROM webauthn_credentials WHERE id = ? AND user_id = ?`, id, userID); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// DeleteAllMFA removes every second factor of a user.
func (db *DB) DeleteAllMFA(ctx context.Context, userID string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		for _, q := range []string{`DELETE FROM totp_credentials WHERE user_id = ?`, `DELETE FROM webauthn_credentials WHERE user_id = ?`,
			`DELETE FROM recovery_codes WHERE user_id = ?`} {
			if _, err := tx.exec(ctx, q, userID); err != nil {
				return err
			}
		}
		return tx.appendAudit(ctx, evs...)
	})
}
