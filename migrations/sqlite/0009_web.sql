-- feedwatch schema, version 9: what the web pages show that was not kept. Append-only: never
-- edit this file once released.

-- How long each poll took (milliseconds), for the feeds page's chart of recent polls. NULL for
-- polls logged before this version.
ALTER TABLE fetch_log ADD COLUMN duration_ms INTEGER;

-- Every delivery attempt of an alert, as it ended: the alerts page shows one alert's log (the
-- outbox row keeps only its latest state and error). `state` is the row's state after the
-- attempt ('delivered', 'pending' for a retry to come, 'failed').
CREATE TABLE delivery_log (
    id        INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
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

-- How many items each feed has stored, kept by the triggers below: the feeds page shows it,
-- and counting a feed's rows of `items` at a million stories took longer than the whole page
-- may (about 100 ms for 50 feeds).
ALTER TABLE feeds ADD COLUMN item_count INTEGER NOT NULL DEFAULT 0;
UPDATE feeds SET item_count = (SELECT COUNT(*) FROM items WHERE items.feed_id = feeds.id);
CREATE TRIGGER items_count_insert AFTER INSERT ON items BEGIN
    UPDATE feeds SET item_count = item_count + 1 WHERE id = new.feed_id;
END;
CREATE TRIGGER items_count_delete AFTER DELETE ON items BEGIN
    UPDATE feeds SET item_count = item_count - 1 WHERE id = old.feed_id;
END;
