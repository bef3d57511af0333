-- feedwatch schema, version 1. Append-only: never edit this file once released; add 0002_….sql.
-- Times are unix seconds (UTC).

-- One row per configured feed, keyed by the feed's name (or URL when unnamed) so that a URL
-- change by a permanent redirect keeps the feed's history.
CREATE TABLE feeds (
    id                 INTEGER PRIMARY KEY,
    key                TEXT NOT NULL UNIQUE,
    -- The URL the config gives, so a user's edit can be told from a redirect we followed.
    config_url         TEXT NOT NULL,
    -- The URL polled: the config's, or where a permanent redirect moved the feed.
    url                TEXT NOT NULL,
    title              TEXT,
    site_link          TEXT,
    etag               TEXT,
    last_modified      TEXT,
    last_poll_at       INTEGER,
    last_success_at    INTEGER,
    last_status        TEXT,
    last_error         TEXT,
    next_due_at        INTEGER,
    consecutive_errors INTEGER NOT NULL DEFAULT 0,
    -- Set when a feed answered 410 Gone: it is not polled again until re-enabled.
    disabled_reason    TEXT
);

-- A story: one piece of news, possibly carried by several items (outlets, feeds).
CREATE TABLE stories (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    url           TEXT NOT NULL,
    feed_id       INTEGER NOT NULL REFERENCES feeds(id),
    published_at  INTEGER,
    first_seen_at INTEGER NOT NULL,
    byline        TEXT,
    site_name     TEXT,
    summary       TEXT NOT NULL DEFAULT '',
    text          TEXT NOT NULL DEFAULT '',
    html          TEXT NOT NULL DEFAULT '',
    -- Why the page's own text is not used (page failed, not an article), when so.
    extraction_note TEXT,
    content_hash  TEXT NOT NULL
);
CREATE INDEX stories_content_hash ON stories(content_hash);
CREATE INDEX stories_first_seen ON stories(first_seen_at);

-- One row per feed item, linked to its story. A duplicate is linked, never dropped.
CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    feed_id       INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    guid          TEXT NOT NULL,
    url           TEXT,
    canonical_url TEXT,
    title         TEXT,
    published_at  INTEGER,
    first_seen_at INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    story_id      INTEGER NOT NULL REFERENCES stories(id),
    UNIQUE (feed_id, guid)
);
CREATE INDEX items_canonical_url ON items(canonical_url);
CREATE INDEX items_story ON items(story_id);

-- Locality-sensitive bands of each story's MinHash signature (see dedup), so near-duplicate
-- candidates are found by a few index lookups instead of a scan.
CREATE TABLE fingerprint_bands (
    band     INTEGER NOT NULL,
    value    INTEGER NOT NULL,
    story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    PRIMARY KEY (band, value, story_id)
) WITHOUT ROWID;

-- Which topic matched which story: at most one row per pair, so a story alerts a topic once.
CREATE TABLE matches (
    topic      TEXT NOT NULL,
    story_id   INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    matched    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- For digest topics: set when the match has been put into a digest alert.
    digested   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, story_id)
);

-- Alerts waiting to be delivered, being delivered, delivered or given up on.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    -- Stable per alert: the webhook-id and email Message-ID, reused by every retry.
    alert_id        TEXT NOT NULL UNIQUE,
    notifier        TEXT NOT NULL,
    topic           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

-- What each poll did, for `feedwatch feeds` and for diagnosing a feed.
CREATE TABLE fetch_log (
    id          INTEGER PRIMARY KEY,
    feed_id     INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    http_status INTEGER,
    bytes       INTEGER,
    new_items   INTEGER NOT NULL DEFAULT 0,
    error       TEXT
);
CREATE INDEX fetch_log_feed ON fetch_log(feed_id, at);

-- Full-text index over stories for `feedwatch search`.
CREATE VIRTUAL TABLE stories_fts USING fts5(
    title, text, content = 'stories', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER stories_fts_insert AFTER INSERT ON stories BEGIN
    INSERT INTO stories_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER stories_fts_delete AFTER DELETE ON stories BEGIN
    INSERT INTO stories_fts(stories_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
END;
CREATE TRIGGER stories_fts_update AFTER UPDATE OF title, text ON stories BEGIN
    INSERT INTO stories_fts(stories_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
    INSERT INTO stories_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
