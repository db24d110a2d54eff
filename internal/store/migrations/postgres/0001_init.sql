-- mamori schema 1 (PostgreSQL). Same tables and names as the SQLite schema.

CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	updated_by TEXT NOT NULL DEFAULT ''
);

CREATE TABLE users (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	display_name TEXT NOT NULL DEFAULT '',
	department TEXT NOT NULL DEFAULT '',
	locale TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	password_changed_at TIMESTAMPTZ,
	must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
	status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'deleted')),
	status_reason TEXT NOT NULL DEFAULT '',
	valid_from TIMESTAMPTZ,
	valid_until TIMESTAMPTZ,
	decoy BOOLEAN NOT NULL DEFAULT FALSE,
	last_sign_in_at TIMESTAMPTZ,
	last_sign_in_addr TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE user_roles (
	user_id TEXT NOT NULL REFERENCES users (id),
	role TEXT NOT NULL,
	granted_by TEXT NOT NULL DEFAULT '',
	granted_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (user_id, role)
);

CREATE TABLE totp_credentials (
	user_id TEXT PRIMARY KEY REFERENCES users (id),
	secret BYTEA NOT NULL,
	confirmed BOOLEAN NOT NULL DEFAULT FALSE,
	last_step BIGINT NOT NULL DEFAULT 0,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE recovery_codes (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id),
	code_hash TEXT NOT NULL,
	used_at TIMESTAMPTZ,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

CREATE TABLE webauthn_credentials (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id),
	name TEXT NOT NULL,
	credential TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	last_used_at TIMESTAMPTZ
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);

CREATE TABLE sessions (
	id_hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id),
	created_at TIMESTAMPTZ NOT NULL,
	last_seen_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	auth_time TIMESTAMPTZ NOT NULL,
	mfa_at TIMESTAMPTZ,
	factors TEXT NOT NULL DEFAULT '',
	remote_addr TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	csrf_token TEXT NOT NULL,
	revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE pending_logins (
	id_hash TEXT PRIMARY KEY,
	user_id TEXT REFERENCES users (id),
	purpose TEXT NOT NULL,
	data TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id),
	name TEXT NOT NULL,
	token_hash TEXT NOT NULL UNIQUE,
	scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
	expires_at TIMESTAMPTZ NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	last_used_at TIMESTAMPTZ,
	last_used_addr TEXT NOT NULL DEFAULT '',
	revoked_at TIMESTAMPTZ
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE sign_in_events (
	id TEXT PRIMARY KEY,
	at TIMESTAMPTZ NOT NULL,
	user_id TEXT NOT NULL DEFAULT '',
	login TEXT NOT NULL DEFAULT '',
	action TEXT NOT NULL,
	factor TEXT NOT NULL DEFAULT '',
	outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
	reason TEXT NOT NULL DEFAULT '',
	remote_addr TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sign_in_events_at ON sign_in_events (at);
CREATE INDEX sign_in_events_user ON sign_in_events (user_id, at);
CREATE INDEX sign_in_events_addr ON sign_in_events (remote_addr, at);

CREATE TABLE throttles (
	key TEXT PRIMARY KEY,
	failures INTEGER NOT NULL DEFAULT 0,
	window_start TIMESTAMPTZ NOT NULL,
	locked_until TIMESTAMPTZ,
	lockouts INTEGER NOT NULL DEFAULT 0,
	updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE one_time_tokens (
	token_hash TEXT PRIMARY KEY,
	purpose TEXT NOT NULL CHECK (purpose IN ('reset', 'invite')),
	user_id TEXT NOT NULL REFERENCES users (id),
	created_by TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	used_at TIMESTAMPTZ
);
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id);

CREATE TABLE access_reviews (
	id TEXT PRIMARY KEY,
	reviewer_id TEXT NOT NULL REFERENCES users (id),
	reviewed_at TIMESTAMPTZ NOT NULL,
	note TEXT NOT NULL DEFAULT '',
	accounts TEXT NOT NULL
);

CREATE TABLE approvals (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	target_type TEXT NOT NULL,
	target_id TEXT NOT NULL,
	summary TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT '',
	required_perm TEXT NOT NULL,
	requested_by TEXT NOT NULL REFERENCES users (id),
	requested_at TIMESTAMPTZ NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn', 'expired')),
	decided_by TEXT REFERENCES users (id),
	decided_at TIMESTAMPTZ,
	decision_note TEXT NOT NULL DEFAULT '',
	expires_at TIMESTAMPTZ,
	CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE INDEX approvals_target ON approvals (target_type, target_id);
CREATE INDEX approvals_status ON approvals (status, requested_at);

CREATE TABLE notifications (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id),
	at TIMESTAMPTZ NOT NULL,
	kind TEXT NOT NULL,
	subject TEXT NOT NULL,
	body TEXT NOT NULL DEFAULT '',
	link TEXT NOT NULL DEFAULT '',
	read_at TIMESTAMPTZ,
	mailed_at TIMESTAMPTZ
);
CREATE INDEX notifications_user ON notifications (user_id, at);

CREATE TABLE audit_events (
	seq BIGINT PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	at TIMESTAMPTZ NOT NULL,
	type TEXT NOT NULL,
	code TEXT NOT NULL,
	actor_id TEXT NOT NULL DEFAULT '',
	remote_addr TEXT NOT NULL DEFAULT '',
	request_id TEXT NOT NULL DEFAULT '',
	target_type TEXT NOT NULL DEFAULT '',
	target_id TEXT NOT NULL DEFAULT '',
	outcome TEXT NOT NULL DEFAULT 'success',
	details TEXT NOT NULL DEFAULT '{}',
	leaf_hash BYTEA NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor_id, seq);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id, seq);
CREATE INDEX audit_events_type ON audit_events (type, seq);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit events are append-only';
END $$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
	FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
