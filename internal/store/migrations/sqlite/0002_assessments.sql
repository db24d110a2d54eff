-- mamori schema 2 (SQLite): imported catalogs, assessments, evidence,
-- remediation tasks and recurring obligations.

-- Catalogs imported by people (shipped catalogs live in the binary). The
-- document is the catalog in mamori's JSON shape; editions are immutable.
CREATE TABLE catalogs (
	key TEXT PRIMARY KEY,
	framework_id TEXT NOT NULL,
	edition TEXT NOT NULL,
	name TEXT NOT NULL,
	items INTEGER NOT NULL,
	basic INTEGER NOT NULL DEFAULT 0,
	desirable INTEGER NOT NULL DEFAULT 0,
	format TEXT NOT NULL DEFAULT '',
	file_name TEXT NOT NULL DEFAULT '',
	sha256 TEXT NOT NULL,
	document TEXT NOT NULL,
	imported_by TEXT NOT NULL,
	imported_at TIMESTAMP NOT NULL,
	UNIQUE (framework_id, edition)
);

CREATE TABLE assessments (
	id TEXT PRIMARY KEY,
	title TEXT NOT NULL,
	catalog_key TEXT NOT NULL,
	framework_id TEXT NOT NULL,
	profile TEXT NOT NULL CHECK (profile IN ('basic', 'basic_desirable', 'custom')),
	conditions TEXT NOT NULL DEFAULT '[]',
	period_start TIMESTAMP NOT NULL,
	period_end TIMESTAMP NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('open', 'in_review', 'signed_off')),
	previous_id TEXT REFERENCES assessments (id),
	submitted_by TEXT NOT NULL DEFAULT '',
	submitted_at TIMESTAMP,
	signed_off_by TEXT NOT NULL DEFAULT '',
	signed_off_at TIMESTAMP,
	sign_off_note TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	version INTEGER NOT NULL DEFAULT 1,
	revision INTEGER NOT NULL DEFAULT 1,
	-- Separation of duties: the second line signs off what someone else submitted.
	CHECK (state <> 'signed_off' OR (signed_off_by <> '' AND signed_off_by <> submitted_by))
);
CREATE INDEX assessments_catalog ON assessments (catalog_key);
CREATE INDEX assessments_state ON assessments (state, created_at);

-- What an assessment covers: the organisation, systems of the asset ledger
-- (kind system, ref = system ID) or free text.
CREATE TABLE assessment_scope (
	assessment_id TEXT NOT NULL REFERENCES assessments (id),
	position INTEGER NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('organisation', 'system', 'text')),
	ref TEXT NOT NULL DEFAULT '',
	label TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (assessment_id, position)
);
CREATE INDEX assessment_scope_ref ON assessment_scope (kind, ref);

CREATE TABLE assessment_items (
	id TEXT PRIMARY KEY,
	assessment_id TEXT NOT NULL REFERENCES assessments (id),
	node_id TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('open', 'implemented', 'partial', 'planned', 'not_implemented', 'not_applicable', 'risk_accepted')),
	target_date TIMESTAMP,
	rationale TEXT NOT NULL DEFAULT '',
	owner_id TEXT REFERENCES users (id),
	due_date TIMESTAMP,
	explanation TEXT NOT NULL DEFAULT '',
	notes TEXT NOT NULL DEFAULT '',
	accept_reason TEXT NOT NULL DEFAULT '',
	accept_until TIMESTAMP,
	accept_approval_id TEXT REFERENCES approvals (id),
	excluded INTEGER NOT NULL DEFAULT 0 CHECK (excluded IN (0, 1)),
	exclude_reason TEXT NOT NULL DEFAULT '',
	exclude_until TIMESTAMP,
	exclude_approval_id TEXT REFERENCES approvals (id),
	review TEXT NOT NULL DEFAULT '' CHECK (review IN ('', 'agreed', 'challenged')),
	reviewed_by TEXT REFERENCES users (id),
	reviewed_at TIMESTAMP,
	review_note TEXT NOT NULL DEFAULT '',
	updated_by TEXT NOT NULL DEFAULT '',
	updated_at TIMESTAMP NOT NULL,
	version INTEGER NOT NULL DEFAULT 1,
	UNIQUE (assessment_id, node_id),
	CHECK (status <> 'not_applicable' OR rationale <> ''),
	CHECK (status <> 'planned' OR target_date IS NOT NULL),
	CHECK (status <> 'risk_accepted' OR (accept_reason <> '' AND accept_until IS NOT NULL)),
	CHECK (excluded = 0 OR (exclude_reason <> '' AND exclude_until IS NOT NULL)),
	-- Separation of duties: nobody reviews an answer they gave.
	CHECK (reviewed_by IS NULL OR reviewed_by <> updated_by)
);
CREATE INDEX assessment_items_owner ON assessment_items (owner_id);
CREATE INDEX assessment_items_accept ON assessment_items (accept_approval_id);
CREATE INDEX assessment_items_exclude ON assessment_items (exclude_approval_id);

