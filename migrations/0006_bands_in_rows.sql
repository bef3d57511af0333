-- feedwatch schema, version 6: band keys kept in the story rows, the full-text index dropped.
-- Append-only: never edit this file once released.

-- A story's near-duplicate band keys (dedup::Fingerprint), 8 bytes each, little-endian; empty
-- when its text is too short to have any. The lookup index itself now lives in memory and
-- holds only the stories of the near-duplicate window (dedup::BandIndex), loaded from these at
-- start: the table of keys grew with every story ever stored, and at a million stories its
-- random inserts were most of the cost of storing one. Stories stored before this version
-- have NULL here; their keys are computed from their text while they are inside the window.
ALTER TABLE stories ADD COLUMN bands BLOB;
DROP TABLE story_bands;

-- The full-text index was written on every insert and never read: topics and
-- `topics test` match with their own stemmer and folding, which FTS5 does not share.
DROP TRIGGER stories_fts_insert;
DROP TRIGGER stories_fts_delete;
DROP TRIGGER stories_fts_update;
DROP TABLE stories_fts;
