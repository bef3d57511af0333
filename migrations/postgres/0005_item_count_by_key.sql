-- feedwatch schema for PostgreSQL, version 5 (no SQLite counterpart: its triggers update one
-- feed by key per row). Append-only: never edit this file once released.

-- The item counters of version 3 joined the statement's new (or removed) items to `feeds`. The
-- planner cannot know how many rows a transition table holds, so it hashed them and read every
-- feed to find the few the batch touched: 20,000 rows read for each ingest of a 20,000-feed
-- pass, a quarter of the server's time storing items, and more with every feed configured.
-- Unnesting the feed ids makes the estimate small, so each feed is found by its key.
CREATE OR REPLACE FUNCTION feedwatch_items_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE feeds f SET item_count = f.item_count + c.n
    FROM (SELECT feed_id, COUNT(*) AS n
          FROM unnest(ARRAY(SELECT feed_id FROM added)) AS feed_id GROUP BY feed_id) c
    WHERE f.id = c.feed_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION feedwatch_items_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE feeds f SET item_count = f.item_count - c.n
    FROM (SELECT feed_id, COUNT(*) AS n
          FROM unnest(ARRAY(SELECT feed_id FROM removed)) AS feed_id GROUP BY feed_id) c
    WHERE f.id = c.feed_id;
    RETURN NULL;
END $$;
