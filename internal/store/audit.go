package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

var _ audit.Store = (*DB)(nil)

// auditLockKey serialises audit appends on PostgreSQL, where several
// connections write at once; SQLite's single writer already does.
const auditLockKey = 7283916

// appendAudit writes events in tx, the same transaction as the change they
// record, as the next leaves of the Merkle tree, together with the tree
// nodes they complete.
func (tx *Tx) appendAudit(ctx context.Context, evs ...audit.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if tx.db.dialect == Postgres {
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, auditLockKey); err != nil {
			return fmt.Errorf("lock audit trail: %w", err)
		}
	}
	var next int64
	if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_events`).Scan(&next); err != nil {
		return fmt.Errorf("read audit size: %w", err)
	}
	border, err := tx.auditNodes(ctx, audit.BorderIDs(uint64(next)))
	if err != nil {
		return fmt.Errorf("read audit tree: %w", err)
	}
	leaves := make([][]byte, 0, len(evs))
	const batch = 100 // rows per INSERT: 13 parameters each
	var q strings.Builder
	args := make([]any, 0, 13*min(len(evs), batch))
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		if _, err := tx.exec(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("append audit events: %w", err)
		}
		q.Reset()
		args = args[:0]
		return nil
	}
	for i := range evs {
		e := &evs[i]
		if err := e.Prepare(next+int64(i), tx.now); err != nil {
			return err
		}
		details, err := e.DetailsJSON()
		if err != nil {
			return err
		}
		leaf := audit.LeafHash(e.Canonical(details))
		leaves = append(leaves, leaf)
		if len(args) == 0 {
			q.WriteString(`INSERT INTO audit_events (seq, id, at, type, code, actor_id, remote_addr, request_id,
				target_type, target_id, outcome, details, leaf_hash) VALUES `)
		} else {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, e.Seq, e.ID, e.Time, string(e.Type), e.Code, e.ActorID, e.RemoteAddr, e.RequestID,
			e.TargetType, e.TargetID, string(e.Outcome), details, leaf)
		if len(args) >= 13*batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	nodes, err := audit.Extend(uint64(next), border, leaves)
	if err != nil {
		return err
	}
	return tx.insertNodes(ctx, nodes)
}

var errTrailCut = mamori.Errorf(mamori.EUNAVAILABLE,
	"The audit trail was changed outside mamori, so no change can be recorded. An administrator must run mamori audit verify.")

// insertNodes writes tree nodes, many to a statement.
func (tx *Tx) insertNodes(ctx context.Context, nodes []audit.Node) error {
	const batch = 200
	for len(nodes) > 0 {
		n := min(len(nodes), batch)
		var q strings.Builder
		q.WriteString(`INSERT INTO audit_nodes (level, idx, hash) VALUES `)
		args := make([]any, 0, 3*n)
		for i, nd := range nodes[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?)")
			args = append(args, int64(nd.Level), int64(nd.Index), nd.Hash)
		}
		if _, err := tx.exec(ctx, q.String(), args...); err != nil {
			if mamori.ErrorCode(err) == mamori.ECONFLICT {
				// The nodes of these positions exist: events were removed
				// behind mamori's back. Recording over them would hide it.
				return errTrailCut
			}
			return fmt.Errorf("append audit tree nodes: %w", err)
		}
		nodes = nodes[n:]
	}
	return nil
}

// auditNodes reads node hashes in the order of ids: leaves from
// audit_events, higher levels from audit_nodes.
func (tx *Tx) auditNodes(ctx context.Context, ids []audit.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	type key struct {
		level uint
		idx   uint64
	}
	pos := make(map[key][]int, len(ids))
	var leafQ, nodeQ strings.Builder
	var leafArgs, nodeArgs []any
	for i, id := range ids {
		k := key{id.Level, id.Index}
		if _, seen := pos[k]; !seen {
			if id.Level == 0 {
				if len(leafArgs) > 0 {
					leafQ.WriteString(", ")
				}
				leafQ.WriteString("?")
				leafArgs = append(leafArgs, int64(id.Index))
			} else {
				if len(nodeArgs) > 0 {
					nodeQ.WriteString(" OR ")
				}
				nodeQ.WriteString("(level = ? AND idx = ?)")
				nodeArgs = append(nodeArgs, int64(id.Level), int64(id.Index))
			}
		}
		pos[k] = append(pos[k], i)
	}
	read := func(q string, args []any, leaf bool) error {
		rows, err := tx.query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var level, idx int64
			var h []byte
			if leaf {
				if err := rows.Scan(&idx, &h); err != nil {
					return err
				}
			} else if err := rows.Scan(&level, &idx, &h); err != nil {
				return err
			}
			for _, i := range pos[key{uint(level), uint64(idx)}] {
				out[i] = h
			}
		}
		return rows.Err()
	}
	if len(leafArgs) > 0 {
		if err := read(`SELECT seq, leaf_hash FROM audit_events WHERE seq IN (`+leafQ.String()+`)`, leafArgs, true); err != nil {
			return nil, err
		}
	}
	if len(nodeArgs) > 0 {
		if err := read(`SELECT level, idx, hash FROM audit_nodes WHERE `+nodeQ.String(), nodeArgs, false); err != nil {
			return nil, err
		}
	}
	for i, h := range out {
		if h == nil {
			return nil, fmt.Errorf("audit tree node (level %d, index %d) is missing", ids[i].Level, ids[i].Index)
		}
	}
	return out, nil
}

// AppendAudit records events that go with no data change (a failed sign-in,
// a denied request, an export). Callers pass a context that outlives the
// client (context.WithoutCancel) so a disconnect cannot drop the record.
func (db *DB) AppendAudit(ctx context.Context, evs ...audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.appendAudit(ctx, evs...) })
}

// AuditNodes returns stored tree node hashes (level 0: recorded leaf hashes).
func (db *DB) AuditNodes(ctx context.Context, ids []audit.NodeID) (out [][]byte, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		out, err = tx.auditNodes(ctx, ids)
		return err
	})
	return out, err
}

// AuditSize returns the number of events in the trail.
func (db *DB) AuditSize(ctx context.Context) (uint64, error) {
	var n int64
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_events`).Scan(&n); err != nil {
		return 0, mapError(fmt.Errorf("read audit size: %w", err))
	}
	return uint64(n), nil
}

