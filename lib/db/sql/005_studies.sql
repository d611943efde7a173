-- Version 5: hyper-parameter searches (tabpipe-tune): a study, what it
-- searches and how, and its trials, each a run of tabpipe-train, so that
-- workers on any machine find their trial here and a study that was
-- stopped goes on from what is recorded.

-- tabpipe-tune records its runs as the other tools do.
ALTER TABLE runs DROP CONSTRAINT runs_tool_check;
ALTER TABLE runs ADD CONSTRAINT runs_tool_check CHECK (tool IN ('ingest',
    'validate', 'pretrain', 'train', 'evaluate', 'predict', 'promote',
    'drift', 'serve', 'tune'));

CREATE TABLE studies (
	id bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE,
	method text NOT NULL CHECK (method IN ('random', 'halving')),
	settings jsonb NOT NULL,              -- the data, the space, the plan,
	                                      -- train's fixed options
	state text NOT NULL DEFAULT 'running'
	    CHECK (state IN ('running', 'finished')),
	run_id bigint REFERENCES runs (id),   -- the tune run that made it
	best_trial integer,                   -- its number, once finished
	version_id bigint REFERENCES model_versions (id), -- the best registered
	created_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz,
	CHECK ((state = 'running') = (finished_at IS NULL))
);

CREATE TABLE trials (
	study_id bigint NOT NULL REFERENCES studies (id),
	number integer NOT NULL CHECK (number >= 1), -- 1, 2, ... in the study
	rung integer NOT NULL CHECK (rung >= 1),     -- 1, then each promotion
	parent integer,                       -- the trial of the rung below
	                                      -- whose parameters it trains longer
	params jsonb NOT NULL,                -- train's options, by long name
	budget integer NOT NULL CHECK (budget >= 1), -- epochs
	state text NOT NULL DEFAULT 'pending'
	    CHECK (state IN ('pending', 'running', 'finished', 'failed')),
	run_id bigint REFERENCES runs (id),   -- the train run of the last attempt
	value double precision,               -- its validation AUC
	model_path text,                      -- the model file it wrote
	model_sha256 text,
	error text,                           -- why it failed
	host text,                            -- the worker of the last attempt
	pid integer,
	attempts integer NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz,
	heartbeat_at timestamptz,             -- the worker was alive then
	finished_at timestamptz,
	PRIMARY KEY (study_id, number),
	FOREIGN KEY (study_id, parent) REFERENCES trials (study_id, number),
	CHECK ((state = 'finished') = (value IS NOT NULL))
);

CREATE INDEX trials_rung ON trials (study_id, rung);

GRANT SELECT ON studies, trials TO tabpipe_reader, tabpipe_trainer,
    tabpipe_promoter;
GRANT INSERT ON studies, trials TO tabpipe_trainer;
GRANT UPDATE (state, best_trial, version_id, finished_at) ON studies
    TO tabpipe_trainer;
GRANT UPDATE (state, run_id, value, model_path, model_sha256, error, host,
    pid, attempts, started_at, heartbeat_at, finished_at) ON trials
    TO tabpipe_trainer;
GRANT USAGE ON SEQUENCE studies_id_seq TO tabpipe_trainer;
