package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

func TestMigrationParity(t *testing.T) {
	lite, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := store.Migrations(store.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != pg[i].Version || lite[i].Name != pg[i].Name {
			t.Errorf("migration %d: sqlite %d_%s, postgres %d_%s", i, lite[i].Version, lite[i].Name, pg[i].Version, pg[i].Name)
		}
	}
}

func TestMigrateIdempotentAndStatus(t *testing.T) {
	mamoritest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n, err := db.Migrate(ctx)
		if err != nil || n != 0 {
			t.Fatalf("second migrate applied %d, err %v; want 0, nil", n, err)
		}
		st, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.AppliedAt.IsZero() {
				t.Errorf("migration %d not applied", s.Version)
			}
		}
	})
}

func TestRefusesNewerSchema(t *testing.T) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			o := mamoritest.Options(t, d)
			db, err := store.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := db.Update(ctx, func(tx *store.Tx) error {
				return store.ExecForTest(ctx, tx, `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`,
					9999, "future", "x", time.Now().Format(time.RFC3339))
			}); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err = store.Open(ctx, o)
			if mamori.ErrorCode(err) != mamori.ECONFLICT {
				t.Fatalf("open newer schema: err = %v, want ECONFLICT", err)
			}
		})
	}
}

func TestOpenBadOptions(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]store.Options{
		"no data dir":      {},
		"data dir is file": {DataDir: file},
		"malformed url":    {DatabaseURL: "postgres//nohost"},
		"mysql url":        {DatabaseURL: "mysql://localhost/x"},
	} {
		t.Run(name, func(t *testing.T) {
			db, err := store.Open(ctx, o)
			if err == nil {
				db.Close()
				t.Fatal("opened")
			}
			if mamori.ErrorCode(err) != mamori.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
		})
	}
}

func TestAuditAppendIsAppendOnly(t *testing.T) {
	mamoritest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := 0; i < 3; i++ {
			if err := db.AppendAudit(ctx, audit.New(ctx, audit.ServerStarted, "", "")); err != nil {
				t.Fatal(err)
			}
		}
		err := db.Update(ctx, func(tx *store.Tx) error {
			return store.ExecForTest(ctx, tx, `UPDATE audit_events SET actor_id = 'x' WHERE seq = 1`)
		})
		if err == nil {
			t.Fatal("update of an audit event succeeded")
		}
		err = db.Update(ctx, func(tx *store.Tx) error {
			return store.ExecForTest(ctx, tx, `DELETE FROM audit_events WHERE seq = 2`)
		})
		if err == nil {
			t.Fatal("delete of an audit event succeeded")
		}
	})
}
