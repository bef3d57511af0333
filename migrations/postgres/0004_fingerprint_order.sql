-- feedwatch schema for PostgreSQL, version 4 (no SQLite counterpart): the order in which
-- fingerprint rows were committed. Append-only: never edit this file once released.

-- A process stores a batch's story rows before it takes the lock that serialises storing
-- stories (so several processes write story text at once), and only their fingerprint rows
-- under it. Story ids are then no longer in commit order, which is what each process's band
-- index relied on to read "the rows stored since". `seq` is: it is drawn when the row is
-- inserted, under the lock, and the lock is held until commit. Rows stored before this
-- version keep their story's id as their place.
CREATE SEQUENCE story_fingerprints_seq;
ALTER TABLE story_fingerprints ADD COLUMN seq BIGINT;
UPDATE story_fingerprints SET seq = story_id;
SELECT setval('story_fingerprints_seq', COALESCE((SELECT MAX(seq) FROM story_fingerprints), 0) + 1, false);
ALTER TABLE story_fingerprints
    ALTER COLUMN seq SET DEFAULT nextval('story_fingerprints_seq'),
    ALTER COLUMN seq SET NOT NULL;
CREATE INDEX story_fingerprints_by_seq ON story_fingerprints(seq);
