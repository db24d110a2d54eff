package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/control"
)

var errStale = mamori.Errorf(mamori.ECONFLICT, "Someone else changed this in the meantime. Reload the page and try again.")

const assessmentColumns = `id, title, catalog_key, profile, conditions, period_start, period_end, state, previous_id,
	submitted_by, submitted_at, signed_off_by, signed_off_at, sign_off_note, created_by, created_at, updated_at, version, revision`

func scanAssessment(sc interface{ Scan(...any) error }) (*control.Assessment, error) {
	a := &control.Assessment{}
	var conds string
	var prev sql.NullString
	var profile, state string
	err := sc.Scan(&a.ID, &a.Title, &a.CatalogKey, &profile, &conds, tm(&a.PeriodStart), tm(&a.PeriodEnd), &state, &prev,
		&a.SubmittedBy, tm(&a.SubmittedAt), &a.SignedOffBy, tm(&a.SignedOffAt), &a.SignOffNote, &a.CreatedBy, tm(&a.CreatedAt),
		tm(&a.UpdatedAt), &a.Version, &a.Revision)
	if err != nil {
		return nil, err
	}
	a.Profile, a.State, a.PreviousID = control.Profile(profile), control.State(state), prev.String
	if err := json.Unmarshal([]byte(conds), &a.Conditions); err != nil {
		return nil, fmt.Errorf("assessment %s: conditions: %w", a.ID, err)
	}
	return a, nil
}

