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

-- The stories page lists a feed's stories newest first.
CREATE INDEX stories_feed_first_seen ON stories(feed_id, first_seen_at);
