-- mamori schema 2 (SQLite): the Merkle tree over the audit trail, signed
-- checkpoints, the encrypted content-addressed file store and restore drills.

-- Perfect subtree hashes of the audit trail's Merkle tree, level >= 1 (level 0
-- is audit_events.leaf_hash), written in the same transaction as the events
-- that complete them, so roots and proofs need O(log n) reads. Derived data:
-- `mamori audit verify` recomputes the tree from the events.
CREATE TABLE audit_nodes (
	level INTEGER NOT NULL,
	idx INTEGER NOT NULL,
	hash BLOB NOT NULL,
	PRIMARY KEY (level, idx)
) WITHOUT ROWID;

CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit tree nodes are append-only'); END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit tree nodes are append-only'); END;

-- Signed tree heads (C2SP checkpoints). Each is also published outside the
-- database (audit.checkpoint_dir, audit.checkpoint_webhook).
CREATE TABLE audit_checkpoints (
	tree_size INTEGER PRIMARY KEY,
	root_hash BLOB NOT NULL,
	key_id TEXT NOT NULL,
	note TEXT NOT NULL,
	signed_at TIMESTAMP NOT NULL
);

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;

-- Evidence and attachment files, addressed by the SHA-256 of their content.
-- The encrypted content lives in DATA_DIR/files/<first two hex digits>/
-- <sha256>.<blob>; file_key is the file's own streaming key, sealed by the
-- key-encryption key and bound to this row.
CREATE TABLE files (
	sha256 TEXT PRIMARY KEY,
	size INTEGER NOT NULL,
	media_type TEXT NOT NULL,
	blob TEXT NOT NULL,
	file_key BLOB NOT NULL,
	created_at TIMESTAMP NOT NULL,
	created_by TEXT NOT NULL DEFAULT ''
);

-- One row per backup run: created, verified and test-restored, with timings;
-- the evidence for the guideline's backup items.
CREATE TABLE backup_drills (
	id TEXT PRIMARY KEY,
	started_at TIMESTAMP NOT NULL,
	finished_at TIMESTAMP NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('scheduled', 'manual')),
	file_name TEXT NOT NULL DEFAULT '',
	locations TEXT NOT NULL DEFAULT '[]',
	size INTEGER NOT NULL DEFAULT 0,
	sha256 TEXT NOT NULL DEFAULT '',
	audit_events INTEGER NOT NULL DEFAULT 0,
	create_ms INTEGER NOT NULL DEFAULT 0,
	verify_ms INTEGER NOT NULL DEFAULT 0,
	restore_ms INTEGER NOT NULL DEFAULT 0,
	verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
	restored INTEGER NOT NULL DEFAULT 0 CHECK (restored IN (0, 1)),
	audit_verified INTEGER NOT NULL DEFAULT 0 CHECK (audit_verified IN (0, 1)),
	outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
	error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_drills_started ON backup_drills (started_at);
