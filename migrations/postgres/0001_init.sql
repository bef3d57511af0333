-- feedwatch schema for PostgreSQL, version 1: the same tables as SQLite's version 7
-- (migrations/sqlite/0001 to 0007), written at once. Append-only: never edit this file once
-- released; add 0002_….sql. Times are unix seconds (UTC); every integer is BIGINT so the store
-- reads every backend's numbers alike.

CREATE TABLE feeds (
    id                 BIGSERIAL PRIMARY KEY,
    key                TEXT NOT NULL UNIQUE,
    config_url         TEXT NOT NULL,
    url                TEXT NOT NULL,
    title              TEXT,
    site_link          TEXT,
    etag               TEXT,
    last_modified      TEXT,
    last_poll_at       BIGINT,
    last_success_at    BIGINT,
    last_status        TEXT,
    last_error         TEXT,
    next_due_at        BIGINT,
    consecutive_errors BIGINT NOT NULL DEFAULT 0,
    disabled_reason    TEXT,
    failing_since      BIGINT,
    -- The lease of the process polling the feed (see migrations/sqlite/0007_leases.sql).
    lease_owner        TEXT,
    lease_until        BIGINT,
    claimed_at_ms      BIGINT
);

CREATE TABLE stories (
    id              BIGSERIAL PRIMARY KEY,
    title           TEXT NOT NULL,
    url             TEXT NOT NULL,
    feed_id         BIGINT NOT NULL REFERENCES feeds(id),
    published_at    BIGINT,
    first_seen_at   BIGINT NOT NULL,
    byline          TEXT,
    site_name       TEXT,
    summary         TEXT NOT NULL DEFAULT '',
    text            TEXT NOT NULL DEFAULT '',
    html            TEXT NOT NULL DEFAULT '',
    extraction_note TEXT,
    content_hash    TEXT NOT NULL,
    categories      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX stories_content_hash ON stories(content_hash);
CREATE INDEX stories_first_seen ON stories(first_seen_at);

CREATE TABLE items (
    id            BIGSERIAL PRIMARY KEY,
    feed_id       BIGINT NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    guid          TEXT NOT NULL,
    url           TEXT,
    canonical_url TEXT,
    title         TEXT,
    published_at  BIGINT,
    first_seen_at BIGINT NOT NULL,
    content_hash  TEXT NOT NULL,
    story_id      BIGINT NOT NULL REFERENCES stories(id),
    entry_hash    TEXT,
    UNIQUE (feed_id, guid)
);
CREATE INDEX items_canonical_url ON items(canonical_url);
CREATE INDEX items_story ON items(story_id);
CREATE INDEX items_feed_canonical ON items(feed_id, canonical_url);

CREATE TABLE item_revisions (
    id           BIGSERIAL PRIMARY KEY,
    item_id      BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    seen_at      BIGINT NOT NULL,
    title        TEXT NOT NULL,
    text         TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL
);
CREATE INDEX item_revisions_item ON item_revisions(item_id, seen_at);

-- Each story's near-duplicate band keys and shingle sample (see the SQLite 0006 notes).
CREATE TABLE story_fingerprints (
    story_id      BIGINT PRIMARY KEY,
    first_seen_at BIGINT NOT NULL,
    bands         BYTEA NOT NULL,
    shingles      BIGINT NOT NULL,
    sketch        BYTEA NOT NULL
);

CREATE TABLE matches (
    topic      TEXT NOT NULL,
    story_id   BIGINT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    matched    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    digested   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, story_id)
);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    alert_id        TEXT NOT NULL UNIQUE,
    notifier        TEXT NOT NULL,
    topic           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT,
    lease_owner     TEXT,
    lease_until     BIGINT
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

CREATE TABLE fetch_log (
    id          BIGSERIAL PRIMARY KEY,
    feed_id     BIGINT NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    http_status BIGINT,
    bytes       BIGINT,
    new_items   BIGINT NOT NULL DEFAULT 0,
    error       TEXT
);
CREATE INDEX fetch_log_feed ON fetch_log(feed_id, at);
