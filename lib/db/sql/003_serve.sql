-- Version 3: what a server's prediction answered to: the request (its id,
-- and the application's place in a batch), the version that scored it,
-- and how long the answer took.

ALTER TABLE predictions
	ADD COLUMN request_id text,           -- X-Request-Id, given or made
	ADD COLUMN request_item integer,      -- 0-based place in a batch
	ADD COLUMN model_version integer,     -- the registered version, if any
	ADD COLUMN latency_seconds real;      -- request in to answer out

CREATE INDEX predictions_request ON predictions (request_id, request_item)
    WHERE request_id IS NOT NULL;

-- The HTTP server records its runs as the other tools do.
ALTER TABLE runs DROP CONSTRAINT runs_tool_check;
ALTER TABLE runs ADD CONSTRAINT runs_tool_check CHECK (tool IN ('ingest',
    'validate', 'pretrain', 'train', 'evaluate', 'predict', 'promote',
    'drift', 'serve'));
