-- The tracking and registry schema, version 1.

CREATE TABLE datasets (
	id bigserial PRIMARY KEY,
	source text NOT NULL,                 -- file names or the query
	fingerprint text NOT NULL,            -- SHA-256 of the rows written
	encoding text NOT NULL,               -- fingerprint of the encoding
	rows bigint NOT NULL,
	rejected bigint NOT NULL DEFAULT 0,
	run_id bigint,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE runs (
	id bigserial PRIMARY KEY,
	tool text NOT NULL CHECK (tool IN ('ingest', 'validate', 'pretrain',
	    'train', 'evaluate', 'predict', 'promote', 'drift')),
	status text NOT NULL DEFAULT 'running'
	    CHECK (status IN ('running', 'finished', 'failed')),
	params jsonb NOT NULL DEFAULT '{}',   -- the options
	inputs jsonb NOT NULL DEFAULT '{}',   -- input fingerprints
	result jsonb,                         -- what the run produced
	error text,                           -- why it failed
	host text NOT NULL,
	pid integer NOT NULL,
	version text NOT NULL,
	db_user text NOT NULL DEFAULT current_user,
	started_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz,
	CHECK ((status = 'running') = (finished_at IS NULL))
);

ALTER TABLE datasets ADD FOREIGN KEY (run_id) REFERENCES runs (id);

CREATE TABLE epochs (
	run_id bigint NOT NULL REFERENCES runs (id),
	epoch integer NOT NULL,
	metrics jsonb NOT NULL,
	recorded_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (run_id, epoch)
);

CREATE TABLE models (
	id bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_versions (
	id bigserial PRIMARY KEY,
	model_id bigint NOT NULL REFERENCES models (id),
	version integer NOT NULL,
	path text NOT NULL,
	sha256 text NOT NULL,
	run_id bigint REFERENCES runs (id),
	metrics jsonb NOT NULL DEFAULT '{}',
	stage text NOT NULL DEFAULT 'None'
	    CHECK (stage IN ('None', 'Staging', 'Production', 'Archived')),
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (model_id, version)
);

-- At most one Production version per model, whatever races.
CREATE UNIQUE INDEX model_versions_one_production ON model_versions (model_id)
    WHERE stage = 'Production';

-- Every stage change with its reason; rows are never changed or removed.
CREATE TABLE stage_changes (
	id bigserial PRIMARY KEY,
	version_id bigint NOT NULL REFERENCES model_versions (id),
	from_stage text NOT NULL,
	to_stage text NOT NULL,
	reason text NOT NULL,
	db_user text NOT NULL DEFAULT current_user,
	changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION tabpipe_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;

CREATE TRIGGER stage_changes_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON stage_changes
    FOR EACH STATEMENT EXECUTE FUNCTION tabpipe_append_only();

-- A new Production version is announced to listening predictors.
CREATE FUNCTION tabpipe_announce_production() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.stage = 'Production' AND OLD.stage IS DISTINCT FROM 'Production' THEN
		PERFORM pg_notify('tabpipe_production', json_build_object(
		    'model', (SELECT name FROM models WHERE id = NEW.model_id),
		    'version', NEW.version, 'path', NEW.path)::text);
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER model_versions_announce AFTER UPDATE OF stage ON model_versions
    FOR EACH ROW EXECUTE FUNCTION tabpipe_announce_production();

CREATE TABLE evaluations (
	id bigserial PRIMARY KEY,
	run_id bigint NOT NULL REFERENCES runs (id),
	version_id bigint REFERENCES model_versions (id),
	model_sha256 text NOT NULL,
	data_fingerprint text NOT NULL,
	rows bigint NOT NULL,
	metrics jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE predictions (
	run_id bigint NOT NULL REFERENCES runs (id),
	model_sha256 text NOT NULL,
	row_id bigint NOT NULL,
	probability real NOT NULL,
	label smallint NOT NULL,
	features jsonb,                       -- the request, in serving mode
	predicted_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX predictions_time ON predictions (predicted_at);

CREATE TABLE drift_reports (
	id bigserial PRIMARY KEY,
	run_id bigint NOT NULL REFERENCES runs (id),
	drift boolean NOT NULL,
	report jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- Roles: a reader, a trainer that records runs and registers versions, and
-- a promoter that alone changes stages. Roles belong to the whole server,
-- and the advisory lock that serialises migrations to one database: the
-- migration of another database may create a role between a check and a
-- CREATE here (which then waits for it and fails with unique_violation).
-- So a role that is there, or comes to be, is no error.
DO $$
DECLARE
	role text;
BEGIN
	FOREACH role IN ARRAY
	    ARRAY['tabpipe_reader', 'tabpipe_trainer', 'tabpipe_promoter'] LOOP
		BEGIN
			EXECUTE format('CREATE ROLE %I NOLOGIN', role);
		EXCEPTION WHEN duplicate_object OR unique_violation THEN
			NULL;
		END;
	END LOOP;
END $$;

GRANT USAGE ON SCHEMA public TO tabpipe_reader, tabpipe_trainer, tabpipe_promoter;
GRANT SELECT ON ALL TABLES IN SCHEMA public
    TO tabpipe_reader, tabpipe_trainer, tabpipe_promoter;
GRANT INSERT ON datasets, runs, epochs, models, model_versions, evaluations,
    predictions, drift_reports TO tabpipe_trainer;
GRANT UPDATE (status, result, error, finished_at) ON runs TO tabpipe_trainer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO tabpipe_trainer;
GRANT INSERT ON runs, evaluations, stage_changes TO tabpipe_promoter;
GRANT UPDATE (status, result, error, finished_at) ON runs TO tabpipe_promoter;
GRANT UPDATE (stage) ON model_versions TO tabpipe_promoter;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO tabpipe_promoter;
