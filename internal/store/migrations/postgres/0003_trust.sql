-- mamori schema 2 (PostgreSQL). Same tables and names as the SQLite schema.

CREATE TABLE audit_nodes (
	level SMALLINT NOT NULL,
	idx BIGINT NOT NULL,
	hash BYTEA NOT NULL,
	PRIMARY KEY (level, idx)
);

CREATE FUNCTION mamori_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER audit_nodes_no_change BEFORE UPDATE OR DELETE ON audit_nodes
	FOR EACH ROW EXECUTE FUNCTION mamori_append_only();
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
	FOR EACH STATEMENT EXECUTE FUNCTION mamori_append_only();

CREATE TABLE audit_checkpoints (
	tree_size BIGINT PRIMARY KEY,
	root_hash BYTEA NOT NULL,
	key_id TEXT NOT NULL,
	note TEXT NOT NULL,
	signed_at TIMESTAMPTZ NOT NULL
);
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
	FOR EACH ROW EXECUTE FUNCTION mamori_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION mamori_append_only();

CREATE TABLE files (
	sha256 TEXT PRIMARY KEY,
	size BIGINT NOT NULL,
	media_type TEXT NOT NULL,
	blob TEXT NOT NULL,
	file_key BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	created_by TEXT NOT NULL DEFAULT ''
);

CREATE TABLE backup_drills (
	id TEXT PRIMARY KEY,
	started_at TIMESTAMPTZ NOT NULL,
	finished_at TIMESTAMPTZ NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('scheduled', 'manual')),
	file_name TEXT NOT NULL DEFAULT '',
	locations TEXT NOT NULL DEFAULT '[]',
	size BIGINT NOT NULL DEFAULT 0,
	sha256 TEXT NOT NULL DEFAULT '',
	audit_events BIGINT NOT NULL DEFAULT 0,
	create_ms BIGINT NOT NULL DEFAULT 0,
	verify_ms BIGINT NOT NULL DEFAULT 0,
	restore_ms BIGINT NOT NULL DEFAULT 0,
	verified BOOLEAN NOT NULL DEFAULT FALSE,
	restored BOOLEAN NOT NULL DEFAULT FALSE,
	audit_verified BOOLEAN NOT NULL DEFAULT FALSE,
	outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
	error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_drills_started ON backup_drills (started_at);
