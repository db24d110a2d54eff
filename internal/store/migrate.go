package store

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
)

// Migrations are forward-only SQL files, one directory per dialect with the
// same version numbers: NNNN_name.sql. Each runs in its own transaction and is
// recorded with its SHA-256, so a changed file is noticed.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// Migration is one schema step.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string
}

// MigrationState is a migration and whether (and when) it was applied.
type MigrationState struct {
	Migration
	AppliedAt time.Time // zero when pending
}

// Migrations returns the embedded migrations of a dialect, in order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := "migrations/" + string(d)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: v, Name: rest, SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations of %s: version %d is missing or repeated", d, i+1)
		}
	}
	return ms, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	checksum TEXT NOT NULL,
	applied_at TEXT NOT NULL
)`

// applied reads the recorded migrations; a database without the table has none.
func (db *DB) applied(ctx context.Context) (map[int]MigrationState, error) {
	var exists bool
	var q string
	if db.dialect == SQLite {
		q = `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	} else {
		q = `SELECT count(*) > 0 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`
	}
	if err := db.read.QueryRowContext(ctx, q).Scan(&exists); err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	out := map[int]MigrationState{}
	if !exists {
		return out, nil
	}
	rows, err := db.read.QueryContext(ctx, `SELECT version, name, checksum, applied_at FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s MigrationState
		var at string
		if err := rows.Scan(&s.Version, &s.Name, &s.Checksum, &at); err != nil {
			return nil, err
		}
		s.AppliedAt, _ = time.Parse(time.RFC3339Nano, at)
		out[s.Version] = s
	}
	return out, rows.Err()
}

// checkVersion refuses a database that a newer mamori migrated, or whose
// recorded migrations differ from this binary's.
func (db *DB) checkVersion(ctx context.Context) error {
	ms, err := Migrations(db.dialect)
	if err != nil {
		return err
	}
	done, err := db.applied(ctx)
	if err != nil {
		return err
	}
	for v, s := range done {
		if v > len(ms) {
			return mamori.Errorf(mamori.ECONFLICT,
				"The database schema (version %d) is newer than this mamori binary knows (version %d). Upgrade mamori.", maxVersion(done), len(ms))
		}
		if ms[v-1].Checksum != s.Checksum {
			return mamori.Errorf(mamori.ECONFLICT,
				"Migration %d (%s) recorded in the database differs from this binary's. The schema was changed outside mamori.", v, s.Name)
		}
	}
	return nil
}

func maxVersion(m map[int]MigrationState) int {
	n := 0
	for v := range m {
		n = max(n, v)
	}
	return n
}

// MigrationStatus lists every migration with its state.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	ms, err := Migrations(db.dialect)
	if err != nil {
		return nil, err
	}
	done, err := db.applied(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationState, len(ms))
	for i, m := range ms {
		out[i] = MigrationState{Migration: m, AppliedAt: done[m.Version].AppliedAt}
	}
	return out, nil
}

// Migrate applies pending migrations and returns how many it applied. On
// PostgreSQL an advisory lock keeps two starting servers from racing.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	return db.migrate(ctx, 0)
}

// migrate applies pending migrations up to version upTo (0: all of them).
func (db *DB) migrate(ctx context.Context, upTo int) (int, error) {
	if err := db.checkVersion(ctx); err != nil {
		return 0, err
	}
	ms, err := Migrations(db.dialect)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		if upTo > 0 && m.Version > upTo {
			break
		}
		applied := false
		err := db.Update(ctx, func(tx *Tx) error {
			if db.dialect == Postgres {
				if _, err := tx.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7283915)`); err != nil {
					return err
				}
			}
			if _, err := tx.tx.ExecContext(ctx, createMigrationsTable); err != nil {
				return err
			}
			var exists int
			if err := tx.queryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&exists); err != nil {
				return err
			}
			if exists > 0 {
				return nil
			}
			if _, err := tx.tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
			}
			applied = true
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`,
				m.Version, m.Name, m.Checksum, tx.now.Format(time.RFC3339Nano))
			return err
		})
		if err != nil {
			return n, err
		}
		if applied {
			n++
		}
	}
	if upTo > 0 && upTo < 2 {
		return n, nil // the tree is stored from schema 2 on
	}
	if err := db.backfillAuditTree(ctx); err != nil {
		return n, fmt.Errorf("build the audit tree of earlier events: %w", err)
	}
	return n, nil
}
