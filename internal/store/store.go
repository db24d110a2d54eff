// Package store is the only package that speaks SQL. It keeps mamori's data
// in embedded SQLite (the default, in a data directory) or PostgreSQL (when a
// postgres:// URL is given) through one code path: queries are written once
// with ? placeholders and rebound for PostgreSQL in exactly one place.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mamori-dev/mamori"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// SQLiteFile is the database file name inside the data directory.
const SQLiteFile = "mamori.db"

// Options says where the data lives.
type Options struct {
	// DataDir holds the SQLite database (and, for other packages, keys and
	// files). Required for SQLite; ignored by the store for PostgreSQL.
	DataDir string
	// DatabaseURL selects PostgreSQL when it starts with postgres:// or
	// postgresql://. Empty means SQLite in DataDir.
	DatabaseURL string
	// Clock stamps times written by the store; nil means the system clock.
	Clock mamori.Clock
	// ReadConns bounds the read pool (SQLite) or the whole pool (PostgreSQL).
	ReadConns int
}

// DB is an open store. For SQLite it holds a single-connection writer pool
// (SQLite allows one writer; queuing in Go avoids SQLITE_BUSY) and a read
// pool; for PostgreSQL both are the same pool.
type DB struct {
	dialect Dialect
	write   *sql.DB
	read    *sql.DB
	now     mamori.Clock
	path    string // SQLite database file

	rebound sync.Map // query text → rebound text (PostgreSQL)
}

// Open opens the store and checks its schema version: a database newer than
// this binary is refused. It does not migrate; call Migrate.
func Open(ctx context.Context, o Options) (*DB, error) {
	db := &DB{now: o.Clock}
	if db.now == nil {
		db.now = mamori.SystemClock
	}
	conns := o.ReadConns
	if conns <= 0 {
		conns = 8
	}
	switch {
	case o.DatabaseURL != "":
		u, err := url.Parse(o.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return nil, mamori.Invalid("database_url", "must be a postgres:// URL with a host")
		}
		pool, err := sql.Open("pgx", o.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		pool.SetMaxOpenConns(conns)
		pool.SetMaxIdleConns(conns)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		db.dialect, db.write, db.read = Postgres, pool, pool
	default:
		if o.DataDir == "" {
			return nil, mamori.Invalid("data_dir", "is required for the embedded database")
		}
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return nil, mamori.Wrap(mamori.EINVALID, err, "data_dir: cannot create the directory")
		}
		db.path = filepath.Join(o.DataDir, SQLiteFile)
		// busy_timeout comes first so that the other pragmas wait for locks.
		// synchronous(FULL): a committed change (and its audit event) survives
		// power loss, which matters more here than write throughput.
		pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(ON)" +
			"&_pragma=synchronous(FULL)&_pragma=journal_size_limit(67108864)"
		dsn := "file:" + db.path + "?" + pragmas
		w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(ON)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		r.SetMaxOpenConns(conns)
		r.SetMaxIdleConns(conns)
		db.dialect, db.write, db.read = SQLite, w, r
	}
	if err := db.write.PingContext(ctx); err != nil {
		db.Close()
		if db.dialect == SQLite {
			return nil, mamori.Wrap(mamori.EINVALID, err, "data_dir: the database file cannot be opened")
		}
		return nil, mamori.Wrap(mamori.EUNAVAILABLE, err, "database_url: cannot connect to PostgreSQL")
	}
	if err := db.checkVersion(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Dialect reports the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// Path returns the SQLite database file, or "" for PostgreSQL.
func (db *DB) Path() string { return db.path }

// Close closes both pools.
func (db *DB) Close() error {
	var err error
	if db.write != nil {
		err = db.write.Close()
	}
	if db.read != nil && db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Ping checks that the database answers (for /readyz).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return mamori.Wrap(mamori.EUNAVAILABLE, err, "The database is not reachable.")
	}
	return nil
}

// Now returns the store's clock reading, in UTC and truncated to what both
// engines keep (microseconds).
func (db *DB) Now() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// Tx is a transaction. Its methods rebind and convert arguments, so entity
// files never care which engine runs underneath.
type Tx struct {
	tx  *sql.Tx
	db  *DB
	now time.Time // fixed for the transaction, so every row it writes agrees
}

// Now is the transaction's timestamp.
func (tx *Tx) Now() time.Time { return tx.now }

// Update runs fn in a read-write transaction and commits if fn returns nil.
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	return db.inTx(ctx, db.write, false, fn)
}

// View runs fn in a read-only transaction (a consistent snapshot).
func (db *DB) View(ctx context.Context, fn func(*Tx) error) error {
	return db.inTx(ctx, db.read, true, fn)
}

