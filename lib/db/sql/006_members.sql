-- Version 6: a training of an ensemble (tabpipe-train --members k) runs
-- the epochs of each member in turn, so an epoch is known by its member
-- and its number. The epochs of one model are member 1's.
ALTER TABLE epochs ADD COLUMN member integer NOT NULL DEFAULT 1
	CHECK (member BETWEEN 1 AND 64);
ALTER TABLE epochs DROP CONSTRAINT epochs_pkey;
ALTER TABLE epochs ADD PRIMARY KEY (run_id, member, epoch);
