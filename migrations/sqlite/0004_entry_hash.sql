-- A hash of what the feed itself says of an item (title, summary, content), so a re-poll can
-- tell an item whose body changed under the same title from one it has seen, before it spends
-- a page fetch on it. NULL for items stored before this version: those are compared by title.
ALTER TABLE items ADD COLUMN entry_hash TEXT;