CREATE TABLE assessment_evidence (
	id TEXT PRIMARY KEY,
	assessment_id TEXT NOT NULL REFERENCES assessments (id),
	item_id TEXT NOT NULL REFERENCES assessment_items (id),
	kind TEXT NOT NULL CHECK (kind IN ('file', 'record', 'url')),
	title TEXT NOT NULL,
	url TEXT NOT NULL DEFAULT '',
	record_type TEXT NOT NULL DEFAULT '',
	record_id TEXT NOT NULL DEFAULT '',
	file_sha256 TEXT NOT NULL DEFAULT '',
	file_size INTEGER NOT NULL DEFAULT 0,
	file_name TEXT NOT NULL DEFAULT '',
	file_media_type TEXT NOT NULL DEFAULT '',
	effective_on TIMESTAMP NOT NULL,
	expires_on TIMESTAMP,
	needs_renewal INTEGER NOT NULL DEFAULT 0 CHECK (needs_renewal IN (0, 1)),
	copied_from TEXT NOT NULL DEFAULT '',
	added_by TEXT NOT NULL,
	added_at TIMESTAMP NOT NULL,
	CHECK (kind <> 'file' OR length(file_sha256) = 64),
	CHECK (kind <> 'url' OR url <> ''),
	CHECK (kind <> 'record' OR (record_type <> '' AND record_id <> ''))
);
CREATE INDEX assessment_evidence_assessment ON assessment_evidence (assessment_id);
CREATE INDEX assessment_evidence_item ON assessment_evidence (item_id);
CREATE INDEX assessment_evidence_file ON assessment_evidence (file_sha256);

CREATE TABLE assessment_tasks (
	id TEXT PRIMARY KEY,
	assessment_id TEXT NOT NULL REFERENCES assessments (id),
	item_id TEXT REFERENCES assessment_items (id),
	title TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	owner_id TEXT REFERENCES users (id),
	due_date TIMESTAMP,
	state TEXT NOT NULL CHECK (state IN ('open', 'done')),
	done_by TEXT NOT NULL DEFAULT '',
	done_at TIMESTAMP,
	done_note TEXT NOT NULL DEFAULT '',
	reminded_at TIMESTAMP,
	created_by TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX assessment_tasks_assessment ON assessment_tasks (assessment_id, created_at);
CREATE INDEX assessment_tasks_owner ON assessment_tasks (owner_id, state, due_date);

-- Recurring obligations of a catalog (keyed by framework and item, which
-- stay stable across editions): owner, chosen interval, last performance.
CREATE TABLE obligations (
	catalog_id TEXT NOT NULL,
	item_id TEXT NOT NULL,
	every TEXT NOT NULL DEFAULT '',
	owner_id TEXT REFERENCES users (id),
	last_done TIMESTAMP,
	last_done_by TEXT NOT NULL DEFAULT '',
	note TEXT NOT NULL DEFAULT '',
	reminded_due TIMESTAMP,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (catalog_id, item_id)
);
