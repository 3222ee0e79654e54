-- sluice schema, version 1 (SQLite).
--
-- Times are INTEGER unix microseconds, UTC. JSON documents are TEXT.
-- Tables are STRICT so a value of the wrong type is an error, as it is on
-- PostgreSQL. Keep this file and ../../postgres/migrations/0001_init.sql
-- describing the same schema.

-- One row: the config version, bumped by every transaction that writes a
-- config entity or credential.
CREATE TABLE config_version (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
) STRICT;
INSERT INTO config_version (id, version) VALUES (1, 0);

-- Config entities: the JSON document of the config type, its sealed secret
-- fields (ai_providers only, today) and an optimistic-locking version.
CREATE TABLE routes (
	name TEXT PRIMARY KEY,
	doc TEXT NOT NULL,
	secret BLOB,
	version INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE upstreams (
	name TEXT PRIMARY KEY,
	doc TEXT NOT NULL,
	secret BLOB,
	version INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE consumers (
	name TEXT PRIMARY KEY,
	doc TEXT NOT NULL,
	secret BLOB,
	version INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE plugins (
	name TEXT PRIMARY KEY,
	doc TEXT NOT NULL,
	secret BLOB,
	version INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE ai_providers (
	name TEXT PRIMARY KEY,
	doc TEXT NOT NULL,
	secret BLOB,
	version INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE ai_models (
	name TEXT PRIMARY KEY,
	doc TEXT NOT NULL,
	secret BLOB,
	version INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

-- Credentials: found by the keyed digest of their lookup value, unique per
-- type; the secret is sealed. They go with their consumer.
CREATE TABLE credentials (
	id TEXT PRIMARY KEY,
	consumer TEXT NOT NULL REFERENCES consumers (name) ON DELETE CASCADE,
	type TEXT NOT NULL,
	lookup BLOB NOT NULL,
	secret BLOB,
	attrs TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (type, lookup)
) STRICT;
CREATE INDEX credentials_consumer ON credentials (consumer);

-- Admin users, API tokens (digest only) and console sessions (digests only).
CREATE TABLE users (
	username TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	last_login INTEGER
) STRICT;

CREATE TABLE api_tokens (
	id TEXT PRIMARY KEY,
	username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
	name TEXT NOT NULL,
	digest BLOB NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	last_used INTEGER,
	expires_at INTEGER
) STRICT;
CREATE INDEX api_tokens_username ON api_tokens (username);

CREATE TABLE sessions (
	id_digest BLOB PRIMARY KEY,
	username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
	csrf_digest BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_username ON sessions (username);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- The request log, newest first by (ts, id); one index per query filter.
CREATE TABLE request_log (
	id INTEGER PRIMARY KEY,
	ts INTEGER NOT NULL,
	request_id TEXT NOT NULL,
	node_id TEXT NOT NULL,
	route TEXT NOT NULL,
	upstream TEXT NOT NULL,
	consumer TEXT NOT NULL,
	method TEXT NOT NULL,
	host TEXT NOT NULL,
	path TEXT NOT NULL,
	status INTEGER NOT NULL,
	code TEXT NOT NULL,
	error TEXT NOT NULL,
	attempts TEXT NOT NULL,
	bytes_in INTEGER NOT NULL,
	bytes_out INTEGER NOT NULL,
	duration_us INTEGER NOT NULL,
	upstream_duration_us INTEGER NOT NULL
) STRICT;
CREATE INDEX request_log_ts ON request_log (ts, id);
CREATE INDEX request_log_request_id ON request_log (request_id);
CREATE INDEX request_log_route_ts ON request_log (route, ts);
CREATE INDEX request_log_consumer_ts ON request_log (consumer, ts);
CREATE INDEX request_log_code_ts ON request_log (code, ts);
CREATE INDEX request_log_status_ts ON request_log (status, ts);

-- AI usage; day is the UTC date (YYYY-MM-DD) of ts, for grouping.
CREATE TABLE ai_usage (
	id INTEGER PRIMARY KEY,
	ts INTEGER NOT NULL,
	day TEXT NOT NULL,
	request_id TEXT NOT NULL,
	consumer TEXT NOT NULL,
	model TEXT NOT NULL,
	provider TEXT NOT NULL,
	provider_model TEXT NOT NULL,
	input_tokens INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	cost_usd REAL NOT NULL
) STRICT;
CREATE INDEX ai_usage_ts ON ai_usage (ts);
CREATE INDEX ai_usage_consumer_ts ON ai_usage (consumer, ts);
CREATE INDEX ai_usage_model_ts ON ai_usage (model, ts);

-- Node heartbeats.
CREATE TABLE nodes (
	id TEXT PRIMARY KEY,
	hostname TEXT NOT NULL,
	version TEXT NOT NULL,
	started_at INTEGER,
	last_seen INTEGER NOT NULL
) STRICT;