func (tx *Tx) assessment(ctx context.Context, id string) (*control.Assessment, error) {
	a, err := scanAssessment(tx.queryRow(ctx, `SELECT `+assessmentColumns+` FROM assessments WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, mamori.Errorf(mamori.ENOTFOUND, "The assessment was not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("load assessment: %w", err)
	}
	if a.Scope, err = tx.scope(ctx, id); err != nil {
		return nil, err
	}
	return a, nil
}

func (tx *Tx) scope(ctx context.Context, id string) ([]control.ScopeEntry, error) {
	rows, err := tx.query(ctx, `SELECT kind, ref, label FROM assessment_scope WHERE assessment_id = ? ORDER BY position`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []control.ScopeEntry{}
	for rows.Next() {
		var e control.ScopeEntry
		var kind string
		if err := rows.Scan(&kind, &e.Ref, &e.Label); err != nil {
			return nil, err
		}
		e.Kind = control.ScopeKind(kind)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (tx *Tx) writeScope(ctx context.Context, a *control.Assessment) error {
	if _, err := tx.exec(ctx, `DELETE FROM assessment_scope WHERE assessment_id = ?`, a.ID); err != nil {
		return err
	}
	for i, e := range a.Scope {
		if _, err := tx.exec(ctx, `INSERT INTO assessment_scope (assessment_id, position, kind, ref, label) VALUES (?, ?, ?, ?, ?)`,
			a.ID, i, string(e.Kind), e.Ref, e.Label); err != nil {
			return err
		}
	}
	return nil
}

func frameworkOf(key string) string {
	fw, _, _ := strings.Cut(key, "@")
	return fw
}

func (tx *Tx) insertAssessment(ctx context.Context, a *control.Assessment) error {
	conds, err := json.Marshal(a.Conditions)
	if err != nil {
		return err
	}
	if a.Conditions == nil {
		conds = []byte("[]")
	}
	if _, err := tx.exec(ctx, `INSERT INTO assessments (`+assessmentColumns+`, framework_id) VALUES
		(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Title, a.CatalogKey, string(a.Profile), string(conds), a.PeriodStart, a.PeriodEnd, string(a.State), nullable(a.PreviousID),
		a.SubmittedBy, a.SubmittedAt, a.SignedOffBy, a.SignedOffAt, a.SignOffNote, a.CreatedBy, a.CreatedAt, a.UpdatedAt, a.Version,
		a.Revision, frameworkOf(a.CatalogKey)); err != nil {
		return err
	}
	return tx.writeScope(ctx, a)
}

// CreateAssessment stores a new assessment with its items and any evidence
// carried over from a previous one.
func (db *DB) CreateAssessment(ctx context.Context, a *control.Assessment, items []*control.Item, evidence []*control.Evidence, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.insertAssessment(ctx, a); err != nil {
			return err
		}
		for _, it := range items {
			if err := tx.insertItem(ctx, it); err != nil {
				return err
			}
		}
		for _, e := range evidence {
			if err := tx.insertEvidence(ctx, e); err != nil {
				return err
			}
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// Assessment returns one assessment with its scope.
func (db *DB) Assessment(ctx context.Context, id string) (a *control.Assessment, err error) {
	if !mamori.ValidID(id) {
		return nil, mamori.Errorf(mamori.ENOTFOUND, "The assessment was not found.")
	}
	err = db.View(ctx, func(tx *Tx) error {
		a, err = tx.assessment(ctx, id)
		return err
	})
	return a, err
}

// Assessments lists assessments, newest first.
func (db *DB) Assessments(ctx context.Context, f control.AssessmentFilter) (out []*control.Assessment, err error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	if f.Catalog != "" {
		where, args = append(where, "framework_id = ?"), append(args, f.Catalog)
	}
	args = append(args, max(f.Limit, 1))
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+assessmentColumns+` FROM assessments WHERE `+strings.Join(where, " AND ")+
			` ORDER BY created_at DESC, id DESC LIMIT ?`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			a, err := scanAssessment(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, a := range out {
			if a.Scope, err = tx.scope(ctx, a.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

func (tx *Tx) updateHeader(ctx context.Context, a *control.Assessment) error {
	conds, err := json.Marshal(a.Conditions)
	if err != nil {
		return err
	}
	r, err := tx.exec(ctx, `UPDATE assessments SET title = ?, profile = ?, conditions = ?, period_start = ?, period_end = ?, updated_at = ?,
		version = version + 1, revision = revision + 1 WHERE id = ? AND version = ? AND state <> 'signed_off'`,
		a.Title, string(a.Profile), string(conds), a.PeriodStart, a.PeriodEnd, a.UpdatedAt, a.ID, a.Version)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return errStale
	}
	return tx.writeScope(ctx, a)
}

// UpdateAssessment writes the header of an assessment that is not signed
// off, if its version is still a.Version.
func (db *DB) UpdateAssessment(ctx context.Context, a *control.Assessment, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.updateHeader(ctx, a); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// SetAssessmentState writes the workflow fields if nothing in the
// assessment changed since revision rev.
func (db *DB) SetAssessmentState(ctx context.Context, a *control.Assessment, rev int, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		r, err := tx.exec(ctx, `UPDATE assessments SET state = ?, submitted_by = ?, submitted_at = ?, signed_off_by = ?, signed_off_at = ?,
			sign_off_note = ?, updated_at = ?, revision = revision + 1 WHERE id = ? AND revision = ?`,
			string(a.State), a.SubmittedBy, a.SubmittedAt, a.SignedOffBy, a.SignedOffAt, a.SignOffNote, a.UpdatedAt, a.ID, rev)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return errStale
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// touch records that something inside an assessment changed.
func (tx *Tx) touch(ctx context.Context, assessmentID string) error {
	_, err := tx.exec(ctx, `UPDATE assessments SET revision = revision + 1, updated_at = ? WHERE id = ?`, tx.now, assessmentID)
	return err
}

const itemColumns = `i.id, i.assessment_id, i.node_id, i.status, i.target_date, i.rationale, i.owner_id, i.due_date, i.explanation, i.notes,
	i.accept_reason, i.accept_until, i.accept_approval_id, aa.status, aa.decided_by, aa.decided_at, aa.expires_at,
	i.excluded, i.exclude_reason, i.exclude_until, i.exclude_approval_id, ea.status, ea.decided_by, ea.decided_at, ea.expires_at,
	i.review, i.reviewed_by, i.reviewed_at, i.review_note, i.updated_by, i.updated_at, i.version`

const itemFrom = ` FROM assessment_items i LEFT JOIN approvals aa ON aa.id = i.accept_approval_id
	LEFT JOIN approvals ea ON ea.id = i.exclude_approval_id`

func scanItem(sc interface{ Scan(...any) error }) (*control.Item, error) {
	it := &control.Item{}
	var status string
	var owner, aID, aStatus, aBy, eID, eStatus, eBy, reviewedBy sql.NullString
	err := sc.Scan(&it.ID, &it.AssessmentID, &it.NodeID, &status, tm(&it.TargetDate), &it.Rationale, &owner, tm(&it.DueDate),
		&it.Explanation, &it.Notes,
		&it.AcceptReason, tm(&it.AcceptUntil), &aID, &aStatus, &aBy, tm(&it.AcceptApproval.DecidedAt), tm(&it.AcceptApproval.ExpiresAt),
		&it.Excluded, &it.ExcludeReason, tm(&it.ExcludeUntil), &eID, &eStatus, &eBy, tm(&it.ExcludeApproval.DecidedAt), tm(&it.ExcludeApproval.ExpiresAt),
		&it.Review, &reviewedBy, tm(&it.ReviewedAt), &it.ReviewNote, &it.UpdatedBy, tm(&it.UpdatedAt), &it.Version)
	if err != nil {
		return nil, err
	}
	it.Status, it.OwnerID, it.ReviewedBy = control.ItemStatus(status), owner.String, reviewedBy.String
	it.AcceptApproval.ID, it.AcceptApproval.Status, it.AcceptApproval.DecidedBy = aID.String, aStatus.String, aBy.String
	it.ExcludeApproval.ID, it.ExcludeApproval.Status, it.ExcludeApproval.DecidedBy = eID.String, eStatus.String, eBy.String
	return it, nil
}

func (tx *Tx) items(ctx context.Context, where string, args ...any) ([]*control.Item, error) {
	rows, err := tx.query(ctx, `SELECT `+itemColumns+itemFrom+` WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*control.Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

func (db *DB) oneItem(ctx context.Context, where string, args ...any) (it *control.Item, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		list, err := tx.items(ctx, where, args...)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return mamori.Errorf(mamori.ENOTFOUND, "The item was not found.")
		}
		it = list[0]
		return nil
	})
	return it, err
}

// Items returns every item of an assessment.
func (db *DB) Items(ctx context.Context, assessmentID string) (out []*control.Item, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		out, err = tx.items(ctx, `i.assessment_id = ? ORDER BY i.node_id`, assessmentID)
		return err
	})
	return out, err
}

// Item returns the item answering a catalog node in an assessment.
func (db *DB) Item(ctx context.Context, assessmentID, nodeID string) (*control.Item, error) {
	return db.oneItem(ctx, `i.assessment_id = ? AND i.node_id = ?`, assessmentID, nodeID)
}

// ItemByID returns an item by its row ID.
func (db *DB) ItemByID(ctx context.Context, id string) (*control.Item, error) {
	return db.oneItem(ctx, `i.id = ?`, id)
}

// LapsedItems returns items that still rely on an expired approval.
func (db *DB) LapsedItems(ctx context.Context) (out []*control.Item, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		out, err = tx.items(ctx, `(i.status = 'risk_accepted' AND aa.status = 'expired') OR (i.excluded = ? AND ea.status = 'expired')`, true)
		return err
	})
	return out, err
}

func (tx *Tx) insertItem(ctx context.Context, it *control.Item) error {
	_, err := tx.exec(ctx, `INSERT INTO assessment_items (id, assessment_id, node_id, status, target_date, rationale, owner_id, due_date,
		explanation, notes, accept_reason, accept_until, accept_approval_id, excluded, exclude_reason, exclude_until, exclude_approval_id,
		review, reviewed_by, reviewed_at, review_note, updated_by, updated_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		it.ID, it.AssessmentID, it.NodeID, string(it.Status), it.TargetDate, it.Rationale, nullable(it.OwnerID), it.DueDate,
		it.Explanation, it.Notes, it.AcceptReason, it.AcceptUntil, nullable(it.AcceptApproval.ID), it.Excluded, it.ExcludeReason,
		it.ExcludeUntil, nullable(it.ExcludeApproval.ID), it.Review, nullable(it.ReviewedBy), it.ReviewedAt, it.ReviewNote,
		it.UpdatedBy, it.UpdatedAt, it.Version)
	return err
}

func (tx *Tx) updateItem(ctx context.Context, it *control.Item, force bool) error {
	r, err := tx.exec(ctx, `UPDATE assessment_items SET status = ?, target_date = ?, rationale = ?, owner_id = ?, due_date = ?,
		explanation = ?, notes = ?, accept_reason = ?, accept_until = ?, accept_approval_id = ?, excluded = ?, exclude_reason = ?,
		exclude_until = ?, exclude_approval_id = ?, review = ?, reviewed_by = ?, reviewed_at = ?, review_note = ?, updated_by = ?,
		updated_at = ?, version = version + 1
		WHERE id = ? AND version = ? AND (? OR EXISTS (SELECT 1 FROM assessments a WHERE a.id = assessment_items.assessment_id AND a.state <> 'signed_off'))`,
		string(it.Status), it.TargetDate, it.Rationale, nullable(it.OwnerID), it.DueDate, it.Explanation, it.Notes, it.AcceptReason,
		it.AcceptUntil, nullable(it.AcceptApproval.ID), it.Excluded, it.ExcludeReason, it.ExcludeUntil, nullable(it.ExcludeApproval.ID),
		it.Review, nullable(it.ReviewedBy), it.ReviewedAt, it.ReviewNote, it.UpdatedBy, it.UpdatedAt, it.ID, it.Version, force)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		var state string
		err := tx.queryRow(ctx, `SELECT a.state FROM assessments a JOIN assessment_items i ON i.assessment_id = a.id WHERE i.id = ?`, it.ID).Scan(&state)
		switch {
		case err == sql.ErrNoRows:
			return mamori.Errorf(mamori.ENOTFOUND, "The item was not found.")
		case err != nil:
			return err
		case state == string(control.StateSignedOff) && !force:
			return mamori.Errorf(mamori.ECONFLICT, "The assessment is signed off. A reviewer must reopen it before anything changes.")
		}
		return errStale
	}
	return tx.touch(ctx, it.AssessmentID)
}

// UpdateItem writes an item (see control.Store).
func (db *DB) UpdateItem(ctx context.Context, it *control.Item, force bool, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.updateItem(ctx, it, force); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

const evidenceColumns = `id, assessment_id, item_id, kind, title, url, record_type, record_id, file_sha256, file_size, file_name,
	file_media_type, effective_on, expires_on, needs_renewal, copied_from, added_by, added_at`

func scanEvidence(sc interface{ Scan(...any) error }) (*control.Evidence, error) {
	e := &control.Evidence{}
	var kind string
	var f control.FileRef
	err := sc.Scan(&e.ID, &e.AssessmentID, &e.ItemID, &kind, &e.Title, &e.URL, &e.RecordType, &e.RecordID, &f.SHA256, &f.Size, &f.Name,
		&f.MediaType, tm(&e.EffectiveOn), tm(&e.ExpiresOn), &e.NeedsRenewal, &e.CopiedFrom, &e.AddedBy, tm(&e.AddedAt))
	if err != nil {
		return nil, err
	}
	e.Kind = control.EvidenceKind(kind)
	if f.SHA256 != "" {
		e.File = &f
	}
	return e, nil
}

func (tx *Tx) insertEvidence(ctx context.Context, e *control.Evidence) error {
	var f control.FileRef
	if e.File != nil {
		f = *e.File
	}
	_, err := tx.exec(ctx, `INSERT INTO assessment_evidence (`+evidenceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.AssessmentID, e.ItemID, string(e.Kind), e.Title, e.URL, e.RecordType, e.RecordID, f.SHA256, f.Size, f.Name, f.MediaType,
		e.EffectiveOn, e.ExpiresOn, e.NeedsRenewal, e.CopiedFrom, e.AddedBy, e.AddedAt)
	return err
}

// Evidence lists an assessment's evidence, oldest first.
func (db *DB) Evidence(ctx context.Context, assessmentID string) (out []*control.Evidence, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+evidenceColumns+` FROM assessment_evidence WHERE assessment_id = ? ORDER BY added_at, id`, assessmentID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEvidence(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// EvidenceByID returns one piece of evidence of an assessment.
func (db *DB) EvidenceByID(ctx context.Context, assessmentID, id string) (e *control.Evidence, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		e, err = scanEvidence(tx.queryRow(ctx, `SELECT `+evidenceColumns+` FROM assessment_evidence WHERE assessment_id = ? AND id = ?`, assessmentID, id))
		if err == sql.ErrNoRows {
			return mamori.Errorf(mamori.ENOTFOUND, "The evidence was not found.")
		}
		return err
	})
	return e, err
}

// AddEvidence stores evidence.
func (db *DB) AddEvidence(ctx context.Context, e *control.Evidence, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.insertEvidence(ctx, e); err != nil {
			return err
		}
		if err := tx.touch(ctx, e.AssessmentID); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// UpdateEvidence writes the dates and renewal flag of evidence.
func (db *DB) UpdateEvidence(ctx context.Context, e *control.Evidence, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.execOne(ctx, "The evidence was not found.", `UPDATE assessment_evidence SET effective_on = ?, expires_on = ?, needs_renewal = ?
			WHERE id = ? AND assessment_id = ?`, e.EffectiveOn, e.ExpiresOn, e.NeedsRenewal, e.ID, e.AssessmentID); err != nil {
			return err
		}
		if err := tx.touch(ctx, e.AssessmentID); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// RemoveEvidence deletes evidence and resets its item's review: what the
// reviewer agreed to is no longer all there.
func (db *DB) RemoveEvidence(ctx context.Context, assessmentID, id string, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		var item string
		if err := tx.queryRow(ctx, `SELECT item_id FROM assessment_evidence WHERE id = ? AND assessment_id = ?`, id, assessmentID).Scan(&item); err != nil {
			if err == sql.ErrNoRows {
				return mamori.Errorf(mamori.ENOTFOUND, "The evidence was not found.")
			}
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM assessment_evidence WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE assessment_items SET review = '', reviewed_by = NULL, reviewed_at = NULL, review_note = '',
			version = version + 1 WHERE id = ? AND review <> ''`, item); err != nil {
			return err
		}
		if err := tx.touch(ctx, assessmentID); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// FileKnown returns the reference of a file some evidence already holds.
func (db *DB) FileKnown(ctx context.Context, sum string) (ref *control.FileRef, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		f := control.FileRef{}
		err := tx.queryRow(ctx, `SELECT file_sha256, file_size, file_name, file_media_type FROM assessment_evidence
			WHERE file_sha256 = ? ORDER BY added_at LIMIT 1`, sum).Scan(&f.SHA256, &f.Size, &f.Name, &f.MediaType)
		if err == sql.ErrNoRows || sum == "" {
			return mamori.Errorf(mamori.ENOTFOUND, "The file is not stored.")
		}
		ref = &f
		return err
	})
	return ref, err
}

const taskColumns = `t.id, t.assessment_id, t.item_id, i.node_id, t.title, t.description, t.owner_id, t.due_date, t.state, t.done_by,
	t.done_at, t.done_note, t.reminded_at, t.created_by, t.created_at, t.updated_at, t.version`

func scanTask(sc interface{ Scan(...any) error }) (*control.Task, error) {
	t := &control.Task{}
	var item, node, owner sql.NullString
	err := sc.Scan(&t.ID, &t.AssessmentID, &item, &node, &t.Title, &t.Description, &owner, tm(&t.DueDate), &t.State, &t.DoneBy,
		tm(&t.DoneAt), &t.DoneNote, tm(&t.RemindedAt), &t.CreatedBy, tm(&t.CreatedAt), tm(&t.UpdatedAt), &t.Version)
	t.ItemID, t.NodeID, t.OwnerID = item.String, node.String, owner.String
	return t, err
}

// Tasks lists tasks, soonest due first (undated last).
func (db *DB) Tasks(ctx context.Context, f control.TaskFilter) (out []*control.Task, err error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.AssessmentID != "" {
		where, args = append(where, "t.assessment_id = ?"), append(args, f.AssessmentID)
	}
	if f.ItemID != "" {
		where, args = append(where, "t.item_id = ?"), append(args, f.ItemID)
	}
	if f.OwnerID != "" {
		where, args = append(where, "t.owner_id = ?"), append(args, f.OwnerID)
	}
	if f.State != "" {
		where, args = append(where, "t.state = ?"), append(args, f.State)
	}
	if !f.DueBefore.IsZero() {
		where, args = append(where, "t.due_date < ?"), append(args, f.DueBefore)
	}
	args = append(args, max(f.Limit, 1))
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+taskColumns+` FROM assessment_tasks t LEFT JOIN assessment_items i ON i.id = t.item_id
			WHERE `+strings.Join(where, " AND ")+` ORDER BY (t.due_date IS NULL), t.due_date, t.created_at, t.id LIMIT ?`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTask(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// Task returns one task of an assessment.
func (db *DB) Task(ctx context.Context, assessmentID, id string) (t *control.Task, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		t, err = scanTask(tx.queryRow(ctx, `SELECT `+taskColumns+` FROM assessment_tasks t LEFT JOIN assessment_items i ON i.id = t.item_id
			WHERE t.assessment_id = ? AND t.id = ?`, assessmentID, id))
		if err == sql.ErrNoRows {
			return mamori.Errorf(mamori.ENOTFOUND, "The task was not found.")
		}
		return err
	})
	return t, err
}

func (tx *Tx) insertTask(ctx context.Context, t *control.Task) error {
	_, err := tx.exec(ctx, `INSERT INTO assessment_tasks (id, assessment_id, item_id, title, description, owner_id, due_date, state, done_by,
		done_at, done_note, reminded_at, created_by, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.AssessmentID, nullable(t.ItemID), t.Title, t.Description, nullable(t.OwnerID), t.DueDate, t.State, t.DoneBy, t.DoneAt,
		t.DoneNote, t.RemindedAt, t.CreatedBy, t.CreatedAt, t.UpdatedAt, t.Version)
	return err
}

func (tx *Tx) updateTask(ctx context.Context, t *control.Task) error {
	r, err := tx.exec(ctx, `UPDATE assessment_tasks SET item_id = ?, title = ?, description = ?, owner_id = ?, due_date = ?, state = ?,
		done_by = ?, done_at = ?, done_note = ?, reminded_at = ?, updated_at = ?, version = version + 1
		WHERE id = ? AND assessment_id = ? AND version = ?`,
		nullable(t.ItemID), t.Title, t.Description, nullable(t.OwnerID), t.DueDate, t.State, t.DoneBy, t.DoneAt, t.DoneNote, t.RemindedAt,
		t.UpdatedAt, t.ID, t.AssessmentID, t.Version)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return errStale
	}
	return nil
}

// CreateTask stores a task.
func (db *DB) CreateTask(ctx context.Context, t *control.Task, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.insertTask(ctx, t); err != nil {
			return err
		}
		if err := tx.touch(ctx, t.AssessmentID); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// UpdateTask writes a task if its version is still t.Version.
func (db *DB) UpdateTask(ctx context.Context, t *control.Task, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if err := tx.updateTask(ctx, t); err != nil {
			return err
		}
		if err := tx.touch(ctx, t.AssessmentID); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// ApplyImport writes an imported workbook in one transaction.
func (db *DB) ApplyImport(ctx context.Context, a *control.Assessment, isNew bool, items []*control.Item, evidence []*control.Evidence,
	tasks []*control.Task, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if isNew {
			if err := tx.insertAssessment(ctx, a); err != nil {
				return err
			}
			for _, it := range items {
				if err := tx.insertItem(ctx, it); err != nil {
					return err
				}
			}
		} else {
			if err := tx.updateHeader(ctx, a); err != nil {
				return err
			}
			for _, it := range items {
				if err := tx.updateItem(ctx, it, false); err != nil {
					return err
				}
			}
		}
		for _, e := range evidence {
			if err := tx.insertEvidence(ctx, e); err != nil {
				return err
			}
		}
		for _, t := range tasks {
			var n int
			if err := tx.queryRow(ctx, `SELECT count(*) FROM assessment_tasks WHERE id = ?`, t.ID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				if err := tx.insertTask(ctx, t); err != nil {
					return err
				}
			} else if err := tx.updateTask(ctx, t); err != nil {
				return err
			}
		}
		if !isNew {
			if err := tx.touch(ctx, a.ID); err != nil {
				return err
			}
		}
		return tx.appendAudit(ctx, evs...)
	})
}

// History returns the audit events about one target, newest first.
func (db *DB) History(ctx context.Context, targetType, targetID string, limit int) (out []audit.Event, err error) {
	if limit <= 0 {
		limit = 100
	}
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT seq, id, at, type, code, actor_id, remote_addr, request_id, target_type, target_id, outcome, details
			FROM audit_events WHERE target_type = ? AND target_id = ? ORDER BY seq DESC LIMIT ?`, targetType, targetID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e audit.Event
			var typ, outcome, details string
			if err := rows.Scan(&e.Seq, &e.ID, tm(&e.Time), &typ, &e.Code, &e.ActorID, &e.RemoteAddr, &e.RequestID, &e.TargetType,
				&e.TargetID, &outcome, &details); err != nil {
				return err
			}
			e.Type, e.Outcome = audit.Type(typ), audit.Outcome(outcome)
			if details != "" && details != "{}" {
				if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
					return fmt.Errorf("audit event %d: details: %w", e.Seq, err)
				}
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// People lists every real (non-decoy) account with its roles, active or
// not, so that past owners keep their names.
func (db *DB) People(ctx context.Context) (out []control.Person, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT id, email, display_name, status, valid_until FROM users WHERE decoy = ? ORDER BY display_name, email`, false)
		if err != nil {
			return err
		}
		idx := map[string]int{}
		for rows.Next() {
			var p control.Person
			var status string
			var until time.Time
			if err := rows.Scan(&p.ID, &p.Email, &p.DisplayName, &status, tm(&until)); err != nil {
				rows.Close()
				return err
			}
			p.Active = status == auth.StatusActive && (until.IsZero() || tx.now.Before(until))
			idx[p.ID] = len(out)
			out = append(out, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.query(ctx, `SELECT user_id, role FROM user_roles ORDER BY user_id, role`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, role string
			if err := rows.Scan(&id, &role); err != nil {
				return err
			}
			if i, ok := idx[id]; ok {
				out[i].Roles = append(out[i].Roles, role)
			}
		}
		return rows.Err()
	})
	return out, err
}

// ObligationRecords returns the recorded obligations of a framework, or
// of every framework for "".
func (db *DB) ObligationRecords(ctx context.Context, catalogID string) (out []*control.ObligationRecord, err error) {
	q := `SELECT catalog_id, item_id, every, owner_id, last_done, last_done_by, note, reminded_due, updated_at FROM obligations`
	var args []any
	if catalogID != "" {
		q += ` WHERE catalog_id = ?`
		args = append(args, catalogID)
	}
	err = db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, q+` ORDER BY catalog_id, item_id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := &control.ObligationRecord{}
			var every string
			var owner sql.NullString
			if err := rows.Scan(&r.CatalogID, &r.ItemID, &every, &owner, tm(&r.LastDone), &r.LastDoneBy, &r.Note, tm(&r.RemindedDue), tm(&r.UpdatedAt)); err != nil {
				return err
			}
			r.OwnerID = owner.String
			if err := r.Every.UnmarshalText([]byte(every)); err != nil {
				return fmt.Errorf("obligation %s/%s: %w", r.CatalogID, r.ItemID, err)
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// SaveObligation inserts or replaces an obligation record.
func (db *DB) SaveObligation(ctx context.Context, r *control.ObligationRecord, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		if r.UpdatedAt.IsZero() {
			r.UpdatedAt = tx.now
		}
		if _, err := tx.exec(ctx, `INSERT INTO obligations (catalog_id, item_id, every, owner_id, last_done, last_done_by, note, reminded_due, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (catalog_id, item_id) DO UPDATE SET every = excluded.every, owner_id = excluded.owner_id, last_done = excluded.last_done,
			last_done_by = excluded.last_done_by, note = excluded.note, reminded_due = excluded.reminded_due, updated_at = excluded.updated_at`,
			r.CatalogID, r.ItemID, r.Every.String(), nullable(r.OwnerID), r.LastDone, r.LastDoneBy, r.Note, r.RemindedDue, r.UpdatedAt); err != nil {
			return err
		}
		return tx.appendAudit(ctx, evs...)
	})
}
