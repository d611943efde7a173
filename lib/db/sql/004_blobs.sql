-- Version 4: the bytes of every registered model version, kept in the
-- database, so that any machine that reaches it loads NAME@production
-- without the file, and a backup of the database holds the models.

-- A model file's bytes, by their SHA-256: kept once, however many versions
-- (of one model or of several) are the same file.
CREATE TABLE model_blobs (
	sha256 text PRIMARY KEY,              -- of bytes, as 64 hex digits
	bytes bytea NOT NULL,
	size bigint GENERATED ALWAYS AS (octet_length(bytes)) STORED,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- Model weights do not compress: stored out of line as they are, without
-- a try at compressing each one first.
ALTER TABLE model_blobs ALTER COLUMN bytes SET STORAGE EXTERNAL;

-- The key is the hash of the bytes, whoever writes them. A trigger rather
-- than a CHECK: a failed CHECK's message shows the row, bytes and all.
-- (encode gives lower-case hex, so a key in any other form is refused.)
CREATE FUNCTION tabpipe_blob_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF encode(sha256(NEW.bytes), 'hex') IS DISTINCT FROM NEW.sha256 THEN
		RAISE EXCEPTION 'model_blobs: the bytes given for % have another SHA-256',
		    NEW.sha256;
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER model_blobs_check BEFORE INSERT OR UPDATE ON model_blobs
    FOR EACH ROW EXECUTE FUNCTION tabpipe_blob_check();

-- The version's bytes; NULL for the versions registered before this
-- migration, which are read from their path alone.
ALTER TABLE model_versions ADD COLUMN blob text REFERENCES model_blobs (sha256),
    ADD CHECK (blob IS NULL OR blob = sha256);

GRANT SELECT ON model_blobs TO tabpipe_reader, tabpipe_trainer, tabpipe_promoter;
GRANT INSERT ON model_blobs TO tabpipe_trainer;
