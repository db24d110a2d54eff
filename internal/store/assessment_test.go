package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

// TestAssessmentConstraints checks the rules the database enforces on its
// own, whatever the code above it does: separation of duties in sign-off
// and review, and answers that need their rationale or date.
func TestAssessmentConstraints(t *testing.T) {
	mamoritest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := mamori.WithActor(context.Background(), mamori.SystemActor())
		now := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
		var users []string
		for _, email := range []string{"a@example.jp", "b@example.jp"} {
			u := &auth.User{ID: mamori.NewID(), Email: email, Status: auth.StatusActive, CreatedAt: now, UpdatedAt: now}
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			users = append(users, u.ID)
		}
		a := &control.Assessment{ID: mamori.NewID(), Title: "t", CatalogKey: "fsa-csgl@2025-07-04", Profile: control.ProfileBasic,
			Scope: []control.ScopeEntry{{Kind: control.ScopeOrganisation}}, PeriodStart: now, PeriodEnd: now.AddDate(1, 0, -1),
			State: control.StateOpen, CreatedBy: users[0], CreatedAt: now, UpdatedAt: now, Version: 1, Revision: 1}
		it := &control.Item{ID: mamori.NewID(), AssessmentID: a.ID, NodeID: "FSA-CSGL-2.1.1-B01", Status: control.ItemImplemented,
			UpdatedBy: users[0], UpdatedAt: now, Version: 1}
		if err := db.CreateAssessment(ctx, a, []*control.Item{it}, nil); err != nil {
			t.Fatal(err)
		}
		got, err := db.Assessment(ctx, a.ID)
		if err != nil || len(got.Scope) != 1 || got.Scope[0].Kind != control.ScopeOrganisation || got.Conditions == nil {
			t.Fatalf("read back: %+v %v", got, err)
		}
		for _, tc := range []struct {
			name, q string
			args    []any
		}{
			{"sign-off by the submitter", `UPDATE assessments SET state = 'signed_off', submitted_by = ?, signed_off_by = ? WHERE id = ?`, []any{users[0], users[0], a.ID}},
			{"sign-off without signer", `UPDATE assessments SET state = 'signed_off', submitted_by = ? WHERE id = ?`, []any{users[0], a.ID}},
			{"self-review", `UPDATE assessment_items SET review = 'agreed', reviewed_by = updated_by WHERE id = ?`, []any{it.ID}},
			{"n/a without rationale", `UPDATE assessment_items SET status = 'not_applicable' WHERE id = ?`, []any{it.ID}},
			{"planned without date", `UPDATE assessment_items SET status = 'planned' WHERE id = ?`, []any{it.ID}},
			{"accepted without reason", `UPDATE assessment_items SET status = 'risk_accepted' WHERE id = ?`, []any{it.ID}},
			{"unknown status", `UPDATE assessment_items SET status = 'done' WHERE id = ?`, []any{it.ID}},
		} {
			err := db.Update(ctx, func(tx *store.Tx) error { return store.ExecForTest(ctx, tx, tc.q, tc.args...) })
			if mamori.ErrorCode(err) != mamori.EINVALID {
				t.Errorf("%s: err %v, want the database to refuse", tc.name, err)
			}
		}
		// A review by someone else is fine.
		err = db.Update(ctx, func(tx *store.Tx) error {
			return store.ExecForTest(ctx, tx, `UPDATE assessment_items SET review = 'agreed', reviewed_by = ? WHERE id = ?`, users[1], it.ID)
		})
		if err != nil {
			t.Errorf("review by another: %v", err)
		}
		// Stale versions and signed-off assessments refuse item updates.
		it2, _ := db.ItemByID(ctx, it.ID)
		stale := *it2
		stale.Version--
		if err := db.UpdateItem(ctx, &stale, false); mamori.ErrorCode(err) != mamori.ECONFLICT {
			t.Errorf("stale update: %v", err)
		}
		a.State, a.SubmittedBy, a.SignedOffBy = control.StateSignedOff, users[0], users[1]
		cur, _ := db.Assessment(ctx, a.ID)
		if err := db.SetAssessmentState(ctx, a, cur.Revision); err != nil {
			t.Fatal(err)
		}
		it2, _ = db.ItemByID(ctx, it.ID)
		if err := db.UpdateItem(ctx, it2, false); mamori.ErrorCode(err) != mamori.ECONFLICT {
			t.Errorf("update of a signed-off item: %v", err)
		}
		if err := db.UpdateItem(ctx, it2, true); err != nil {
			t.Errorf("forced update (lapsed approval): %v", err)
		}
	})
}