const auditColumns = `e.seq, e.id, e.at, e.type, e.code, e.actor_id, e.remote_addr, e.request_id,
	e.target_type, e.target_id, e.outcome, e.details, e.leaf_hash`

func scanStoredEvent(sc interface{ Scan(...any) error }, e *audit.StoredEvent, extra ...any) error {
	var typ, outcome string
	dest := []any{&e.Seq, &e.ID, tm(&e.Time), &typ, &e.Code, &e.ActorID, &e.RemoteAddr, &e.RequestID,
		&e.TargetType, &e.TargetID, &outcome, &e.DetailsText, &e.LeafHash}
	if err := sc.Scan(append(dest, extra...)...); err != nil {
		return err
	}
	e.Type, e.Outcome = audit.Type(typ), audit.Outcome(outcome)
	return nil
}

// ScanAuditEvents streams stored events with from <= seq < to (to == 0: to
// the end) in seq order, inside one read transaction (a consistent snapshot).
func (db *DB) ScanAuditEvents(ctx context.Context, from, to uint64, fn func(*audit.StoredEvent) error) error {
	return db.View(ctx, func(tx *Tx) error {
		q := `SELECT ` + auditColumns + ` FROM audit_events e WHERE e.seq >= ?`
		args := []any{int64(from)}
		if to > 0 {
			q += ` AND e.seq < ?`
			args = append(args, int64(to))
		}
		rows, err := tx.query(ctx, q+` ORDER BY e.seq`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var e audit.StoredEvent
		for rows.Next() {
			e = audit.StoredEvent{}
			if err := scanStoredEvent(rows, &e); err != nil {
				return fmt.Errorf("read audit event: %w", err)
			}
			if err := fn(&e); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

var codeRE = regexp.MustCompile(`^M\d{4}[IWE]$`)

// auditWhere turns a filter into a WHERE clause over audit_events e left
// joined with users u (the actor).
func auditWhere(f audit.Filter) (string, []any) {
	var conds []string
	var args []any
	if !f.Since.IsZero() {
		conds, args = append(conds, `e.at >= ?`), append(args, f.Since)
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, `e.at < ?`), append(args, f.Until)
	}
	if a := strings.TrimSpace(f.Actor); a != "" {
		conds = append(conds, `(e.actor_id = ? OR LOWER(u.email) LIKE ? ESCAPE '\')`)
		args = append(args, a, "%"+likeEscape(strings.ToLower(a))+"%")
	}
	if t := strings.TrimSpace(f.Type); t != "" {
		if codeRE.MatchString(t) {
			conds, args = append(conds, `e.code = ?`), append(args, t)
		} else {
			conds = append(conds, `(e.type = ? OR e.type LIKE ? ESCAPE '\')`)
			args = append(args, t, likeEscape(strings.TrimSuffix(t, "."))+".%")
		}
	}
	if v := strings.TrimSpace(f.TargetType); v != "" {
		conds, args = append(conds, `e.target_type = ?`), append(args, v)
	}
	if v := strings.TrimSpace(f.TargetID); v != "" {
		conds, args = append(conds, `e.target_id = ?`), append(args, v)
	}
	if f.Outcome != "" {
		conds, args = append(conds, `e.outcome = ?`), append(args, string(f.Outcome))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

const auditFrom = ` FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id`

// AuditEvents returns a page of events matching f, newest first, and the
// number of all matching events.
func (db *DB) AuditEvents(ctx context.Context, f audit.Filter) (out []*audit.Record, total int, err error) {
	where, args := auditWhere(f)
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	err = db.View(ctx, func(tx *Tx) error {
		if err := tx.queryRow(ctx, `SELECT count(*)`+auditFrom+where, args...).Scan(&total); err != nil {
			return fmt.Errorf("count audit events: %w", err)
		}
		rows, err := tx.query(ctx, `SELECT `+auditColumns+`, COALESCE(u.email, '')`+auditFrom+where+
			` ORDER BY e.seq DESC LIMIT ? OFFSET ?`, append(args, limit, max(f.Offset, 0))...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := &audit.Record{}
			if err := scanStoredEvent(rows, &r.StoredEvent, &r.ActorEmail); err != nil {
				return fmt.Errorf("read audit event: %w", err)
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, total, err
}

// EachAuditEvent streams every event matching f, oldest first (for exports).
func (db *DB) EachAuditEvent(ctx context.Context, f audit.Filter, fn func(*audit.Record) error) error {
	where, args := auditWhere(f)
	return db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+auditColumns+`, COALESCE(u.email, '')`+auditFrom+where+` ORDER BY e.seq`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := &audit.Record{}
			if err := scanStoredEvent(rows, &r.StoredEvent, &r.ActorEmail); err != nil {
				return fmt.Errorf("read audit event: %w", err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// AuditEvent returns one event by its ID.
func (db *DB) AuditEvent(ctx context.Context, id string) (*audit.Record, error) {
	r := &audit.Record{}
	err := db.View(ctx, func(tx *Tx) error {
		err := scanStoredEvent(tx.queryRow(ctx, `SELECT `+auditColumns+`, COALESCE(u.email, '')`+auditFrom+` WHERE e.id = ?`, id),
			&r.StoredEvent, &r.ActorEmail)
		if err == sql.ErrNoRows {
			return mamori.Errorf(mamori.ENOTFOUND, "The audit event was not found.")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// AddCheckpoint stores a signed checkpoint. When one of the same size
// exists (signed by another process a moment earlier), it is kept and
// returned instead.
func (db *DB) AddCheckpoint(ctx context.Context, cp *audit.Checkpoint) (*audit.Checkpoint, error) {
	var out *audit.Checkpoint
	err := db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO audit_checkpoints (tree_size, root_hash, key_id, note, signed_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (tree_size) DO NOTHING`,
			int64(cp.Size), cp.Root, cp.KeyID(), cp.Note, cp.Time); err != nil {
			return fmt.Errorf("store checkpoint: %w", err)
		}
		var err error
		out, err = tx.checkpointWhere(ctx, `tree_size = ?`, int64(cp.Size))
		return err
	})
	return out, err
}

func (tx *Tx) checkpointWhere(ctx context.Context, where string, args ...any) (*audit.Checkpoint, error) {
	cp, err := scanCheckpoint(tx.queryRow(ctx, `SELECT tree_size, root_hash, key_id, note, signed_at FROM audit_checkpoints WHERE `+where, args...))
	if err == sql.ErrNoRows {
		return nil, mamori.Errorf(mamori.ENOTFOUND, "No signed checkpoint exists yet.")
	}
	return cp, err
}

func scanCheckpoint(sc interface{ Scan(...any) error }) (*audit.Checkpoint, error) {
	cp := &audit.Checkpoint{}
	var size int64
	var keyID string
	if err := sc.Scan(&size, &cp.Root, &keyID, &cp.Note, tm(&cp.Time)); err != nil {
		return nil, err
	}
	cp.Size = uint64(size)
	name, hash, _ := strings.Cut(keyID, "+")
	cp.KeyName = name
	var h uint32
	_, _ = fmt.Sscanf(hash, "%08x", &h)
	cp.KeyHash = h
	return cp, nil
}

// LatestCheckpoint returns the checkpoint of the largest tree.
func (db *DB) LatestCheckpoint(ctx context.Context) (cp *audit.Checkpoint, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		cp, err = tx.checkpointWhere(ctx, `tree_size = (SELECT MAX(tree_size) FROM audit_checkpoints)`)
		return err
	})
	return cp, err
}

// CheckpointAt returns the checkpoint of a tree size.
func (db *DB) CheckpointAt(ctx context.Context, size uint64) (cp *audit.Checkpoint, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		cp, err = tx.checkpointWhere(ctx, `tree_size = ?`, int64(size))
		return err
	})
	return cp, err
}

// Checkpoints lists stored checkpoints, largest first; limit <= 0 lists all.
func (db *DB) Checkpoints(ctx context.Context, limit int) (out []*audit.Checkpoint, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		q := `SELECT tree_size, root_hash, key_id, note, signed_at FROM audit_checkpoints ORDER BY tree_size DESC`
		var args []any
		if limit > 0 {
			q += ` LIMIT ?`
			args = append(args, limit)
		}
		rows, err := tx.query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			cp, err := scanCheckpoint(rows)
			if err != nil {
				return err
			}
			out = append(out, cp)
		}
		return rows.Err()
	})
	return out, err
}

// backfillAuditTree computes the tree nodes of events written before the
// tree was stored (schema 1), once, from their recorded leaf hashes.
func (db *DB) backfillAuditTree(ctx context.Context) error {
	return db.Update(ctx, func(tx *Tx) error {
		if tx.db.dialect == Postgres {
			if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, auditLockKey); err != nil {
				return err
			}
		}
		var events, nodes int64
		if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_events`).Scan(&events); err != nil {
			return err
		}
		if err := tx.queryRow(ctx, `SELECT count(*) FROM audit_nodes`).Scan(&nodes); err != nil {
			return err
		}
		if events < 2 || nodes > 0 {
			return nil
		}
		rows, err := tx.query(ctx, `SELECT leaf_hash FROM audit_events ORDER BY seq`)
		if err != nil {
			return err
		}
		var all []audit.Node
		b := audit.NewBuilder(func(n audit.Node) { all = append(all, n) })
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return err
			}
			b.Append(h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return tx.insertNodes(ctx, all)
	})
}
