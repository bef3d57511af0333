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

-- The stories page lists a feed's stories newest first.
CREATE INDEX stories_feed_first_seen ON stories(feed_id, first_seen_at);
