-- sluice schema, version 1 (PostgreSQL).
--
-- Times are timestamptz; JSON documents are jsonb. Names and ids sort with
-- COLLATE "C" (bytewise), as SQLite's do, whatever the database's default
-- collation. Keep this file and ../../sqlite/migrations/0001_init.sql
-- describing the same schema.

-- One row: the config version, bumped by every transaction that writes a
-- config entity or credential.
CREATE TABLE config_version (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 0);

-- Config entities: the JSON document of the config type, its sealed secret
-- fields (ai_providers only, today) and an optimistic-locking version.
CREATE TABLE routes (
	name TEXT COLLATE "C" PRIMARY KEY,
	doc JSONB NOT NULL,
	secret BYTEA,
	version BIGINT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE upstreams (
	name TEXT COLLATE "C" PRIMARY KEY,
	doc JSONB NOT NULL,
	secret BYTEA,
	version BIGINT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE consumers (
	name TEXT COLLATE "C" PRIMARY KEY,
	doc JSONB NOT NULL,
	secret BYTEA,
	version BIGINT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE plugins (
	name TEXT COLLATE "C" PRIMARY KEY,
	doc JSONB NOT NULL,
	secret BYTEA,
	version BIGINT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE ai_providers (
	name TEXT COLLATE "C" PRIMARY KEY,
	doc JSONB NOT NULL,
	secret BYTEA,
	version BIGINT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE ai_models (
	name TEXT COLLATE "C" PRIMARY KEY,
	doc JSONB NOT NULL,
	secret BYTEA,
	version BIGINT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);

-- Credentials: found by the keyed digest of their lookup value, unique per
-- type; the secret is sealed. They go with their consumer.
CREATE TABLE credentials (
	id TEXT COLLATE "C" PRIMARY KEY,
	consumer TEXT COLLATE "C" NOT NULL REFERENCES consumers (name) ON DELETE CASCADE,
	type TEXT NOT NULL,
	lookup BYTEA NOT NULL,
	secret BYTEA,
	attrs JSONB NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (type, lookup)
);
CREATE INDEX credentials_consumer ON credentials (consumer);

-- Admin users, API tokens (digest only) and console sessions (digests only).
CREATE TABLE users (
	username TEXT COLLATE "C" PRIMARY KEY,
	password_hash TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	last_login TIMESTAMPTZ
);

CREATE TABLE api_tokens (
	id TEXT COLLATE "C" PRIMARY KEY,
	username TEXT COLLATE "C" NOT NULL REFERENCES users (username) ON DELETE CASCADE,
	name TEXT NOT NULL,
	digest BYTEA NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL,
	last_used TIMESTAMPTZ,
	expires_at TIMESTAMPTZ
);
CREATE INDEX api_tokens_username ON api_tokens (username);

CREATE TABLE sessions (
	id_digest BYTEA PRIMARY KEY,
	username TEXT COLLATE "C" NOT NULL REFERENCES users (username) ON DELETE CASCADE,
	csrf_digest BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_username ON sessions (username);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- The request log, newest first by (ts, id); one index per query filter.
CREATE TABLE request_log (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ts TIMESTAMPTZ NOT NULL,
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
	attempts JSONB NOT NULL,
	bytes_in BIGINT NOT NULL,
	bytes_out BIGINT NOT NULL,
	duration_us BIGINT NOT NULL,
	upstream_duration_us BIGINT NOT NULL
);
CREATE INDEX request_log_ts ON request_log (ts, id);
CREATE INDEX request_log_request_id ON request_log (request_id);
CREATE INDEX request_log_route_ts ON request_log (route, ts);
CREATE INDEX request_log_consumer_ts ON request_log (consumer, ts);
CREATE INDEX request_log_code_ts ON request_log (code, ts);
CREATE INDEX request_log_status_ts ON request_log (status, ts);

-- AI usage; day is the UTC date (YYYY-MM-DD) of ts, for grouping.
CREATE TABLE ai_usage (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ts TIMESTAMPTZ NOT NULL,
	day TEXT COLLATE "C" NOT NULL,
	request_id TEXT NOT NULL,
	consumer TEXT COLLATE "C" NOT NULL,
	model TEXT COLLATE "C" NOT NULL,
	provider TEXT NOT NULL,
	provider_model TEXT NOT NULL,
	input_tokens BIGINT NOT NULL,
	output_tokens BIGINT NOT NULL,
	cost_usd DOUBLE PRECISION NOT NULL
);
CREATE INDEX ai_usage_ts ON ai_usage (ts);
CREATE INDEX ai_usage_consumer_ts ON ai_usage (consumer, ts);
CREATE INDEX ai_usage_model_ts ON ai_usage (model, ts);

-- Node heartbeats.
CREATE TABLE nodes (
	id TEXT COLLATE "C" PRIMARY KEY,
	hostname TEXT NOT NULL,
	version TEXT NOT NULL,
	started_at TIMESTAMPTZ,
	last_seen TIMESTAMPTZ NOT NULL
);
