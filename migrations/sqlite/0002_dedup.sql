-- feedwatch schema, version 2: near-duplicate index rebuilt, item revisions.
-- Append-only: never edit this file once released.

-- The band keys of each story's fingerprint (see dedup::Fingerprint). A key already names its
-- band (the band index is hashed into it), so one (key, story) index serves every band, and
-- the fingerprint changed (3-word shingles, lead bands), so the old rows could never match:
-- they are replaced. Stories stored before this migration keep being found by URL and
-- content hash. No foreign key: stories are not deleted, and checking one would cost a lookup
-- per band on every insert; whatever deletes stories one day must delete their bands too.
DROP TABLE fingerprint_bands;
CREATE TABLE story_bands (
    key      INTEGER NOT NULL,
    story_id INTEGER NOT NULL,
    PRIMARY KEY (key, story_id)
) WITHOUT ROWID;

-- Each later version of an item (same feed and GUID, or a re-issued GUID for the same page)
-- whose title or text changed: an update of the item, kept, never a new story.
CREATE TABLE item_revisions (
    id           INTEGER PRIMARY KEY,
    item_id      INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    seen_at      INTEGER NOT NULL,
    title        TEXT NOT NULL,
    text         TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL
);
CREATE INDEX item_revisions_item ON item_revisions(item_id, seen_at);
