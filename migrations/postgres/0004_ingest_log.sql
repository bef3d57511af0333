-- feedwatch schema for PostgreSQL, version 4 (no SQLite counterpart): what each ingest stored,
-- in the order the ingests committed. Append-only: never edit this file once released.

-- A process writes a batch's stories and items before it takes the lock that serialises
-- storing stories, so several processes write at once; under the lock it only checks what the
-- others committed since it looked (this log) and appends its own entry. `seq` is drawn under
-- that lock, which is held until commit, so it grows in commit order: each process's band
-- index reads "the stories stored since" by it, where story ids (drawn before the lock) no
-- longer are in that order. Entries older than a few hours are pruned: a process idle longer
-- reloads its index from story_fingerprints.
CREATE TABLE ingest_log (
    seq       BIGSERIAL PRIMARY KEY,
    -- Unix seconds (the server's clock) the entry was written: for pruning.
    at        BIGINT NOT NULL,
    -- The stories the ingest filed.
    story_ids BIGINT[] NOT NULL,
    -- The canonical URLs of every item it stored (new or joining a story).
    urls      TEXT[] NOT NULL,
    -- The content hashes of the stories it filed.
    hashes    TEXT[] NOT NULL
);
