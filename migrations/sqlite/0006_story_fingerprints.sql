-- feedwatch schema, version 6: fingerprints kept per story, the full-text index dropped.
-- Append-only: never edit this file once released.

-- Each story's near-duplicate band keys (dedup::Fingerprint), 8 bytes each, little-endian;
-- empty when its text is too short to have any. The lookup index itself now lives in memory
-- and holds only the stories of the near-duplicate window (dedup::BandIndex), read from here
-- at start: the table of (key, story) rows grew with every story ever stored, and at a million
-- stories its random inserts were most of the cost of storing one. This table only grows at
-- its end. Stories stored before this version have no row; their keys are computed from
-- their text while they are inside the window. No foreign key, as for the old table.
--
-- Beside them, the size of the story's shingle set and a sample of it (its 32 smallest
-- shingle hashes, dedup::Shingles::sketch): a candidate that shares a band key by chance is
-- ruled out from this row, without reading and shingling its text.
CREATE TABLE story_fingerprints (
    story_id      INTEGER PRIMARY KEY,
    first_seen_at INTEGER NOT NULL,
    bands         BLOB NOT NULL,
    shingles      INTEGER NOT NULL,
    sketch        BLOB NOT NULL
);
DROP TABLE story_bands;

-- The full-text index was written on every insert and never read: topics and
-- `topics test` match with their own stemmer and folding, which FTS5 does not share.
DROP TRIGGER stories_fts_insert;
DROP TRIGGER stories_fts_delete;
DROP TRIGGER stories_fts_update;
DROP TABLE stories_fts;
