package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
)

var _ auth.Store = (*DB)(nil)

const userColumns = `u.id, u.email, u.display_name, u.department, u.locale, u.password_hash, u.password_changed_at,
	u.must_change_password, u.status, u.status_reason, u.valid_from, u.valid_until, u.decoy, u.last_sign_in_at,
	u.last_sign_in_addr, u.created_at, u.updated_at, u.version,
	(SELECT count(*) FROM totp_credentials t WHERE t.user_id = u.id AND t.confirmed = ?),
	(SELECT count(*) FROM webauthn_credentials w WHERE w.user_id = u.id)`

func scanUser(sc interface{ Scan(...any) error }) (*auth.User, error) {
	u := &auth.User{}
	var totp, passkeys int
	err := sc.Scan(&u.ID, &u.Email, &u.DisplayName, &u.Department, &u.Locale, &u.PasswordHash, tm(&u.PasswordChangedAt),
		&u.MustChangePassword, &u.Status, &u.StatusReason, tm(&u.ValidFrom), tm(&u.ValidUntil), &u.Decoy, tm(&u.LastSignInAt),
		&u.LastSignInAddr, tm(&u.CreatedAt), tm(&u.UpdatedAt), &u.Version, &totp, &passkeys)
	if err != nil {
		return nil, err
	}
	u.HasTOTP, u.Passkeys = totp > 0, passkeys
	return u, nil
}

func (tx *Tx) userWhere(ctx context.Context, where string, args ...any) (*auth.User, error) {
	row := tx.queryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE `+where, append([]any{true}, args...)...)
	u, err := scanUser(row)
	if err == sql.ErrNoRows {
		return nil, mamori.Errorf(mamori.ENOTFOUND, "The user was not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if u.Roles, err = tx.userRoles(ctx, u.ID); err != nil {
		return nil, err
	}
	return u, nil
}

func (tx *Tx) userRoles(ctx context.Context, id string) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT role FROM user_roles WHERE user_id = ? ORDER BY role`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var roles []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		roles = append(roles, r)
	}
	auth.SortRoles(roles)
	return roles, rows.Err()
}

// UserByID returns a user with roles and MFA state.
func (db *DB) UserByID(ctx context.Context, id string) (u *auth.User, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		u, err = tx.userWhere(ctx, `u.id = ?`, id)
		return err
	})
	return u, err
}

// UserByEmail returns the user with this (normalised) address.
func (db *DB) UserByEmail(ctx context.Context, email string) (u *auth.User, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		u, err = tx.userWhere(ctx, `u.email = ?`, email)
		return err
	})
	return u, err
}

// CreateUser inserts a user and their roles.
func (db *DB) CreateUser(ctx context.Context, u *auth.User, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO users (id, email, display_name, department, locale, password_hash,
			password_changed_at, must_change_password, status, status_reason, valid_from, valid_until, decoy,
			created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			u.ID, u.Email, u.DisplayName, u.Department, u.Locale, u.PasswordHash, u.PasswordChangedAt,
			u.MustChangePassword, u.Status, u.StatusReason, u.ValidFrom, u.ValidUntil, u.Decoy, u.CreatedAt, u.UpdatedAt); err != nil {
			return err
		}
		for _, r := range u.Roles {
			if _, err := tx.exec(ctx, `INSERT INTO user_roles (user_id, role, granted_by, granted_at) VALUES (?, ?, ?, ?)`,
				u.ID, r, actorID(ctx), tx.now); err != nil {
				return err
			}
		}
		return tx.appendAudit(ctx, evs...)
	})
}

func actorID(ctx context.Context) string { return mamori.ActorFrom(ctx).ID() }

// UpdateUser writes the editable fields and the status, checking the
// version so that two administrators' edits cannot silently overwrite.
func (db *DB) UpdateUser(ctx context.Context, u *auth.User, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		r, err := tx.exec(ctx, `UPDATE users SET display_name = ?, department = ?, locale = ?, status = ?, status_reason = ?,
			valid_from = ?, valid_until = ?, decoy = ?, last_sign_in_at = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ?`,
			u.DisplayName, u.Department, u.Locale, u.Status, u.StatusReason, u.ValidFrom, u.ValidUntil, u.Decoy,
			u.LastSignInAt, u.UpdatedAt, u.ID, u.Version)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return mamori.Errorf(mamori.ECONFLICT, "The account was changed by someone else. Reload and try again.")
		}
		u.Version++
		return tx.appendAudit(ctx, evs...)
	})
}

