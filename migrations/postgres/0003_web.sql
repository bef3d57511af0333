-- feedwatch schema for PostgreSQL, version 3 (SQLite's version 9): what the web pages show that
-- was not kept. Append-only: never edit this file once released.

-- How long each poll took (milliseconds), for the feeds page's chart of recent polls.
ALTER TABLE fetch_log ADD COLUMN duration_ms BIGINT;

-- Every delivery attempt of an alert, as it ended (see migrations/sqlite/0009_web.sql).
CREATE TABLE delivery_log (
    id        BIGSERIAL PRIMARY KEY,
    outbox_id BIGINT NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    at        BIGINT NOT NULL,
    state     TEXT NOT NULL,
    error     TEXT
);
CREATE INDEX delivery_log_outbox ON delivery_log(outbox_id, id);

-- The stories page's feed and tag filters ask, story by story, whether a feed carried it: the
-- index of items by story holds the feed too, so the answer is read from the index alone.
CREATE INDEX items_story_feed ON items(story_id, feed_id);
DROP INDEX items_story;

-- Each listed story's topics: matches by story (their key leads with the topic).
CREATE INDEX matches_story ON matches(story_id);

-- How many items each feed has stored (see migrations/sqlite/0009_web.sql), kept by one update
-- per statement that inserts or deletes items (a batch of items is one statement).
ALTER TABLE feeds ADD COLUMN item_count BIGINT NOT NULL DEFAULT 0;
UPDATE feeds SET item_count = (SELECT COUNT(*) FROM items WHERE items.feed_id = feeds.id);
CREATE FUNCTION feedwatch_items_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE feeds f SET item_count = f.item_count + c.n
    FROM (SELECT feed_id, COUNT(*) AS n FROM added GROUP BY feed_id) c WHERE f.id = c.feed_id;
    RETURN NULL;
END $$;
CREATE FUNCTION feedwatch_items_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE feeds f SET item_count = f.item_count - c.n
    FROM (SELECT feed_id, COUNT(*) AS n FROM removed GROUP BY feed_id) c WHERE f.id = c.feed_id;
    RETURN NULL;
END $$;
CREATE TRIGGER items_count_insert AFTER INSERT ON items
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION feedwatch_items_added();
CREATE TRIGGER items_count_delete AFTER DELETE ON items
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION feedwatch_items_removed();
