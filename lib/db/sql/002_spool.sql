-- Version 2: predictions logged once and once only, also when a tool sends
-- them again from its spool; the database's own id, by which spools are
-- kept; and runs left running found at once.

-- One row: this database's id, made here, by which a tool keeps apart the
-- predictions it could not send to one database from another's.
CREATE TABLE tabpipe_database (
	id text PRIMARY KEY,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX tabpipe_database_one ON tabpipe_database ((true));

INSERT INTO tabpipe_database (id) VALUES (gen_random_uuid()::text);

-- Every batch of predictions sent, recorded in the transaction that sends
-- its rows: a batch sent again (from a spool, after a send whose answer
-- was lost) is found here and not sent twice.
CREATE TABLE prediction_batches (
	run_id bigint NOT NULL REFERENCES runs (id), -- the run that predicted
	batch integer NOT NULL,               -- its batches, from 1
	rows integer NOT NULL,
	spooled boolean NOT NULL,             -- sent from a spool
	sent_by bigint NOT NULL REFERENCES runs (id), -- the run that sent it
	sent_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (run_id, batch)
);

-- The runs still running on a host: what a tool looks at when it opens
-- the database, to mark failed those whose process has ended.
CREATE INDEX runs_running ON runs (host) WHERE status = 'running';

GRANT SELECT ON tabpipe_database, prediction_batches
    TO tabpipe_reader, tabpipe_trainer, tabpipe_promoter;
GRANT INSERT ON prediction_batches TO tabpipe_trainer;