// SetRoles replaces a user's roles.
func (db *DB) SetRoles(ctx context.Context, userID string, roles []string, by string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM user_roles WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, r := range roles {
			if _, err := tx.exec(ctx, `INSERT INTO user_roles (user_id, role, granted_by, granted_at) VALUES (?, ?, ?, ?)`,
				userID, r, by, tx.now); err != nil {
				return err
			}
		}
		if err := tx.execOne(ctx, "The user was not found.", `UPDATE users SET updated_at = ?, version = version + 1 WHERE id = ?`, tx.now, userID); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// SetPassword stores a new password hash.
func (db *DB) SetPassword(ctx context.Context, userID, hash string, mustChange bool, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.execOne(ctx, "The user was not found.", `UPDATE users SET password_hash = ?, password_changed_at = ?,
			must_change_password = ? WHERE id = ?`, hash, tx.now, mustChange, userID); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// Users lists users matching f and the total count.
func (db *DB) Users(ctx context.Context, f auth.UserFilter) (out []*auth.User, total int, err error) {
	where, args := []string{"1 = 1"}, []any{true}
	if f.Query != "" {
		where = append(where, `(lower(u.email) LIKE ? ESCAPE '\' OR lower(u.display_name) LIKE ? ESCAPE '\' OR lower(u.department) LIKE ? ESCAPE '\')`)
		q := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		args = append(args, q, q, q)
	}
	if f.Status != "" {
		where = append(where, `u.status = ?`)
		args = append(args, f.Status)
	}
	if f.Role != "" {
		where = append(where, `EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = ?)`)
		args = append(args, f.Role)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit, max(f.Offset, 0))
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+userColumns+`, COUNT(*) OVER () FROM users u WHERE `+strings.Join(where, " AND ")+
			` ORDER BY u.email LIMIT ? OFFSET ?`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u := &auth.User{}
			var totp, passkeys int
			if err := rows.Scan(&u.ID, &u.Email, &u.DisplayName, &u.Department, &u.Locale, &u.PasswordHash, tm(&u.PasswordChangedAt),
				&u.MustChangePassword, &u.Status, &u.StatusReason, tm(&u.ValidFrom), tm(&u.ValidUntil), &u.Decoy, tm(&u.LastSignInAt),
				&u.LastSignInAddr, tm(&u.CreatedAt), tm(&u.UpdatedAt), &u.Version, &totp, &passkeys, &total); err != nil {
				return err
			}
			u.HasTOTP, u.Passkeys = totp > 0, passkeys
			out = append(out, u)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for _, u := range out {
			if u.Roles, err = tx.userRoles(ctx, u.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, total, err
}

// escapeLike makes user input literal inside a LIKE pattern; queries say
// ESCAPE '\' (both engines support it).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// CountUsers counts all accounts.
func (db *DB) CountUsers(ctx context.Context) (n int, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		return tx.queryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	})
	return n, err
}

// RecordSignIn stores a sign-in event; on success it also updates the
// user's last sign-in.
func (db *DB) RecordSignIn(ctx context.Context, e *auth.SignInEvent, success bool, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO sign_in_events (id, at, user_id, login, action, factor, outcome, reason,
			remote_addr, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.At, e.UserID, e.Login, e.Action, e.Factor, e.Outcome, e.Reason, e.RemoteAddr, e.UserAgent); err != nil {
			return err
		}
		if success && e.UserID != "" {
			if _, err := tx.exec(ctx, `UPDATE users SET last_sign_in_at = ?, last_sign_in_addr = ? WHERE id = ?`,
				e.At, e.RemoteAddr, e.UserID); err != nil {
				return err
			}
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// SignInEvents searches the sign-in history, newest first.
func (db *DB) SignInEvents(ctx context.Context, f auth.SignInFilter) (out []*auth.SignInEvent, total int, err error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if f.Login != "" {
		where, args = append(where, `login LIKE ? ESCAPE '\'`), append(args, "%"+escapeLike(strings.ToLower(f.Login))+"%")
	}
	if f.RemoteAddr != "" {
		where, args = append(where, `remote_addr LIKE ? ESCAPE '\'`), append(args, escapeLike(f.RemoteAddr)+"%")
	}
	if f.Outcome != "" {
		where, args = append(where, "outcome = ?"), append(args, f.Outcome)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, f.Since)
	}
	if !f.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, f.Until)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit, max(f.Offset, 0))
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT id, at, user_id, login, action, factor, outcome, reason, remote_addr, user_agent,
			COUNT(*) OVER () FROM sign_in_events WHERE `+strings.Join(where, " AND ")+` ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e := &auth.SignInEvent{}
			if err := rows.Scan(&e.ID, tm(&e.At), &e.UserID, &e.Login, &e.Action, &e.Factor, &e.Outcome, &e.Reason,
				&e.RemoteAddr, &e.UserAgent, &total); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, total, err
}

// Setting returns a stored setting, or ENOTFOUND.
func (db *DB) Setting(ctx context.Context, key string) (v string, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		err := tx.queryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
		if err == sql.ErrNoRows {
			return mamori.Errorf(mamori.ENOTFOUND, "The setting is not set.")
		}
		return err
	})
	return v, err
}

// SetSetting stores a setting.
func (db *DB) SetSetting(ctx context.Context, key, value, by string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			key, value, tx.now, by); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// AddAccessReview stores a recorded access review.
func (db *DB) AddAccessReview(ctx context.Context, r *auth.AccessReview, evs ...audit.Event) error {
	accounts, err := r.AccountsJSON()
	if err != nil {
		return err
	}
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO access_reviews (id, reviewer_id, reviewed_at, note, accounts) VALUES (?, ?, ?, ?, ?)`,
			r.ID, r.ReviewerID, r.ReviewedAt, r.Note, accounts); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// AccessReviews lists reviews, newest first (without the snapshots).
func (db *DB) AccessReviews(ctx context.Context, limit int) (out []*auth.AccessReview, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT id, reviewer_id, reviewed_at, note FROM access_reviews ORDER BY reviewed_at DESC LIMIT ?`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := &auth.AccessReview{}
			if err := rows.Scan(&r.ID, &r.ReviewerID, tm(&r.ReviewedAt), &r.Note); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}
