package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/backup"
)

// The portable export: every table of the schema, row by row, as plain Go
// values (nil, string, int64, float64, bool, []byte, time.Time), read in
// one consistent snapshot, and written back into an empty store of either
// engine. Backups use it, so a SQLite backup restores into PostgreSQL and
// the other way round.

var (
	_ backup.Source = (*DB)(nil)
	_ backup.Target = (*DB)(nil)
)

// Snapshot is a consistent, read-only view of the whole database.
type Snapshot struct {
	tx      *Tx
	version int
	tables  []backup.Table
}

// Dialect is the engine the snapshot was taken from.
func (s *Snapshot) Dialect() string { return string(s.tx.db.dialect) }

// SchemaVersion is the number of migrations applied.
func (s *Snapshot) SchemaVersion() int { return s.version }

// Tables lists the tables in an order that satisfies foreign keys (parents
// first); schema_migrations is left out (restores migrate the target).
func (s *Snapshot) Tables() []backup.Table { return s.tables }

// Rows streams every row of a table, ordered by its primary key.
func (s *Snapshot) Rows(ctx context.Context, table string, fn func([]any) error) error {
	var ti *backup.Table
	for i := range s.tables {
		if s.tables[i].Name == table {
			ti = &s.tables[i]
		}
	}
	if ti == nil {
		return fmt.Errorf("snapshot: no table %q", table)
	}
	pk, err := s.tx.primaryKey(ctx, table)
	if err != nil {
		return err
	}
	q := fmt.Sprintf(`SELECT %s FROM %s`, strings.Join(quoteAll(ti.Columns), ", "), quoteIdent(table))
	if len(pk) > 0 {
		q += ` ORDER BY ` + strings.Join(quoteAll(pk), ", ")
	}
	rows, err := s.tx.query(ctx, q)
	if err != nil {
		return fmt.Errorf("export %s: %w", table, err)
	}
	defer rows.Close()
	vals := make([]any, len(ti.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("export %s: %w", table, err)
		}
		out := make([]any, len(vals))
		for i, v := range vals {
			out[i] = normalize(v)
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return rows.Err()
}

func normalize(v any) any {
	switch x := v.(type) {
	case []byte:
		return append([]byte(nil), x...)
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case time.Time:
		return x.UTC()
	}
	return v
}

// Snapshot runs fn with a consistent view of the whole database: one read
// transaction (a WAL snapshot in SQLite, REPEATABLE READ in PostgreSQL), so
// a backup taken while the server writes is a state that existed.
func (db *DB) Snapshot(ctx context.Context, fn func(backup.Snapshot) error) error {
	return db.View(ctx, func(tx *Tx) error {
		s := &Snapshot{tx: tx}
		if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&s.version); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		var err error
		if s.tables, err = tx.exportTables(ctx); err != nil {
			return err
		}
		return fn(s)
	})
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = quoteIdent(s)
	}
	return out
}

// tableNames lists the tables of the schema, without schema_migrations.
func (tx *Tx) tableNames(ctx context.Context) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if tx.db.dialect == Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	names, err := tx.strings(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	out := names[:0]
	for _, n := range names {
		if n != "schema_migrations" {
			out = append(out, n)
		}
	}
	return out, nil
}

func (tx *Tx) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// columnKind is how a column's values are written back.
type columnKind int

const (
	kindText columnKind = iota
	kindInt
	kindFloat
	kindBool
	kindBytes
	kindTime
)

type column struct {
	name string
	kind columnKind
}

