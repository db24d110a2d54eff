package store_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

var system = mamori.WithActor(context.Background(), mamori.SystemActor())

// appendEvents writes n events in transactions of 1 to 4 events.
func appendEvents(t testing.TB, db *store.DB, n int) {
	t.Helper()
	for i := 0; i < n; {
		var evs []audit.Event
		for j := 0; j <= i%4 && i < n; j++ {
			evs = append(evs, audit.New(system, audit.SignInFailed, "user", fmt.Sprintf("u%d", i)).
				With("reason", "password").With("n", i))
			i++
		}
		if err := db.AppendAudit(system, evs...); err != nil {
			t.Fatal(err)
		}
	}
}

func newAudit(t testing.TB, db *store.DB) (*audit.Service, *audit.Verifiers) {
	t.Helper()
	dir := t.TempDir()
	signer, err := audit.LoadOrCreateSigner(dir, "test.example/audit")
	if err != nil {
		t.Fatal(err)
	}
	v, err := audit.LoadVerifiers(dir)
	if err != nil {
		t.Fatal(err)
	}
	return audit.NewService(db, signer, nil, nil, nil), v
}

func TestAuditProofsAgainstSignedCheckpoints(t *testing.T) {
	mamoritest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		svc, trusted := newAudit(t, db)
		appendEvents(t, db, 37)
		old, created, err := svc.Checkpoint(system)
		if err != nil || !created || old.Size != 37 {
			t.Fatalf("first checkpoint: %+v %v %v", old, created, err)
		}
		// An auditor keeps the signed note of this checkpoint.
		kept := old.Note
		appendEvents(t, db, 100)
		cur, _, err := svc.Checkpoint(system)
		if err != nil || cur.Size != 137 {
			t.Fatalf("second checkpoint: %+v %v", cur, err)
		}
		if again, created, err := svc.Checkpoint(system); err != nil || created || again.Size != 137 {
			t.Fatalf("unchanged tree signed again: %v %v", created, err)
		}

		// Consistency: the auditor checks both signatures, then the proof,
		// with the Merkle library's own verifier.
		c1, err := audit.ParseCheckpoint([]byte(kept), trusted)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := audit.ParseCheckpoint([]byte(cur.Note), trusted)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := svc.Consistency(system, c1.Size, c2.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, c1.Size, c2.Size, cp.Hashes, c1.Root, c2.Root); err != nil {
			t.Fatalf("consistency proof between signed checkpoints: %v", err)
		}
		// A proof between other sizes does not pass for these roots.
		bad, _ := svc.Consistency(system, 36, c2.Size)
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, c1.Size, c2.Size, bad.Hashes, c1.Root, c2.Root); err == nil {
			t.Fatal("a proof for another size verified")
		}

		// Inclusion of events, against the latest signed checkpoint.
		recs, total, err := svc.Events(system, audit.Filter{Limit: 200})
		if err != nil || total != 137 {
			t.Fatalf("events: %d %v", total, err)
		}
		for _, r := range []*audit.Record{recs[0], recs[50], recs[136]} {
			ip, err := svc.Inclusion(system, r.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			if ip.TreeSize != 137 || ip.Checkpoint == nil || !bytes.Equal(ip.Root, c2.Root) {
				t.Fatalf("inclusion proof not against the signed checkpoint: %+v", ip)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, ip.LeafIndex, ip.TreeSize, r.Leaf(), ip.Hashes, c2.Root); err != nil {
				t.Fatalf("inclusion of seq %d: %v", r.Seq, err)
			}
		}
		// A newer event is covered by a checkpoint signed on demand.
		appendEvents(t, db, 1)
		recs, _, _ = svc.Events(system, audit.Filter{Limit: 1})
		ip, err := svc.Inclusion(system, recs[0].ID, 0)
		if err != nil || ip.TreeSize != 138 || ip.Checkpoint == nil {
			t.Fatalf("inclusion of the newest event: %+v %v", ip, err)
		}

		rep, err := svc.Verify(system, trusted, nil)
		if err != nil || !rep.OK() || rep.Events != 138 || len(rep.Checkpoints) != 3 {
			t.Fatalf("untouched trail: %+v %v", rep, err)
		}
		t.Log(rep.Summary())
	})
}

