-- heads: actions_0001,anomalies_0001,daemon_0001,health_0001,hub_0001,otel_0001,samples_0001,throttle_0001
CREATE TABLE account_state (
	account_id VARCHAR(200) NOT NULL, 
	outcome VARCHAR(16) NOT NULL, 
	reason TEXT NOT NULL, 
	observed_ts FLOAT, 
	retry_ts FLOAT, 
	details JSON, 
	PRIMARY KEY (account_id)
);
CREATE TABLE accounts (
	id VARCHAR(200) NOT NULL, 
	provider VARCHAR(64) NOT NULL, 
	label VARCHAR(200) NOT NULL, 
	"plan" VARCHAR(64), 
	pool VARCHAR(64), 
	base_url VARCHAR(500), 
	credential_ref VARCHAR(500), 
	fingerprint VARCHAR(32), 
	tags JSON NOT NULL, 
	origin VARCHAR(16) NOT NULL, 
	created_ts FLOAT NOT NULL, 
	updated_ts FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('actions_0001');
INSERT INTO "alembic_version" VALUES('anomalies_0001');
INSERT INTO "alembic_version" VALUES('daemon_0001');
INSERT INTO "alembic_version" VALUES('health_0001');
INSERT INTO "alembic_version" VALUES('hub_0001');
INSERT INTO "alembic_version" VALUES('otel_0001');
INSERT INTO "alembic_version" VALUES('samples_0001');
INSERT INTO "alembic_version" VALUES('throttle_0001');
CREATE TABLE alerts (
	id INTEGER NOT NULL, 
	"key" VARCHAR(300) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	severity VARCHAR(16) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	account_id VARCHAR(200), 
	window VARCHAR(64), 
	message TEXT NOT NULL, 
	action TEXT NOT NULL, 
	opened_ts FLOAT NOT NULL, 
	updated_ts FLOAT NOT NULL, 
	resolved_ts FLOAT, 
	acked_by VARCHAR(200), 
	notified_ts FLOAT, 
	notify_count INTEGER NOT NULL, pending_notice VARCHAR(16), last_notice VARCHAR(16), notified_severity VARCHAR(16), tags JSON, 
	PRIMARY KEY (id)
);
CREATE TABLE audit_events (
	id INTEGER NOT NULL, 
	ts FLOAT NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	action VARCHAR(64) NOT NULL, 
	subject VARCHAR(300) NOT NULL, 
	detail JSON, 
	PRIMARY KEY (id)
);
CREATE TABLE consumer_throttles (
	consumer VARCHAR(200) NOT NULL, 
	until_ts FLOAT NOT NULL, 
	reason VARCHAR(500) DEFAULT '' NOT NULL, 
	set_ts FLOAT NOT NULL, 
	PRIMARY KEY (consumer)
);
CREATE TABLE consumers (
	id VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	framework VARCHAR(32), 
	project VARCHAR(500), 
	state VARCHAR(16) NOT NULL, 
	last_heartbeat_ts FLOAT, 
	api_key_hash VARCHAR(128), 
	poll_interval_s INTEGER, 
	config JSON, 
	created_ts FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE hub_cursors (
	hub VARCHAR(500) NOT NULL, 
	samples_id BIGINT DEFAULT '0' NOT NULL, 
	usage_ts FLOAT DEFAULT '0' NOT NULL, 
	outcomes_hour FLOAT DEFAULT '0' NOT NULL, 
	pushed_ts FLOAT, 
	pushes INTEGER DEFAULT '0' NOT NULL, 
	PRIMARY KEY (hub)
);
CREATE TABLE hub_seats (
	seat VARCHAR(64) NOT NULL, 
	first_push_ts FLOAT NOT NULL, 
	last_push_ts FLOAT NOT NULL, 
	last_push_id VARCHAR(64) NOT NULL, 
	interval_s FLOAT, 
	sent_ts FLOAT, 
	pushes INTEGER DEFAULT '0' NOT NULL, 
	rows BIGINT DEFAULT '0' NOT NULL, 
	PRIMARY KEY (seat)
);
CREATE TABLE ingest_files (
	path VARCHAR(1000) NOT NULL, 
	source VARCHAR(64) NOT NULL, 
	host VARCHAR(200), 
	device BIGINT, 
	inode BIGINT, 
	size BIGINT, 
	"offset" BIGINT NOT NULL, 
	head_hash VARCHAR(64), 
	updated_ts FLOAT, 
	PRIMARY KEY (path)
);
CREATE TABLE instance_secrets (
	consumer_id VARCHAR(64) NOT NULL, 
	provider VARCHAR(64) NOT NULL, 
	fingerprint VARCHAR(32) NOT NULL, 
	sealed TEXT NOT NULL, 
	PRIMARY KEY (consumer_id, provider)
);
CREATE TABLE job_runs (
	id INTEGER NOT NULL, 
	job VARCHAR(100) NOT NULL, 
	host VARCHAR(200), 
	started_ts FLOAT NOT NULL, 
	finished_ts FLOAT, 
	outcome VARCHAR(16), 
	detail TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE latest_samples (
	account_id VARCHAR(200) NOT NULL, 
	window VARCHAR(64) NOT NULL, 
	observed_ts FLOAT NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	provenance VARCHAR(16) NOT NULL, 
	unit VARCHAR(16) NOT NULL, 
	used_ratio FLOAT, 
	used FLOAT, 
	remaining FLOAT, 
	"limit" FLOAT, 
	resets_ts FLOAT, 
	status VARCHAR(32), 
	window_length_s INTEGER, 
	PRIMARY KEY (account_id, window)
);
CREATE TABLE leases (
	name VARCHAR(300) NOT NULL, 
	holder VARCHAR(200) NOT NULL, 
	expires_ts FLOAT NOT NULL, 
	PRIMARY KEY (name)
);
CREATE TABLE log_files (
	host VARCHAR(200) NOT NULL, 
	path VARCHAR(1000) NOT NULL, 
	source VARCHAR(64) NOT NULL, 
	device BIGINT, 
	inode BIGINT, 
	size BIGINT NOT NULL, 
	"offset" BIGINT NOT NULL, 
	lines BIGINT NOT NULL, 
	head_hash VARCHAR(80), 
	mtime FLOAT, 
	state TEXT, 
	updated_ts FLOAT, 
	PRIMARY KEY (host, path)
);
CREATE TABLE outcome_hours (
	account_id VARCHAR(200) NOT NULL, 
	hour_ts FLOAT NOT NULL, 
	ok INTEGER DEFAULT '0' NOT NULL, 
	errors INTEGER DEFAULT '0' NOT NULL, 
	PRIMARY KEY (account_id, hour_ts)
);
CREATE TABLE poll_slots (
	account_id VARCHAR(200) NOT NULL, 
	interval_s FLOAT NOT NULL, 
	slot_ts FLOAT NOT NULL, 
	due_ts FLOAT NOT NULL, 
	holder VARCHAR(200), 
	polls INTEGER DEFAULT '0' NOT NULL, 
	last_ts FLOAT, 
	PRIMARY KEY (account_id)
);
CREATE TABLE provider_anomalies (
	id INTEGER NOT NULL, 
	"key" VARCHAR(300) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	account_id VARCHAR(200) NOT NULL, 
	window VARCHAR(64), 
	at_ts FLOAT NOT NULL, 
	detected_ts FLOAT NOT NULL, 
	message TEXT NOT NULL, 
	expected TEXT DEFAULT '' NOT NULL, 
	evidence JSON, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_provider_anomalies_key UNIQUE ("key")
);
CREATE TABLE provider_status (
	provider VARCHAR(64) NOT NULL, 
	state VARCHAR(32) NOT NULL, 
	description VARCHAR(300) DEFAULT '' NOT NULL, 
	observed_ts FLOAT NOT NULL, 
	PRIMARY KEY (provider)
);
CREATE TABLE sample_rollups (
	account_id VARCHAR(200) NOT NULL, 
	window VARCHAR(64) NOT NULL, 
	hour_ts FLOAT NOT NULL, 
	unit VARCHAR(16) NOT NULL, 
	n INTEGER NOT NULL, 
	used_ratio_max FLOAT, 
	used_ratio_last FLOAT, 
	used_last FLOAT, 
	remaining_last FLOAT, 
	limit_last FLOAT, 
	resets_ts_last FLOAT, 
	PRIMARY KEY (account_id, window, hour_ts)
);
CREATE TABLE samples (
	id INTEGER NOT NULL, 
	account_id VARCHAR(200) NOT NULL, 
	window VARCHAR(64) NOT NULL, 
	observed_ts FLOAT NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	provenance VARCHAR(16) NOT NULL, 
	unit VARCHAR(16) NOT NULL, 
	used_ratio FLOAT, 
	used FLOAT, 
	remaining FLOAT, 
	"limit" FLOAT, 
	resets_ts FLOAT, 
	status VARCHAR(32), 
	window_length_s INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_samples_identity UNIQUE (account_id, window, observed_ts, source)
);
CREATE TABLE usage_events (
	dedup_key VARCHAR(300) NOT NULL, 
	ts FLOAT NOT NULL, 
	provider VARCHAR(64) NOT NULL, 
	model VARCHAR(200) NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	account_id VARCHAR(200), 
	consumer VARCHAR(200), 
	project VARCHAR(500), 
	session VARCHAR(200), 
	host VARCHAR(200), 
	input_tokens BIGINT NOT NULL, 
	output_tokens BIGINT NOT NULL, 
	cache_write_tokens BIGINT NOT NULL, 
	cache_write_1h_tokens BIGINT NOT NULL, 
	cache_read_tokens BIGINT NOT NULL, 
	reasoning_tokens BIGINT NOT NULL, 
	cost NUMERIC(18, 8), 
	cost_recorded NUMERIC(18, 8), 
	request_id VARCHAR(200), 
	PRIMARY KEY (dedup_key)
);
CREATE TABLE usage_hourly (
	hour_ts FLOAT NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	consumer VARCHAR(200), 
	provider VARCHAR(64) NOT NULL, 
	host VARCHAR(200), 
	project VARCHAR(500), 
	session VARCHAR(200), 
	model VARCHAR(200) NOT NULL, 
	events INTEGER NOT NULL, 
	input_tokens BIGINT NOT NULL, 
	output_tokens BIGINT NOT NULL, 
	cache_write_tokens BIGINT NOT NULL, 
	cache_write_1h_tokens BIGINT NOT NULL, 
	cache_read_tokens BIGINT NOT NULL, 
	reasoning_tokens BIGINT NOT NULL, 
	cost_calc NUMERIC(18, 8) NOT NULL, 
	unknown_calc INTEGER NOT NULL, 
	cost_recorded NUMERIC(18, 8) NOT NULL, 
	cost_auto NUMERIC(18, 8) NOT NULL, 
	unknown_auto INTEGER NOT NULL, 
	first_ts FLOAT NOT NULL, 
	last_ts FLOAT NOT NULL
);
CREATE TABLE usage_rollup (
	hour_ts FLOAT NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	consumer VARCHAR(200), 
	provider VARCHAR(64) NOT NULL, 
	host VARCHAR(200), 
	project VARCHAR(500), 
	model VARCHAR(200) NOT NULL, 
	events INTEGER NOT NULL, 
	input_tokens BIGINT NOT NULL, 
	output_tokens BIGINT NOT NULL, 
	cache_write_tokens BIGINT NOT NULL, 
	cache_write_1h_tokens BIGINT NOT NULL, 
	cache_read_tokens BIGINT NOT NULL, 
	reasoning_tokens BIGINT NOT NULL, 
	cost_calc NUMERIC(18, 8) NOT NULL, 
	unknown_calc INTEGER NOT NULL, 
	cost_recorded NUMERIC(18, 8) NOT NULL, 
	cost_auto NUMERIC(18, 8) NOT NULL, 
	unknown_auto INTEGER NOT NULL, 
	first_ts FLOAT NOT NULL, 
	last_ts FLOAT NOT NULL
);
CREATE INDEX ix_accounts_fingerprint ON accounts (fingerprint);
CREATE INDEX ix_usage_ts ON usage_events (ts);
CREATE INDEX ix_alerts_key_state ON alerts ("key", state);
CREATE INDEX ix_audit_events_ts ON audit_events (ts);
CREATE INDEX ix_job_runs_job_started ON job_runs (job, started_ts);
CREATE INDEX ix_samples_source_ts ON samples (account_id, window, source, observed_ts);
CREATE INDEX ix_usage_hourly_hour ON usage_hourly (hour_ts);
CREATE INDEX ix_usage_rollup_hour ON usage_rollup (hour_ts);
CREATE INDEX ix_usage_account_ts ON usage_events (account_id, ts) WHERE account_id IS NOT NULL;
CREATE INDEX ix_usage_otel_ts ON usage_events (ts) WHERE source = 'otel';
CREATE INDEX ix_poll_slots_due_ts ON poll_slots (due_ts);
CREATE INDEX ix_instance_secrets_fingerprint ON instance_secrets (fingerprint);
CREATE INDEX ix_consumers_api_key_hash ON consumers (api_key_hash);
CREATE INDEX ix_provider_anomalies_account_at ON provider_anomalies (account_id, at_ts);
CREATE INDEX ix_provider_anomalies_at ON provider_anomalies (at_ts);
CREATE INDEX ix_alerts_pending ON alerts (pending_notice);