// columns lists a table's columns in definition order, with their kinds.
func (tx *Tx) columns(ctx context.Context, table string) ([]column, error) {
	var out []column
	if tx.db.dialect == Postgres {
		rows, err := tx.query(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, table)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				return nil, err
			}
			k := kindText
			switch {
			case typ == "boolean":
				k = kindBool
			case typ == "bytea":
				k = kindBytes
			case strings.HasPrefix(typ, "timestamp"):
				k = kindTime
			case typ == "integer" || typ == "bigint" || typ == "smallint":
				k = kindInt
			case typ == "real" || typ == "double precision" || typ == "numeric":
				k = kindFloat
			}
			out = append(out, column{name, k})
		}
		return out, rows.Err()
	}
	rows, err := tx.query(ctx, `SELECT name, type FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		k := kindText
		switch t := strings.ToUpper(typ); {
		case strings.Contains(t, "INT"):
			k = kindInt
		case t == "BLOB":
			k = kindBytes
		case t == "TIMESTAMP" || t == "DATETIME" || t == "DATE":
			k = kindTime
		case t == "REAL" || t == "DOUBLE" || t == "FLOAT":
			k = kindFloat
		}
		out = append(out, column{name, k})
	}
	return out, rows.Err()
}

// primaryKey lists a table's primary key columns in key order.
func (tx *Tx) primaryKey(ctx context.Context, table string) ([]string, error) {
	if tx.db.dialect == Postgres {
		return tx.strings(ctx, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident(?))::regclass AND i.indisprimary
			ORDER BY array_position(i.indkey, a.attnum)`, table)
	}
	return tx.strings(ctx, `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, table)
}

// references lists the tables a table's foreign keys point to.
func (tx *Tx) references(ctx context.Context, table string) ([]string, error) {
	if tx.db.dialect == Postgres {
		return tx.strings(ctx, `SELECT DISTINCT ccu.table_name FROM information_schema.table_constraints tc
			JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name
				AND ccu.constraint_schema = tc.constraint_schema
			WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema() AND tc.table_name = ?`, table)
	}
	return tx.strings(ctx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, table)
}

// exportTables returns every table in an order where each comes after the
// tables it references. audit_checkpoints comes first of all, so that a
// reader of the export knows the signed tree sizes before the events.
func (tx *Tx) exportTables(ctx context.Context) ([]backup.Table, error) {
	names, err := tx.tableNames(ctx)
	if err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	for _, n := range names {
		refs, err := tx.references(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("foreign keys of %s: %w", n, err)
		}
		deps[n] = refs
	}
	sort.SliceStable(names, func(i, j int) bool { return names[i] == "audit_checkpoints" && names[j] != "audit_checkpoints" })
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("foreign keys form a cycle through %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, d := range deps[n] {
			if d != n {
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	out := make([]backup.Table, 0, len(order))
	for _, n := range order {
		cols, err := tx.columns(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", n, err)
		}
		ti := backup.Table{Name: n}
		for _, c := range cols {
			ti.Columns = append(ti.Columns, c.name)
		}
		out = append(out, ti)
	}
	return out, nil
}

// Importer writes rows into an empty store, inside one transaction.
type Importer struct {
	tx     *Tx
	tables map[string][]column
}

// Restore fills an empty store: it migrates the schema to version (the
// version the export was taken at), calls fn with an importer inside one
// transaction — all or nothing —, and then migrates to this binary's latest
// version. A store that holds any row is refused.
func (db *DB) Restore(ctx context.Context, version int, fn func(backup.Importer) error) error {
	ms, err := Migrations(db.dialect)
	if err != nil {
		return err
	}
	if version < 1 || version > len(ms) {
		return mamori.Errorf(mamori.ECONFLICT, "The backup has schema version %d, but this mamori knows versions 1 to %d. Restore it with a newer mamori.", version, len(ms))
	}
	if _, err := db.MigrateTo(ctx, version); err != nil {
		return err
	}
	if db.dialect == SQLite {
		// One large transaction: a page cache that holds it spares most
		// of the re-reads and spills (256 MiB at most).
		if _, err := db.write.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil {
			return err
		}
		defer db.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA cache_size = -2000`)
	}
	err = db.Update(ctx, func(tx *Tx) error {
		names, err := tx.tableNames(ctx)
		if err != nil {
			return err
		}
		im := &Importer{tx: tx, tables: map[string][]column{}}
		for _, n := range names {
			var exists int
			if err := tx.queryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM %s LIMIT 1) x`, quoteIdent(n))).Scan(&exists); err != nil {
				return err
			}
			if exists > 0 {
				return mamori.Errorf(mamori.ECONFLICT, "The database to restore into is not empty (table %s has rows). Restore into an empty database.", n)
			}
			if im.tables[n], err = tx.columns(ctx, n); err != nil {
				return err
			}
		}
		return fn(im)
	})
	if err != nil {
		return err
	}
	_, err = db.Migrate(ctx)
	return err
}

// TableWriter inserts the rows of one table, many to a statement.
type TableWriter struct {
	im    *Importer
	table string
	cols  []column
	buf   []any
	rows  int
	n     int64
}

// Table starts writing a table whose rows have the given columns.
func (im *Importer) Table(name string, columns []string) (backup.TableWriter, error) {
	target, ok := im.tables[name]
	if !ok {
		return nil, mamori.Errorf(mamori.EINVALID, "The backup has a table %s that this schema does not have.", name)
	}
	byName := map[string]column{}
	for _, c := range target {
		byName[c.name] = c
	}
	w := &TableWriter{im: im, table: name}
	for _, c := range columns {
		tc, ok := byName[c]
		if !ok {
			return nil, mamori.Errorf(mamori.EINVALID, "The backup has a column %s.%s that this schema does not have.", name, c)
		}
		w.cols = append(w.cols, tc)
	}
	return w, nil
}

// Write adds one row (values in the order of the columns given to Table).
func (w *TableWriter) Write(ctx context.Context, row []any) error {
	if len(row) != len(w.cols) {
		return mamori.Errorf(mamori.EINVALID, "A row of %s has %d values for %d columns.", w.table, len(row), len(w.cols))
	}
	for i, v := range row {
		cv, err := coerce(v, w.cols[i].kind, w.im.tx.db.dialect)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", w.table, w.cols[i].name, err)
		}
		w.buf = append(w.buf, cv)
	}
	w.rows++
	if w.rows >= 200 || len(w.buf) >= 4000 {
		return w.flush(ctx)
	}
	return nil
}

// Close writes the buffered rows and returns how many rows were written.
func (w *TableWriter) Close(ctx context.Context) (int64, error) {
	err := w.flush(ctx)
	return w.n, err
}

func (w *TableWriter) flush(ctx context.Context) error {
	if w.rows == 0 {
		return nil
	}
	names := make([]string, len(w.cols))
	for i, c := range w.cols {
		names[i] = quoteIdent(c.name)
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(w.cols)), ", ") + ")"
	q := fmt.Sprintf(`INSERT INTO %s (%s) VALUES %s`, quoteIdent(w.table), strings.Join(names, ", "),
		strings.TrimSuffix(strings.Repeat(one+", ", w.rows), ", "))
	if _, err := w.im.tx.exec(ctx, q, w.buf...); err != nil {
		return fmt.Errorf("restore %s: %w", w.table, err)
	}
	w.n += int64(w.rows)
	w.buf, w.rows = w.buf[:0], 0
	return nil
}

// coerce converts an exported value to what the target column takes.
func coerce(v any, k columnKind, d Dialect) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kindBool:
		switch x := v.(type) {
		case bool:
			if d == SQLite {
				return boolInt(x), nil
			}
			return x, nil
		case int64:
			if d == SQLite {
				return x, nil
			}
			return x != 0, nil
		}
	case kindInt:
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		case bool:
			return boolInt(x), nil
		}
	case kindFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	case kindBytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case kindTime:
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case string:
			var t time.Time
			if err := tm(&t).Scan(x); err != nil {
				return nil, err
			}
			return t, nil
		}
	case kindText:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case time.Time:
			return x.UTC().Format(timeLayout), nil
		}
	}
	return nil, fmt.Errorf("a %T value does not fit the column", v)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// MigrateTo applies pending migrations up to version (and no further).
func (db *DB) MigrateTo(ctx context.Context, version int) (int, error) {
	return db.migrate(ctx, version)
}