func (db *DB) inTx(ctx context.Context, pool *sql.DB, readOnly bool, fn func(*Tx) error) (err error) {
	opts := &sql.TxOptions{ReadOnly: readOnly}
	if db.dialect == SQLite {
		// modernc's driver rejects the ReadOnly option; the read pool is
		// query_only instead.
		opts = nil
	} else if readOnly {
		opts.Isolation = sql.LevelRepeatableRead
	}
	stx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return mapError(fmt.Errorf("begin: %w", err))
	}
	tx := &Tx{tx: stx, db: db, now: db.Now()}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = stx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return mapError(err)
	}
	if err = stx.Commit(); err != nil {
		return mapError(fmt.Errorf("commit: %w", err))
	}
	return nil
}

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	r, err := tx.tx.ExecContext(ctx, tx.db.rebind(q), tx.db.args(args)...)
	if err != nil {
		return nil, mapError(err)
	}
	return r, nil
}

func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := tx.tx.QueryContext(ctx, tx.db.rebind(q), tx.db.args(args)...)
	if err != nil {
		return nil, mapError(err)
	}
	return rows, nil
}

func (tx *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.db.rebind(q), tx.db.args(args)...)
}

// execOne runs a statement that must change exactly one row; zero rows is
// ENOTFOUND with the given message.
func (tx *Tx) execOne(ctx context.Context, notFound string, q string, args ...any) error {
	r, err := tx.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	n, err := r.RowsAffected()
	if err != nil {
		return fmt.Errorf("rows affected: %w", err)
	}
	if n == 0 {
		return mamori.Errorf(mamori.ENOTFOUND, "%s", notFound)
	}
	return nil
}

// rebind turns ? placeholders into $1, $2 … for PostgreSQL. Queries never
// contain a literal question mark, so a plain scan is exact.
func (db *DB) rebind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	if r, ok := db.rebound.Load(q); ok {
		return r.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	r := b.String()
	db.rebound.Store(q, r)
	return r
}

// timeLayout is how SQLite stores times: fixed width, so text order is time
// order, and microseconds, which is what PostgreSQL keeps.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// args converts times to each engine's stored form.
func (db *DB) args(in []any) []any {
	for i, a := range in {
		switch v := a.(type) {
		case time.Time:
			in[i] = db.timeArg(v)
		case *time.Time:
			if v == nil {
				in[i] = nil
			} else {
				in[i] = db.timeArg(*v)
			}
		}
	}
	return in
}

func (db *DB) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	if db.dialect == SQLite {
		return t.Format(timeLayout)
	}
	return t
}

// scanTime adapts a *time.Time (zero when NULL) to both engines: SQLite
// returns text for computed columns, PostgreSQL a time.Time.
type scanTime struct{ t *time.Time }

func (s scanTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*s.t = time.Time{}
	case time.Time:
		*s.t = x.UTC()
	case string:
		return s.parse(x)
	case []byte:
		return s.parse(string(x))
	default:
		return fmt.Errorf("scan time: unsupported type %T", v)
	}
	return nil
}

func (s scanTime) parse(v string) error {
	for _, layout := range []string{timeLayout, time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			*s.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("scan time: cannot parse %q", v)
}

// tm returns a scanner into t.
func tm(t *time.Time) scanTime { return scanTime{t} }

// mapError turns driver errors into application errors by their codes,
// never by message text.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var ae *mamori.Error
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return mamori.Wrap(mamori.ENOTFOUND, err, "Not found.")
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return mamori.Wrap(mamori.ECONFLICT, err, "This already exists.")
		case "23503":
			return mamori.Wrap(mamori.ECONFLICT, err, "This is still referenced by other records.")
		case "23514", "23502":
			return mamori.Wrap(mamori.EINVALID, err, "A value is not allowed.")
		case "40001", "40P01":
			return mamori.Wrap(mamori.EUNAVAILABLE, err, "The database was busy. Please try again.")
		}
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return mamori.Wrap(mamori.ECONFLICT, err, "This already exists.")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return mamori.Wrap(mamori.ECONFLICT, err, "This is still referenced by other records.")
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return mamori.Wrap(mamori.EINVALID, err, "A value is not allowed.")
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return mamori.Wrap(mamori.EUNAVAILABLE, err, "The database was busy. Please try again.")
		}
	}
	return err
}

// TableCounts returns the number of rows of every mamori table (tests use
// it to prove that a refused request changed nothing).
func (db *DB) TableCounts(ctx context.Context) (map[string]int, error) {
	var q string
	if db.dialect == SQLite {
		q = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	} else {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	out := map[string]int{}
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, q)
		if err != nil {
			return err
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			names = append(names, n)
		}
		rows.Close()
		if len(names) == 0 {
			return nil
		}
		// One query for all tables: tests call this around every request.
		parts := make([]string, len(names))
		for i, n := range names {
			// Table names come from the catalog, never from input.
			parts[i] = `SELECT '` + n + `', count(*) FROM ` + n
		}
		rows, err = tx.query(ctx, strings.Join(parts, " UNION ALL "))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			var c int
			if err := rows.Scan(&n, &c); err != nil {
				return err
			}
			out[n] = c
		}
		return rows.Err()
	})
	return out, err
}