// dropTriggers removes the append-only triggers, as a database
// administrator could.
func dropTriggers(t *testing.T, db *store.DB) {
	t.Helper()
	stmts := []string{`DROP TRIGGER audit_events_no_update`, `DROP TRIGGER audit_events_no_delete`}
	if db.Dialect() == store.Postgres {
		stmts = []string{`DROP TRIGGER audit_events_no_change ON audit_events`}
	}
	exec(t, db, stmts...)
}

func exec(t *testing.T, db *store.DB, stmts ...string) {
	t.Helper()
	err := db.Update(context.Background(), func(tx *store.Tx) error {
		for _, s := range stmts {
			if err := store.ExecForTest(context.Background(), tx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func eventAt(t *testing.T, db *store.DB, seq int64) *audit.StoredEvent {
	t.Helper()
	var out *audit.StoredEvent
	if err := db.ScanAuditEvents(context.Background(), uint64(seq), uint64(seq)+1, func(e *audit.StoredEvent) error {
		c := *e
		out = &c
		return nil
	}); err != nil || out == nil {
		t.Fatalf("event %d: %v", seq, err)
	}
	return out
}

func TestVerifyNamesTheFirstTamperedEvent(t *testing.T) {
	type tamper struct {
		name   string
		do     func(t *testing.T, db *store.DB)
		kind   audit.ProblemKind
		seq    int64
		idOf   int64 // seq whose original ID must be named; -1: none
		inText string
	}
	tampers := []tamper{
		{"change one event", func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_events SET details = '{"n":1,"reason":"forged"}' WHERE seq = 12`)
		}, audit.Changed, 12, 12, "was changed"},
		{"change the actor", func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_events SET actor_id = 'someone-else' WHERE seq = 3`)
		}, audit.Changed, 3, 3, "was changed"},
		{"delete one event", func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_events WHERE seq = 20`)
		}, audit.Removed, 20, -1, "seq 20 was removed"},
		{"delete one and renumber", func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_events WHERE seq = 20`,
				`UPDATE audit_events SET seq = seq + 1000000 WHERE seq > 20`,
				`UPDATE audit_events SET seq = seq - 1000001 WHERE seq > 1000000`)
		}, audit.Removed, 20, 21, "removed"},
		{"delete the last events", func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_events WHERE seq >= 47`)
		}, audit.Removed, 47, -1, "were removed"},
		{"swap two events", func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_events SET seq = -1 WHERE seq = 8`,
				`UPDATE audit_events SET seq = 8 WHERE seq = 30`,
				`UPDATE audit_events SET seq = 30 WHERE seq = -1`)
		}, audit.Reordered, 8, 30, "reordered"},
		{"swap contents, keep hashes in place", func(t *testing.T, db *store.DB) {
			a, b := eventAt(t, db, 9), eventAt(t, db, 10)
			exec(t, db,
				fmt.Sprintf(`UPDATE audit_events SET id = 'tmp', target_id = '%s', details = '%s' WHERE seq = 9`, b.TargetID, b.DetailsText),
				fmt.Sprintf(`UPDATE audit_events SET id = '%s', target_id = '%s', details = '%s' WHERE seq = 10`, a.ID, a.TargetID, a.DetailsText),
				fmt.Sprintf(`UPDATE audit_events SET id = '%s' WHERE seq = 9`, b.ID))
		}, audit.Reordered, 9, 10, "reordered"},
	}
	insert := func(rewriteHash bool) func(t *testing.T, db *store.DB) {
		return func(t *testing.T, db *store.DB) {
			prev := eventAt(t, db, 14)
			e := audit.StoredEvent{Event: prev.Event}
			e.Seq, e.ID, e.TargetID, e.DetailsText = 15, "0190f000-0000-7000-8000-000000000001", "intruder", `{"n":15,"reason":"password"}`
			h := e.Leaf()
			if !rewriteHash {
				h = prev.LeafHash
			}
			exec(t, db, `UPDATE audit_events SET seq = seq + 1000000 WHERE seq >= 15`,
				`UPDATE audit_events SET seq = seq - 999999 WHERE seq >= 1000000`)
			err := db.Update(context.Background(), func(tx *store.Tx) error {
				return store.ExecForTest(context.Background(), tx, `INSERT INTO audit_events (seq, id, at, type, code, actor_id, remote_addr,
					request_id, target_type, target_id, outcome, details, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					e.Seq, e.ID, e.Time, string(e.Type), e.Code, e.ActorID, e.RemoteAddr, e.RequestID, e.TargetType, e.TargetID,
					string(e.Outcome), e.DetailsText, h)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	tampers = append(tampers,
		tamper{"insert one event (with its hash)", insert(true), audit.Inserted, 15, -1, "inserted at seq 15 (id 0190f000-0000-7000-8000-000000000001)"},
		tamper{"insert one event (copied hash)", insert(false), audit.Inserted, 15, -1, "id 0190f000-0000-7000-8000-000000000001, auth.sign_in.failed"},
		tamper{"change one event and rewrite its hash", func(t *testing.T, db *store.DB) {
			e := eventAt(t, db, 26)
			e.DetailsText = `{"n":26,"reason":"nothing to see"}`
			exec(t, db, fmt.Sprintf(`UPDATE audit_events SET details = '%s', leaf_hash = %s WHERE seq = 26`, e.DetailsText, hexLiteral(db, e.Leaf())))
		}, audit.Changed, 26, -1, "seq 26 or seq 27 differs from the signed trail"},
	)
	for _, tc := range tampers {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			mamoritest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
				svc, trusted := newAudit(t, db)
				appendEvents(t, db, 40)
				if _, _, err := svc.Checkpoint(system); err != nil {
					t.Fatal(err)
				}
				appendEvents(t, db, 10)
				if _, _, err := svc.Checkpoint(system); err != nil {
					t.Fatal(err)
				}
				if rep, err := svc.Verify(system, trusted, nil); err != nil || !rep.OK() {
					t.Fatalf("before tampering: %v %v", rep.First(), err)
				}
				var wantID string
				if tc.idOf >= 0 {
					wantID = eventAt(t, db, tc.idOf).ID
				}
				dropTriggers(t, db)
				tc.do(t, db)
				rep, err := svc.Verify(system, trusted, nil)
				if err != nil {
					t.Fatal(err)
				}
				p := rep.First()
				if p == nil {
					t.Fatal("tampering not detected")
				}
				t.Log(p.Message)
				if p.Kind != tc.kind || p.Seq != tc.seq {
					t.Errorf("first problem %s at seq %d, want %s at seq %d: %s", p.Kind, p.Seq, tc.kind, tc.seq, p.Message)
				}
				if wantID != "" && !strings.Contains(p.Message, wantID) {
					t.Errorf("message does not name event %s: %s", wantID, p.Message)
				}
				if !strings.Contains(p.Message, tc.inText) {
					t.Errorf("message lacks %q: %s", tc.inText, p.Message)
				}
			})
		})
	}
}

func hexLiteral(db *store.DB, b []byte) string {
	if db.Dialect() == store.Postgres {
		return fmt.Sprintf(`'\x%x'::bytea`, b)
	}
	return fmt.Sprintf(`X'%x'`, b)
}

func TestNoCheckpointOverACutTrail(t *testing.T) {
	mamoritest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		svc, _ := newAudit(t, db)
		appendEvents(t, db, 20)
		if _, _, err := svc.Checkpoint(system); err != nil {
			t.Fatal(err)
		}
		dropTriggers(t, db)
		exec(t, db, `DELETE FROM audit_events WHERE seq >= 15`)
		if _, _, err := svc.Checkpoint(system); err == nil {
			t.Fatal("a checkpoint was signed over a trail that lost events")
		}
		// Nothing more can be recorded over the cut: the tree nodes of the
		// lost events remain, and mamori says why.
		err := db.AppendAudit(system, audit.New(system, audit.SignOut, "user", "x"))
		if err == nil || !strings.Contains(mamori.ErrorMessage(err), "audit trail was changed outside mamori") {
			t.Fatalf("append over a cut trail: %v", err)
		}
	})
}
