// Package mamoritest holds helpers for mamori's tests: a migrated store per
// SQL dialect, a running server, signed-in clients. Only tests import it.
package mamoritest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/store"
)

// PostgresURLEnv names the environment variable that enables the PostgreSQL
// runs of storage tests (CI sets it).
const PostgresURLEnv = "MAMORI_TEST_POSTGRES_URL"

// Dialects returns the dialects to test: SQLite always, PostgreSQL when
// MAMORI_TEST_POSTGRES_URL is set.
func Dialects() []store.Dialect {
	d := []store.Dialect{store.SQLite}
	if os.Getenv(PostgresURLEnv) != "" {
		d = append(d, store.Postgres)
	}
	return d
}

// ForEachDialect runs fn as a subtest per dialect, each with a fresh,
// migrated store.
func ForEachDialect(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			fn(t, OpenDB(t, d, nil))
		})
	}
}

// Options returns store options for a fresh, empty database of dialect d:
// a temporary data directory for SQLite, a new schema for PostgreSQL (dropped
// when the test ends).
func Options(t testing.TB, d store.Dialect) store.Options {
	t.Helper()
	o := store.Options{DataDir: t.TempDir()}
	if d == store.Postgres {
		o.DatabaseURL = freshSchema(t)
	}
	return o
}

// OpenDB opens and migrates a fresh store of dialect d.
func OpenDB(t testing.TB, d store.Dialect, clock mamori.Clock) *store.DB {
	t.Helper()
	o := Options(t, d)
	o.Clock = clock
	return OpenWith(t, o)
}

// OpenWith opens and migrates the store of o.
func OpenWith(t testing.TB, o store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if _, err := db.Migrate(context.Background()); err != nil {
		db.Close()
		t.Fatalf("migrate store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// freshSchema creates an empty schema in the test PostgreSQL database and
// returns a URL whose connections use it.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		t.Skipf("%s is not set", PostgresURLEnv)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "mamori_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresURLEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Raw opens a plain database/sql connection to the store of o, for tests
// that tamper with tables as a database administrator could. Statements
// must not use placeholders (their syntax differs between engines).
func Raw(t testing.TB, o store.Options) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if o.DatabaseURL != "" {
		db, err = sql.Open("pgx", o.DatabaseURL)
	} else {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(o.DataDir, store.SQLiteFile)+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Exec runs statements on a raw connection, failing the test on error.
func Exec(t testing.TB, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// DropAuditTriggers removes the append-only triggers of the audit trail,
// as a database administrator could before tampering with it.
func DropAuditTriggers(t testing.TB, db *sql.DB, d store.Dialect) {
	t.Helper()
	if d == store.Postgres {
		Exec(t, db, `DROP TRIGGER audit_events_no_change ON audit_events`)
		return
	}
	Exec(t, db, `DROP TRIGGER audit_events_no_update`, `DROP TRIGGER audit_events_no_delete`)
}
